"""What the kernel has now: links, addresses, default routes.

One ``ip -j -d addr show`` gives every link with its kind, master, MTU,
VLAN/bond/bridge data and addresses; two ``ip -j route show default``
give the default routes; ``ip -j rule`` and ``ip -j route show table
all`` (per family) the source routing of ``sourceroute.py``. Reading
needs no privilege, so vdsmd reads directly (a few ms for hundreds of
links).

``netns``: every function takes an optional network namespace name, run
as ``ip -n NS``. That needs root (setns), so it serves tests and
``vdsm-tool restore-nets``; vdsmd itself always reads its own namespace
(tests run it inside one with ``ip netns exec``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from vdsm.common import commands
from vdsm.network import sourceroute
from vdsm.network.sourceroute import Rule, TableRoute
from vdsm.supervdsm.netchanges import BOND_MODES

# Kinds of links we create; anything else is a "nic" to us (physical NICs,
# veth in tests, tap devices...).
VIRTUAL_KINDS = ("bridge", "vlan", "bond")


@dataclass(frozen=True)
class Device:
    """One link as it is or as we want it.

    ``addrs`` are static global addresses ("192.0.2.1/24",
    "2001:db8::1/64"); link-local and dynamic (DHCP, SLAAC) ones are kept
    apart in ``dynamic_addrs`` and never planned.
    """
    name: str
    kind: str = "nic"                # nic bridge vlan bond
    master: str | None = None
    mtu: int = 1500
    up: bool = True
    addrs: tuple[str, ...] = ()
    vlan_id: int | None = None
    link: str | None = None          # lower device of a VLAN
    bond_options: tuple[tuple[str, str], ...] = ()
    stp: bool = False
    # Reported only: not part of desired state comparison.
    dynamic_addrs: tuple[str, ...] = field(default=(), compare=False)
    hwaddr: str = field(default="", compare=False)
    operstate: str = field(default="", compare=False)
    kernel_kind: str = field(default="", compare=False)

    def without_report(self) -> Device:
        return replace(self, dynamic_addrs=(), hwaddr="", operstate="",
                       kernel_kind="")


@dataclass(frozen=True)
class Route:
    gateway: str
    dev: str


@dataclass
class Snapshot:
    devices: dict[str, Device]
    default_v4: Route | None = None
    default_v6: Route | None = None
    # Link groups in use ("default" is group 0).
    groups: set[str] = field(default_factory=set)
    # Source routing (sourceroute.py): our rules and the routes of our
    # tables.
    rules: frozenset[Rule] = frozenset()
    table_routes: frozenset[TableRoute] = frozenset()

    def get(self, name: str) -> Device | None:
        return self.devices.get(name)


def ip_json(args: list[str], netns: str | None = None) -> Any:
    cmd = ["ip"] + (["-n", netns] if netns else []) + ["-j"] + args
    out = commands.run(cmd, timeout=60).stdout
    return json.loads(out) if out.strip() else []


def snapshot(netns: str | None = None) -> Snapshot:
    links = ip_json(["-d", "addr", "show"], netns)
    devices = {d.name: d for d in (parse_link(x) for x in links)}
    groups = {str(x.get("group", "default")) for x in links}
    return Snapshot(devices, _default_route(4, netns),
                    _default_route(6, netns), groups,
                    frozenset(sourceroute.read_rules(ip_json, netns)),
                    frozenset(sourceroute.read_routes(ip_json, netns)))


def parse_link(raw: dict[str, Any]) -> Device:
    info = raw.get("linkinfo") or {}
    kernel_kind = info.get("info_kind", "")
    data = info.get("info_data") or {}
    kind = kernel_kind if kernel_kind in VIRTUAL_KINDS else "nic"
    static, dynamic = _addresses(raw.get("addr_info") or [])
    vlan_id = data.get("id") if kind == "vlan" else None
    return Device(
        name=raw["ifname"], kind=kind, master=raw.get("master"),
        mtu=int(raw.get("mtu", 1500)), up="UP" in (raw.get("flags") or []),
        addrs=static, vlan_id=vlan_id,
        link=raw.get("link") if kind == "vlan" else None,
        bond_options=_bond_options(data) if kind == "bond" else (),
        stp=bool(data.get("stp_state")) if kind == "bridge" else False,
        dynamic_addrs=dynamic, hwaddr=raw.get("address", ""),
        operstate=raw.get("operstate", ""), kernel_kind=kernel_kind)


def _addresses(addr_info: list[dict[str, Any]]
               ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    static: list[str] = []
    dynamic: list[str] = []
    for a in addr_info:
        if a.get("family") not in ("inet", "inet6"):
            continue
        cidr = f"{a['local']}/{a['prefixlen']}"
        if a.get("scope") != "global":
            continue
        if a.get("dynamic") or "valid_life_time" in a and \
                a["valid_life_time"] != 4294967295:
            dynamic.append(cidr)
        else:
            static.append(cidr)
    return tuple(static), tuple(dynamic)


def _bond_options(data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    # Only what we set: mode and miimon always, the rest is not compared.
    by_name = {v: k for k, v in BOND_MODES.items()}
    mode = str(data.get("mode", "balance-rr"))
    return (("mode", by_name.get(mode, mode)),
            ("miimon", str(data.get("miimon", 0))))


def _default_route(version: int, netns: str | None) -> Route | None:
    family = "-4" if version == 4 else "-6"
    for r in ip_json([family, "route", "show", "default"], netns):
        if r.get("gateway") and r.get("dev") and r.get("protocol") != "ra":
            return Route(r["gateway"], r["dev"])
    return None


def link_stats(netns: str | None = None) -> dict[str, dict[str, int]]:
    """Counters per link: rx/tx bytes, packets, errors, drops."""
    out = {}
    for raw in ip_json(["-s", "link", "show"], netns):
        s = raw.get("stats64") or raw.get("stats") or {}
        rx, tx = s.get("rx", {}), s.get("tx", {})
        out[raw["ifname"]] = {
            "rx_bytes": rx.get("bytes", 0), "tx_bytes": tx.get("bytes", 0),
            "rx_packets": rx.get("packets", 0),
            "tx_packets": tx.get("packets", 0),
            "rx_errors": rx.get("errors", 0), "tx_errors": tx.get("errors", 0),
            "rx_dropped": rx.get("dropped", 0),
            "tx_dropped": tx.get("dropped", 0),
        }
    return out
