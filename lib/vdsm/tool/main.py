"""The vdsm-tool command line.

    vdsm-tool [--root DIR] [--config FILE]... configure [--force]
              [--module NAME]...
    vdsm-tool [--root DIR] [--config FILE]... is-configured [--module NAME]...
    vdsm-tool [--config FILE]... show-config

Exit codes: 0 success (is-configured: everything configured); 1 a module
is not configured (is-configured) or failed (configure); 2 usage error.
Other engineers add verbs (restore-nets ...) by adding a subparser in
``_VERBS``: a module with ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from vdsm.tool import configurator, target as target_mod

# Verb -> module with add_arguments(parser) and run(args) -> int.
_VERBS: dict[str, str] = {
    "configure": "vdsm.tool.main_configure",
    "is-configured": "vdsm.tool.main_configure",
    "show-config": "vdsm.tool.main_configure",
    "restore-nets": "vdsm.tool.restore_nets",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vdsm-tool",
        description="Configure this host for vdsm and inspect its setup.")
    p.add_argument("--root", metavar="DIR",
                   help="apply to the tree under DIR instead of / "
                        f"(also ${target_mod.ROOT_ENV}); for tests and "
                        "image builds")
    p.add_argument("--config", metavar="FILE", action="append",
                   help="vdsm config file (default: ROOT/etc/vdsm/vdsm.conf"
                        " if it exists); may repeat")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="log each step to stderr")
    sub = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, modname in _VERBS.items():
        mod = importlib.import_module(modname)
        mod.add_arguments(sub, verb)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s [%(name)s] %(message)s")
    try:
        return args.run(args)
    except KeyError as e:
        print(f"vdsm-tool: unknown module: {e.args[0]} "
              f"(known: {', '.join(configurator.names())})", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
