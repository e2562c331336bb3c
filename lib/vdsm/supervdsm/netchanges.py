"""The vocabulary of network changes that cross into supervdsmd.

The argument type of ``network.apply_changes`` (``supervdsm/api/
network.py``), so it lives with supervdsm: vdsm.network plans changes in
it and imports the kernel limits below from here; nothing here imports
vdsm.network.

vdsmd plans a list of changes (plain dicts, JSON on the wire); supervdsmd
checks each one with ``check()`` before anything is run and renders it as
one ``ip -batch`` line with ``render()``. There is no free text: every
change is one of the kinds below, every name must be an interface name,
every number is range checked and every address parsed, so the caller
cannot smuggle arguments into ``ip``.

Kinds::

    {"kind": "add_bridge", "name": "net1", "stp": false}
    {"kind": "add_vlan", "name": "eth1.10", "link": "eth1", "vlan_id": 10}
    {"kind": "add_bond", "name": "bond0", "options": [["mode", "4"], ...]}
    {"kind": "del_link", "name": "net1"}
    {"kind": "set_group", "name": "net1", "group": 1447297024}
    {"kind": "del_group", "group": 1447297024}   (deletes every link of
        the group at once: one kernel unregister batch, not one per link;
        group 0, the default, is refused)
    {"kind": "set_link", "name": "eth1", "master": "net1" | "" (none),
        "mtu": 9000, "up": true}          (each field optional)
    {"kind": "set_bridge", "name": "net1", "stp": true}
    {"kind": "add_addr", "dev": "net1", "cidr": "192.0.2.1/24"}
    {"kind": "del_addr", "dev": "net1", "cidr": "192.0.2.1/24"}
    {"kind": "set_default_route", "gateway": "192.0.2.254", "dev": "net1"}
    {"kind": "del_default_route", "gateway": "192.0.2.254", "dev": "net1"}
    {"kind": "add_table_route", "table": 1447427072, "dst": "0.0.0.0/0",
        "dev": "net1", "gateway": "192.0.2.254"}  (gateway optional: an
        on-link route; the table must be in the reserved range below)
    {"kind": "del_table_route", ...the same fields}
    {"kind": "add_rule", "direction": "from" | "to",
        "prefix": "192.0.2.0/24", "table": 1447427072}   (a network
        prefix, no host bits; priority RULE_PRIORITY)
    {"kind": "del_rule", ...the same fields}

``ip rule`` takes its address family from the command line, not from
the prefix: ``family()`` says which IPv6 changes must run in an
``ip -6`` batch of their own.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable

# What the kernel takes; the setupNetworks model (vdsm.network.model)
# refuses the rest with the field named before a change is planned.
MIN_MTU = 68
MAX_MTU = 65535

BOND_MODES = {
    "0": "balance-rr", "1": "active-backup", "2": "balance-xor",
    "3": "broadcast", "4": "802.3ad", "5": "balance-tlb", "6": "balance-alb",
}
BOND_OPTIONS = {
    "mode", "miimon", "updelay", "downdelay", "lacp_rate", "xmit_hash_policy",
    "primary", "arp_interval", "arp_ip_target", "ad_select", "use_carrier",
    "fail_over_mac", "num_grat_arp", "all_slaves_active", "min_links",
    "arp_validate", "primary_reselect", "resend_igmp", "packets_per_slave",
}

# The routing tables and rule priority of source routing
# (vdsm.network.sourceroute): the only tables and rules changes may touch.
TABLE_BASE = 0x56450000
TABLE_SPAN = 0x10000
RULE_PRIORITY = 32000

# Never a leading '-' (an option to ip, dhclient, lldptool ...).
_IFNAME = re.compile(r"^(?!\.{1,2}$)(?!-)[A-Za-z0-9_.\-]{1,15}$")
_BOND_VALUE = re.compile(r"^[A-Za-z0-9_.:,\-]{1,64}$")
_NETNS = re.compile(r"^(?!-)[A-Za-z0-9_.\-]{1,64}$")

Change = dict[str, Any]


class BadChange(ValueError):
    """A change that is not in the vocabulary; nothing was run."""


def check_netns(netns: Any) -> str | None:
    if netns is None or netns == "":
        return None
    if not isinstance(netns, str) or not _NETNS.match(netns) or \
            netns in (".", ".."):
        raise BadChange(f"bad netns name {netns!r}")
    return netns


def check_ifname(name: Any) -> str:
    if not isinstance(name, str) or not _IFNAME.match(name):
        raise BadChange(f"bad interface name {name!r}")
    return name


def check(change: Any) -> None:
    render(change)


def family(change: Change) -> str:
    """"-6" for a checked change that needs an ``ip -6`` batch, else ""."""
    if change.get("kind") in ("add_rule", "del_rule") and \
            ":" in change["prefix"]:
        return "-6"
    return ""


def render(change: Any) -> str:
    """The ``ip -batch`` line of a checked change."""
    if not isinstance(change, dict):
        raise BadChange("a change must be an object")
    kind = change.get("kind")
    renderer = _RENDERERS.get(kind)  # type: ignore[arg-type]
    if renderer is None:
        raise BadChange(f"unknown change kind {kind!r}")
    return renderer(change)


def _name(change: Change, key: str = "name") -> str:
    value = change.get(key)
    if not isinstance(value, str) or not _IFNAME.match(value):
        raise BadChange(f"{key}: bad interface name {value!r}")
    return value


def _int(change: Change, key: str, low: int, high: int) -> int:
    value = change.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or \
            not low <= value <= high:
        raise BadChange(f"{key}: expected an integer in {low}..{high}")
    return value


def _bool(change: Change, key: str) -> bool:
    value = change.get(key, False)
    if not isinstance(value, bool):
        raise BadChange(f"{key}: expected a boolean")
    return value


def _cidr(change: Change) -> str:
    value = change.get("cidr")
    try:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError(value)
        return ipaddress.ip_interface(value).with_prefixlen
    except ValueError:
        raise BadChange(f"cidr: bad address {change.get('cidr')!r}")


def _gateway(change: Change) -> tuple[str, str]:
    value = change.get("gateway")
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise BadChange(f"gateway: bad address {change.get('gateway')!r}")
    return str(addr), "::/0" if addr.version == 6 else "0.0.0.0/0"


def _add_bridge(c: Change) -> str:
    stp = 1 if _bool(c, "stp") else 0
    return f"link add name {_name(c)} type bridge stp_state {stp}"


def _add_vlan(c: Change) -> str:
    return (f"link add link {_name(c, 'link')} name {_name(c)} "
            f"type vlan id {_int(c, 'vlan_id', 0, 4094)}")


def _add_bond(c: Change) -> str:
    options = c.get("options") or []
    if not isinstance(options, list):
        raise BadChange("options: expected a list of [key, value]")
    words = []
    for item in options:
        if not (isinstance(item, (list, tuple)) and len(item) == 2):
            raise BadChange("options: expected [key, value] pairs")
        key, value = item
        if key not in BOND_OPTIONS or not isinstance(value, str) or \
                not _BOND_VALUE.match(value):
            raise BadChange(f"options: bad bonding option {key!r}")
        if key == "mode":
            value = BOND_MODES.get(value, value)
            if value not in BOND_MODES.values():
                raise BadChange(f"options: bad bonding mode {value!r}")
        words.append(f"{key} {value}")
    return f"link add name {_name(c)} type bond " + " ".join(words)


def _del_link(c: Change) -> str:
    return f"link del dev {_name(c)}"


def _set_group(c: Change) -> str:
    return f"link set dev {_name(c)} group {_int(c, 'group', 1, 2**31 - 1)}"


def _del_group(c: Change) -> str:
    return f"link del group {_int(c, 'group', 1, 2**31 - 1)}"


def _set_link(c: Change) -> str:
    words = [f"link set dev {_name(c)}"]
    if "master" in c:
        words.append("nomaster" if c["master"] in ("", None)
                     else f"master {_name(c, 'master')}")
    if "mtu" in c:
        words.append(f"mtu {_int(c, 'mtu', MIN_MTU, MAX_MTU)}")
    if "up" in c:
        words.append("up" if _bool(c, "up") else "down")
    if len(words) == 1:
        raise BadChange("set_link changes nothing")
    return " ".join(words)


def _set_bridge(c: Change) -> str:
    stp = 1 if _bool(c, "stp") else 0
    return f"link set dev {_name(c)} type bridge stp_state {stp}"


def _add_addr(c: Change) -> str:
    return f"addr add {_cidr(c)} dev {_name(c, 'dev')}"


def _del_addr(c: Change) -> str:
    return f"addr del {_cidr(c)} dev {_name(c, 'dev')}"


def _set_default_route(c: Change) -> str:
    gateway, dst = _gateway(c)
    return f"route replace {dst} via {gateway} dev {_name(c, 'dev')}"


def _del_default_route(c: Change) -> str:
    gateway, dst = _gateway(c)
    return f"route del {dst} via {gateway} dev {_name(c, 'dev')}"


def _table(c: Change) -> int:
    return _int(c, "table", TABLE_BASE,
                TABLE_BASE + TABLE_SPAN - 1)


def _prefix(c: Change, key: str) -> ipaddress.IPv4Network | \
        ipaddress.IPv6Network:
    value = c.get(key)
    try:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError(value)
        return ipaddress.ip_network(value)
    except ValueError:
        raise BadChange(f"{key}: bad network prefix {value!r}")


def _table_route(c: Change) -> str:
    dst = _prefix(c, "dst")
    words = [f"{dst.with_prefixlen}"]
    if c.get("gateway") is not None:
        gateway, _ = _gateway(c)
        if ipaddress.ip_address(gateway).version != dst.version:
            raise BadChange("gateway: not of the family of dst")
        words.append(f"via {gateway}")
    words.append(f"dev {_name(c, 'dev')} table {_table(c)}")
    return " ".join(words)


def _add_table_route(c: Change) -> str:
    return "route replace " + _table_route(c)


def _del_table_route(c: Change) -> str:
    return "route del " + _table_route(c)


def _rule(c: Change) -> str:
    direction = c.get("direction")
    if direction not in ("from", "to"):
        raise BadChange(f"direction: expected from or to, not "
                        f"{direction!r}")
    prefix = _prefix(c, "prefix")
    return (f"{direction} {prefix.with_prefixlen} table {_table(c)} "
            f"priority {RULE_PRIORITY}")


def _add_rule(c: Change) -> str:
    return "rule add " + _rule(c)


def _del_rule(c: Change) -> str:
    return "rule del " + _rule(c)


_RENDERERS: dict[str, Callable[[Change], str]] = {
    "add_bridge": _add_bridge,
    "add_vlan": _add_vlan,
    "add_bond": _add_bond,
    "del_link": _del_link,
    "set_group": _set_group,
    "del_group": _del_group,
    "set_link": _set_link,
    "set_bridge": _set_bridge,
    "add_addr": _add_addr,
    "del_addr": _del_addr,
    "set_default_route": _set_default_route,
    "del_default_route": _del_default_route,
    "add_table_route": _add_table_route,
    "del_table_route": _del_table_route,
    "add_rule": _add_rule,
    "del_rule": _del_rule,
}
