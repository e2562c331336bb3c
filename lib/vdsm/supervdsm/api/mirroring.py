"""Privileged port mirroring: a network's traffic copied to a vNIC's tap.

``set_port_mirroring(network, tap)`` gives the network's bridge a
``clsact`` qdisc and, on its ingress and its egress, a u32 match-all
filter whose action is ``mirred egress mirror dev <tap>``: every frame
the bridge device receives or sends is also sent to the tap device (as
upstream's tc setup, on clsact, which needs no prio qdisc). The filters of
one tap share one priority, ``BASE_PREF + ifindex of the tap``, so
``unset_port_mirroring`` removes exactly them; the qdisc goes with the
last filter. Both are idempotent. Only existing network devices are taken,
by name.
"""

from __future__ import annotations

import json
import os
import re

from vdsm.common.commands import CommandFailed
from vdsm.supervdsm import runtime
from vdsm.supervdsm.allowlist import privileged
from vdsm.supervdsm.errors import InvalidArguments

TC = "tc"
BASE_PREF = 1000
MAX_PREF = 65535
DIRECTIONS = ("ingress", "egress")
# Never a leading '-': tc would take it for an option.
_DEVICE = re.compile(r"^(?!-)[A-Za-z0-9_.:;@-]{1,15}$")


@privileged
def set_port_mirroring(network: str, tap: str) -> None:
    _device(network)
    pref = _pref(tap)
    if not _has_clsact(network):
        runtime.run([TC, "qdisc", "add", "dev", network, "clsact"])
    for direction in DIRECTIONS:
        _delete(network, direction, pref)
        runtime.run([TC, "filter", "add", "dev", network, direction,
                     "pref", str(pref), "protocol", "all", "u32", "match",
                     "u8", "0", "0", "action", "mirred", "egress", "mirror",
                     "dev", tap])


@privileged
def unset_port_mirroring(network: str, tap: str) -> None:
    _device(network)
    pref = _pref(tap)
    if not _has_clsact(network):
        return
    for direction in DIRECTIONS:
        _delete(network, direction, pref)
    if not any(mirrored_to(network, d) for d in DIRECTIONS):
        runtime.run([TC, "qdisc", "del", "dev", network, "clsact"])


def mirrored_to(network: str, direction: str) -> list[str]:
    """The devices the network's filters mirror to (tests, logs)."""
    return sorted({a["to_dev"] for f in _filters(network, direction)
                   for a in f.get("options", {}).get("actions", [])
                   if a.get("kind") == "mirred" and "to_dev" in a})


def _device(name: str) -> None:
    if not _DEVICE.match(name) or not os.path.isdir(
            f"/sys/class/net/{name}"):
        raise InvalidArguments(f"no network device {name!r}")


def _pref(tap: str) -> int:
    _device(tap)
    with open(f"/sys/class/net/{tap}/ifindex") as f:
        pref = BASE_PREF + int(f.read())
    if pref > MAX_PREF:
        raise InvalidArguments(f"ifindex of {tap} is too large for a "
                               "filter priority")
    return pref


def _has_clsact(network: str) -> bool:
    qdiscs = json.loads(runtime.run([TC, "-j", "qdisc", "show", "dev",
                                     network]) or "[]")
    return any(q.get("kind") == "clsact" for q in qdiscs)


def _filters(network: str, direction: str) -> list[dict]:
    return list(json.loads(runtime.run(
        [TC, "-j", "filter", "show", "dev", network, direction]) or "[]"))


def _delete(network: str, direction: str, pref: int) -> None:
    try:
        runtime.run([TC, "filter", "del", "dev", network, direction,
                     "pref", str(pref)])
    except CommandFailed:
        # None at that priority.
        pass
