"""vdsm-tool restore-nets: bring the safe network config back.

Run as root at boot by ``vdsm-network.service``, before vdsmd and
supervdsmd: the privileged functions are called in-process, through
supervdsm's allowlist and argument checks (``vdsm.supervdsm.caller``).
The safe config (``<lib_dir>/persistence/netconf/safe.json``, written by
Host.setSafeNetworkConfig) is applied from what the kernel has now;
networks of the running config that are not in it are removed, and the
running config becomes the safe one. Without a safe config nothing is
changed.

``--netns NS`` works on a network namespace instead (tests).

Exit codes: 0 restored or nothing to restore; 1 failure.
"""

from __future__ import annotations

import argparse
import logging
import sys

from vdsm.network import persistence
from vdsm.network.configurator import Configurator
from vdsm.supervdsm import caller
from vdsm.tool import target as target_mod

log = logging.getLogger("vdsm.tool.restore_nets")


def add_arguments(sub, verb: str) -> None:
    p = sub.add_parser(verb, help="restore the safe network config (boot)")
    p.add_argument("--netns", default="", metavar="NS",
                   help="work on this network namespace (tests)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    target = target_mod.load(args.root, args.config)
    lib_dir = target.path(target.config.get("vars", "lib_dir"))
    store = persistence.Store(persistence.netconf_dir(lib_dir))
    if not store.has_safe():
        print("restore-nets: no safe network config; nothing to do")
        return 0
    netns = args.netns or target.config.get("network", "netns")
    safe = store.load_safe()
    try:
        Configurator(store, caller.in_process(target.config),
                     netns).restore(safe)
    except Exception as e:
        log.exception("restore-nets failed")
        print(f"restore-nets: FAILED: {e}", file=sys.stderr)
        return 1
    print(f"restore-nets: restored {len(safe.networks)} networks, "
          f"{len(safe.bonds)} bonds")
    return 0
