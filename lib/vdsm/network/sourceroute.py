"""Source routing: a network's gateway without the default route.

Theory of operation
-------------------

Only one network owns the host's default route (``defaultRoute``). Any
other network with a static ``gateway`` (or ``ipv6gateway``) gets a
routing table of its own so that traffic *from* its addresses leaves
through its gateway, as upstream Vdsm does::

    table T:  <subnet> dev <dev>
              default via <gateway> dev <dev>
    rules:    from <subnet> lookup T   (priority RULE_PRIORITY)
              to <subnet> lookup T     (priority RULE_PRIORITY)

``dev`` is the device carrying the network's addresses (the bridge, or
the NIC/VLAN/bond of a bridgeless network). IPv4 uses the network's
address; IPv6 the first static IPv6 address, when there is an
``ipv6gateway``. Both families share the table id (the kernel keeps
tables per family).

Table ids: ``TABLE_BASE + crc32(dev) % TABLE_SPAN``, a stable hash of
the device name into a reserved range (0x56450000..0x5645ffff, "VE");
vdsm owns every table of that range and every rule of priority
``RULE_PRIORITY`` pointing into it: the planner removes what the config
does not ask for. Two devices hashing to the same table are refused by
validation (code 21) rather than silently sharing it.

The kernel state is read as two sets (``Rule``, ``TableRoute``); the
target is the same sets computed from the config, so adding, editing,
removing, rollback (towards the snapshot's sets) and restore-nets are
one set difference each (``planner``).
"""

from __future__ import annotations

import ipaddress
import zlib
from dataclasses import dataclass
from typing import Any, Callable

from vdsm.supervdsm.netchanges import RULE_PRIORITY, TABLE_BASE, TABLE_SPAN


@dataclass(frozen=True, order=True)
class Rule:
    direction: str          # "from" or "to"
    prefix: str             # "192.0.2.0/24", "2001:db8::/64"
    table: int


@dataclass(frozen=True, order=True)
class TableRoute:
    table: int
    dst: str                # "192.0.2.0/24", "0.0.0.0/0", "::/0"
    dev: str
    gateway: str | None = None


def table_for(dev: str) -> int:
    return TABLE_BASE + zlib.crc32(dev.encode()) % TABLE_SPAN


def is_ours(table: int) -> bool:
    return TABLE_BASE <= table < TABLE_BASE + TABLE_SPAN


def version(prefix: str) -> int:
    return 6 if ":" in prefix else 4


def items(dev: str, cidr: str, gateway: str
          ) -> tuple[set[Rule], set[TableRoute]]:
    """The rules and routes of one network's family."""
    table = table_for(dev)
    subnet = str(ipaddress.ip_interface(cidr).network)
    default = "::/0" if version(subnet) == 6 else "0.0.0.0/0"
    rules = {Rule("from", subnet, table), Rule("to", subnet, table)}
    routes = {TableRoute(table, subnet, dev),
              TableRoute(table, default, dev, gateway)}
    return rules, routes


# Reading the kernel.

IpJson = Callable[[list[str], "str | None"], Any]


def read_rules(ip_json: IpJson, netns: str | None) -> set[Rule]:
    out = set()
    for family, bits in (("-4", 32), ("-6", 128)):
        for r in ip_json([family, "rule", "show"], netns):
            table = _table(r.get("table"))
            if table is None or r.get("priority") != RULE_PRIORITY:
                continue
            if r.get("src", "all") != "all":
                out.add(Rule("from", _prefix(r["src"], r.get("srclen"),
                                             bits), table))
            elif r.get("dst"):
                out.add(Rule("to", _prefix(r["dst"], r.get("dstlen"),
                                           bits), table))
    return out


def read_routes(ip_json: IpJson, netns: str | None) -> set[TableRoute]:
    out = set()
    for family, default in (("-4", "0.0.0.0/0"), ("-6", "::/0")):
        for r in ip_json([family, "route", "show", "table", "all"], netns):
            table = _table(r.get("table"))
            if table is None or "dev" not in r or r.get("type") not in \
                    (None, "unicast"):
                continue
            dst = default if r.get("dst") == "default" else \
                str(ipaddress.ip_network(r["dst"], strict=False))
            out.add(TableRoute(table, dst, r["dev"], r.get("gateway")))
    return out


def _table(value: Any) -> int | None:
    try:
        table = int(value)
    except (TypeError, ValueError):
        return None
    return table if is_ours(table) else None


def _prefix(addr: str, length: Any, bits: int) -> str:
    return str(ipaddress.ip_network(
        f"{addr}/{length if length is not None else bits}", strict=False))
