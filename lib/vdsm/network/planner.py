"""Plan the changes that take the kernel from a snapshot to a target.

Pure: (Snapshot, Target) -> list of changes (the vocabulary of
``vdsm.supervdsm.netchanges``). The order is what the kernel needs:

1. default routes through devices that go away are removed, and so are
   source routing rules and table routes that are not wanted, or whose
   device the plan disturbs (the kernel may flush them on the way);
2. devices change master only after being detached from the old one;
3. stale devices are deleted, upper ones first (bridges, VLANs, bonds);
4. unwanted addresses are removed;
5. new devices are created, lower ones first (bonds, VLANs, bridges);
6. MTUs grow lower devices first and shrink upper devices first, so a
   VLAN or bridge is never above its lower device;
7. devices are attached to their masters (bond slaves are set down first,
   as the kernel requires), then addresses added, then links set up;
8. default routes are set, then table routes (subnet before default)
   and source routing rules are added (``sourceroute.py``).

A device is never touched when it already is what the target says, so a
request that repeats the running config plans nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vdsm.network.netinfo import Device, Route, Snapshot
from vdsm.network.sourceroute import Rule, TableRoute
from vdsm.network.state import Target
from vdsm.supervdsm.netchanges import Change

# A link group for batch deletion ("VD" << 16); any unused one does.
DELETE_GROUP = 0x56440000

# Lower devices first.
_RANK = {"nic": 0, "bond": 1, "vlan": 2, "bridge": 3}


@dataclass
class _Pair:
    name: str
    cur: Device | None      # None: does not exist (or will be recreated)
    want: Device | None     # None: must not exist


def plan(current: Snapshot, target: Target) -> list[Change]:
    pairs, recreate = _pairs(current, target)
    out: list[Change] = []
    fragile = _fragile(pairs)
    out += _drop_routes(current, target)
    out += _drop_source_routes(current, target, fragile)
    out += _detach(pairs, current, target, recreate)
    out += _delete(current, target, recreate)
    out += _del_addrs(pairs)
    out += _create(pairs)
    out += _mtus(pairs)
    out += _attach(pairs, target)
    out += _add_addrs(pairs)
    out += _set_up(pairs, target)
    out += _set_routes(current, target)
    out += _add_source_routes(current, target, fragile)
    return out


def _pairs(current: Snapshot, target: Target
           ) -> tuple[list[_Pair], set[str]]:
    recreate = {n for n, want in target.devices.items()
                if want is not None and current.get(n) is not None
                and _must_recreate(current.devices[n], want)}
    gone = recreate | {n for n, want in target.devices.items()
                       if want is None and current.get(n) is not None}
    # The kernel deletes a VLAN with its lower device: recreate it too.
    grew = True
    while grew:
        grew = False
        for name, dev in current.devices.items():
            if dev.kind == "vlan" and dev.link in gone and name not in gone:
                gone.add(name)
                if target.devices.get(name) is not None:
                    recreate.add(name)
                grew = True
    pairs = []
    for name, want in target.devices.items():
        cur = None if name in recreate else current.get(name)
        if cur is not None and cur.master in gone:
            # Released by the kernel when its master goes.
            cur = replace(cur, master=None)
        pairs.append(_Pair(name, cur, want))
    pairs.sort(key=lambda p: (_rank(p), p.name))
    return pairs, recreate


def _rank(p: _Pair) -> int:
    dev = p.want or p.cur
    return _RANK.get(dev.kind, 0) if dev else 0


def _must_recreate(cur: Device, want: Device) -> bool:
    if cur.kind != want.kind:
        return cur.kind != "nic"
    if want.kind == "vlan":
        return (cur.vlan_id, cur.link) != (want.vlan_id, want.link)
    if want.kind == "bond":
        return _bond_key(cur) != _bond_key(want)
    return False


def _bond_key(dev: Device) -> tuple[str, str]:
    opts = dict(dev.bond_options)
    return opts.get("mode", "0"), opts.get("miimon", "0")


def _drop_routes(current: Snapshot, target: Target) -> list[Change]:
    out = []
    for cur, want in ((current.default_v4, target.default_v4),
                      (current.default_v6, target.default_v6)):
        if cur is None or want is not None or cur.dev not in target.devices:
            continue
        if target.devices[cur.dev] is not None and \
                current.get(cur.dev) is not None:
            out.append({"kind": "del_default_route",
                        "gateway": cur.gateway, "dev": cur.dev})
    return out


def _detach(pairs: list[_Pair], current: Snapshot, target: Target,
            recreate: set[str]) -> list[Change]:
    """Detach ports from their old master, unless the master is deleted
    (deleting it releases its ports in the same kernel batch)."""
    out = []
    for p in pairs:
        if p.want is None or p.cur is None or p.cur.master is None:
            continue
        master = p.cur.master
        if master in recreate or (master in target.devices and
                                  target.devices[master] is None):
            continue
        if p.cur.master != p.want.master:
            out.append({"kind": "set_link", "name": p.name, "master": ""})
    return out


def _delete(current: Snapshot, target: Target,
            recreate: set[str]) -> list[Change]:
    doomed = [n for n, want in target.devices.items()
              if (want is None or n in recreate) and current.get(n) and
              current.devices[n].kind != "nic"]
    out: list[Change] = []
    for rank in sorted({_RANK[current.devices[n].kind] for n in doomed},
                       reverse=True):
        names = sorted(n for n in doomed
                       if _RANK[current.devices[n].kind] == rank)
        out += _delete_many(names, current)
    return out


def _delete_many(names: list[str], current: Snapshot) -> list[Change]:
    """Several links go in one kernel batch through a link group: the
    kernel waits for RCU once per batch, not once per link."""
    if len(names) < 2:
        return [{"kind": "del_link", "name": n} for n in names]
    group = _free_group(current)
    return [{"kind": "set_group", "name": n, "group": group}
            for n in names] + [{"kind": "del_group", "group": group}]


def _free_group(current: Snapshot) -> int:
    group = DELETE_GROUP
    while str(group) in current.groups:
        group += 1
    return group


def _del_addrs(pairs: list[_Pair]) -> list[Change]:
    out = []
    for p in pairs:
        if p.cur is None:
            continue
        keep = set(p.want.addrs) if p.want else set()
        if p.want is None and p.cur.kind != "nic":
            continue    # deleted with its device
        for cidr in p.cur.addrs:
            if cidr not in keep:
                out.append({"kind": "del_addr", "dev": p.name, "cidr": cidr})
    return out


def _create(pairs: list[_Pair]) -> list[Change]:
    out: list[Change] = []
    for p in pairs:
        if p.cur is not None or p.want is None or p.want.kind == "nic":
            continue
        w = p.want
        if w.kind == "bridge":
            out.append({"kind": "add_bridge", "name": w.name, "stp": w.stp})
        elif w.kind == "vlan":
            out.append({"kind": "add_vlan", "name": w.name, "link": w.link,
                        "vlan_id": w.vlan_id})
        elif w.kind == "bond":
            out.append({"kind": "add_bond", "name": w.name,
                        "options": [list(o) for o in w.bond_options]})
    for p in pairs:
        if p.want is not None and p.want.kind == "bridge" and \
                p.cur is not None and p.cur.stp != p.want.stp:
            out.append({"kind": "set_bridge", "name": p.name,
                        "stp": p.want.stp})
    return out


def _mtus(pairs: list[_Pair]) -> list[Change]:
    grow, shrink = [], []
    for p in pairs:
        if p.want is None:
            continue
        cur_mtu = p.cur.mtu if p.cur else 1500
        if p.want.mtu > cur_mtu:
            grow.append({"kind": "set_link", "name": p.name,
                         "mtu": p.want.mtu})
        elif p.want.mtu < cur_mtu or p.cur is None:
            # A new device is always given its MTU: a VLAN inherits its
            # lower device's, a bridge would follow its ports'.
            shrink.append({"kind": "set_link", "name": p.name,
                           "mtu": p.want.mtu})
    return grow + shrink[::-1]


def _attach(pairs: list[_Pair], target: Target) -> list[Change]:
    out: list[Change] = []
    for p in pairs:
        w = p.want
        if w is None or w.master is None:
            continue
        if p.cur is not None and p.cur.master == w.master:
            continue
        master = target.devices.get(w.master)
        if master is not None and master.kind == "bond":
            out.append({"kind": "set_link", "name": p.name, "up": False})
        out.append({"kind": "set_link", "name": p.name, "master": w.master})
    return out


def _add_addrs(pairs: list[_Pair]) -> list[Change]:
    out = []
    for p in pairs:
        if p.want is None:
            continue
        have = set(p.cur.addrs) if p.cur else set()
        for cidr in p.want.addrs:
            if cidr not in have:
                out.append({"kind": "add_addr", "dev": p.name, "cidr": cidr})
    return out


def _set_up(pairs: list[_Pair], target: Target) -> list[Change]:
    out = []
    for p in pairs:
        w = p.want
        if w is None:
            continue
        was_up = p.cur.up if p.cur else False
        master = target.devices.get(w.master) if w.master else None
        # A new bond slave was set down to be enslaved.
        bond_slave = master is not None and master.kind == "bond" and \
            (p.cur is None or p.cur.master != w.master)
        if w.up and (not was_up or bond_slave):
            out.append({"kind": "set_link", "name": p.name, "up": True})
        elif not w.up and was_up:
            out.append({"kind": "set_link", "name": p.name, "up": False})
    return out


def _set_routes(current: Snapshot, target: Target) -> list[Change]:
    out = []
    for cur, want in ((current.default_v4, target.default_v4),
                      (current.default_v6, target.default_v6)):
        if want is not None and want != cur:
            out.append(_route_change(want))
    return out


def _route_change(route: Route) -> Change:
    return {"kind": "set_default_route", "gateway": route.gateway,
            "dev": route.dev}


def _fragile(pairs: list[_Pair]) -> set[str]:
    """Devices whose routes the plan may disturb: new, recreated, deleted,
    set down, or with different addresses."""
    return {p.name for p in pairs
            if p.cur is None or p.want is None or not p.cur.up or
            not p.want.up or set(p.cur.addrs) != set(p.want.addrs)}


def _drop_source_routes(current: Snapshot, target: Target,
                        fragile: set[str]) -> list[Change]:
    out = [_rule_change("del_rule", r)
           for r in sorted(current.rules - target.rules)]
    # Defaults before the subnet routes their gateway is reached through.
    doomed = [r for r in current.table_routes
              if r not in target.table_routes or r.dev in fragile]
    for r in sorted(doomed, key=lambda r: (r.gateway is None, r)):
        out.append(_table_route_change("del_table_route", r))
    return out


def _add_source_routes(current: Snapshot, target: Target,
                       fragile: set[str]) -> list[Change]:
    wanted = [r for r in target.table_routes
              if r not in current.table_routes or r.dev in fragile]
    out = [_table_route_change("add_table_route", r)
           for r in sorted(wanted, key=lambda r: (r.gateway is not None, r))]
    out += [_rule_change("add_rule", r)
            for r in sorted(target.rules - current.rules)]
    return out


def _rule_change(kind: str, rule: Rule) -> Change:
    return {"kind": kind, "direction": rule.direction,
            "prefix": rule.prefix, "table": rule.table}


def _table_route_change(kind: str, route: TableRoute) -> Change:
    change: Change = {"kind": kind, "table": route.table, "dst": route.dst,
                      "dev": route.dev}
    if route.gateway is not None:
        change["gateway"] = route.gateway
    return change
