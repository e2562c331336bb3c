"""Check a parsed request against the running config and the host.

``validate`` runs before anything changes; it raises the first problem
with the field at fault (``networks.net1.nic``) and a code 21-27. It
checks what ``model.parse_request`` cannot see alone: that NICs exist and
are free, that bonds exist, that a NIC carries at most one untagged
network and distinct VLANs, that names do not clash with devices that are
not ours, that at most one network has the default route, and that no
two source routed networks hash to the same routing table.
"""

from __future__ import annotations

from vdsm.network import errors, state
from vdsm.network.model import Config, Network, Request
from vdsm.network.netinfo import Snapshot


def validate(request: Request, running: Config, host: Snapshot) -> Config:
    """Return the config after the request, or raise."""
    _check_removals(request, running)
    new = running.apply(request)
    ours = state.devices_of(running)
    _check_bonds(request, new, host, ours)
    _check_networks(request, new, host, ours)
    _check_default_route(new)
    _check_source_route_tables(new)
    return new


def _check_removals(request: Request, running: Config) -> None:
    for name in sorted(request.remove_networks):
        if name not in running.networks:
            raise errors.BadBridge("cannot remove a network that does not "
                                   "exist", field=f"networks.{name}.remove")
    for name in sorted(request.remove_bonds):
        if name not in running.bonds:
            raise errors.BadBonding("cannot remove a bond that does not "
                                    "exist", field=f"bondings.{name}.remove")


def _check_bonds(request: Request, new: Config, host: Snapshot,
                 ours: set[str]) -> None:
    owner: dict[str, str] = {}
    for bond in new.bonds.values():
        path = f"bondings.{bond.name}"
        dev = host.get(bond.name)
        if dev is not None and bond.name not in ours:
            raise errors.BadBonding("a device of that name exists",
                                    field=path)
        for i, nic in enumerate(bond.nics):
            field = f"{path}.nics[{i}]"
            if nic in owner:
                raise errors.UsedNic(f"already in {owner[nic]}", field=field)
            owner[nic] = bond.name
            _check_nic(nic, host, ours, field)
    for name in sorted(request.remove_bonds):
        users = [n.name for n in new.networks.values() if n.bonding == name]
        if users:
            raise errors.BadBonding(f"bond is used by network {users[0]}",
                                    field=f"bondings.{name}.remove")


def _check_networks(request: Request, new: Config, host: Snapshot,
                    ours: set[str]) -> None:
    bond_nics = {nic: b.name for b in new.bonds.values() for nic in b.nics}
    untagged: dict[str, str] = {}
    tagged: dict[tuple[str, int], str] = {}
    # Requested networks first, so errors name the field the client sent.
    order = sorted(new.networks.values(),
                   key=lambda n: (n.name not in request.networks, n.name))
    for net in order:
        path = f"networks.{net.name}"
        _check_network_devices(net, new, host, ours, bond_nics, path)
        base = net.base
        if base is None:
            continue
        if net.vlan is None:
            if base in untagged:
                raise errors.UsedNic(f"{base} already carries network "
                                     f"{untagged[base]}",
                                     field=f"{path}.{_base_key(net)}")
            untagged[base] = net.name
        else:
            key = (base, net.vlan)
            if key in tagged:
                raise errors.BadVlan(f"VLAN {net.vlan} on {base} is used by "
                                     f"network {tagged[key]}",
                                     field=f"{path}.vlan")
            tagged[key] = net.name


def _check_network_devices(net: Network, new: Config, host: Snapshot,
                           ours: set[str], bond_nics: dict[str, str],
                           path: str) -> None:
    if net.bridged:
        if net.name in bond_nics or net.name in new.bonds or \
                any(n.base == net.name for n in new.networks.values()):
            raise errors.BadBridge("network name is a device in use",
                                   field=path)
        if host.get(net.name) is not None and net.name not in ours:
            raise errors.BadBridge("a device of that name exists", field=path)
    if net.nic:
        if net.nic in bond_nics:
            raise errors.UsedNic(f"nic is a slave of {bond_nics[net.nic]}",
                                 field=f"{path}.nic")
        _check_nic(net.nic, host, ours, f"{path}.nic")
    if net.bonding and net.bonding not in new.bonds:
        raise errors.BadBonding("no such bond", field=f"{path}.bonding")
    vlan_dev = net.vlan_device
    if vlan_dev and host.get(vlan_dev) is not None and vlan_dev not in ours:
        raise errors.BadVlan(f"device {vlan_dev} exists and is not ours",
                             field=f"{path}.vlan")


def _check_nic(nic: str, host: Snapshot, ours: set[str], field: str) -> None:
    dev = host.get(nic)
    if dev is None or dev.kind != "nic" or nic == "lo":
        raise errors.BadNic("no such nic", field=field)
    if dev.master is not None and dev.master not in ours:
        raise errors.UsedNic(f"nic is a port of {dev.master}", field=field)


def _base_key(net: Network) -> str:
    return "nic" if net.nic else "bonding"


def _check_default_route(new: Config) -> None:
    nets = sorted(n.name for n in new.networks.values() if n.default_route)
    if len(nets) > 1:
        raise errors.BadParams(f"only one network may have the default "
                               f"route, not {', '.join(nets)}",
                               field=f"networks.{nets[1]}.defaultRoute")


def _check_source_route_tables(new: Config) -> None:
    owner: dict[int, str] = {}
    for net in sorted(new.networks.values(), key=lambda n: n.name):
        rules, _ = state.source_routes(net)
        for table in sorted({r.table for r in rules}):
            if table in owner:
                raise errors.BadParams(
                    f"the source routing table of {net.iface} ({table}) is "
                    f"the one of network {owner[table]}; rename a device "
                    f"or drop a gateway", field=f"networks.{net.name}.gateway")
            owner[table] = net.name
