"""vdsm-tool verbs configure, is-configured and show-config."""

from __future__ import annotations

import argparse
import sys

from vdsm.tool import configurator, target as target_mod


def add_arguments(sub, verb: str) -> None:
    if verb == "configure":
        p = sub.add_parser(verb, help="configure the host for vdsm")
        p.add_argument("--force", action="store_true",
                       help="also replace what exists (e.g. the PKI)")
        _module_option(p)
        p.set_defaults(run=run_configure)
    elif verb == "is-configured":
        p = sub.add_parser(verb, help="exit 0 if the host is configured")
        _module_option(p)
        p.set_defaults(run=run_is_configured)
    elif verb == "show-config":
        p = sub.add_parser(verb, help="print the effective vdsm config")
        p.set_defaults(run=run_show_config)


def _module_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--module", action="append", metavar="NAME",
                   help="only this module (may repeat); one of: "
                        + ", ".join(configurator.names()))


def _target(args: argparse.Namespace) -> target_mod.Target:
    return target_mod.load(args.root, args.config)


def run_configure(args: argparse.Namespace) -> int:
    results = configurator.configure(_target(args), args.module, args.force)
    status = 0
    for r in results:
        if r.error:
            print(f"{r.name}: FAILED: {r.error}", file=sys.stderr)
            status = 1
        elif r.messages:
            for m in r.messages:
                print(f"{r.name}: {m}")
        else:
            print(f"{r.name}: already configured{_note(r)}")
    return status


def run_is_configured(args: argparse.Namespace) -> int:
    status = 0
    for r in configurator.is_configured(_target(args), args.module):
        if r.messages:
            status = 1
            for m in r.messages:
                print(f"{r.name}: NOT configured: {m}")
        else:
            print(f"{r.name}: configured{_note(r)}")
    return status


def _note(r: configurator.Result) -> str:
    return f" ({r.note})" if r.note else ""


def run_show_config(args: argparse.Namespace) -> int:
    _target(args).config.write(sys.stdout)
    return 0
