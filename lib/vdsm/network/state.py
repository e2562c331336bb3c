"""From a network config to the devices the kernel should have.

A config (networks and bonds) becomes a ``Target``: for every device it
touches, the ``Device`` it should be, or ``None`` for a device that must
not exist; and the default routes. The planner turns (what is, target)
into changes. The same target shape describes a snapshot taken before a
change, so rollback is "plan towards the snapshot".

Topology of one network ``net`` on NIC ``eth1`` with VLAN 10::

    eth1 (nic, mtu = max of its networks)
      eth1.10 (vlan, mtu = net mtu)
        net (bridge, addresses, mtu = net mtu)     <- when bridged

A bridgeless network carries its addresses on its top device (``eth1.10``
or ``eth1``). A bond is a ``bond`` device whose NICs have it as master.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from vdsm.network import netinfo, sourceroute
from vdsm.network.model import DEFAULT_MTU, Config, Network
from vdsm.network.netinfo import Device, Route, Snapshot
from vdsm.network.sourceroute import Rule, TableRoute


@dataclass
class Target:
    devices: dict[str, Device | None] = field(default_factory=dict)
    # None: no default route of ours; the current one is left alone unless
    # it goes through a device we remove.
    default_v4: Route | None = None
    default_v6: Route | None = None
    # Devices whose addresses we do not manage (DHCP networks).
    dynamic: set[str] = field(default_factory=set)
    # Source routing (sourceroute.py): all of it, since vdsm owns its
    # tables; what is not here is removed.
    rules: set[Rule] = field(default_factory=set)
    table_routes: set[TableRoute] = field(default_factory=set)


def desired(config: Config, old: Config, current: Snapshot) -> Target:
    """The target for moving from ``old`` to ``config``.

    Devices of ``old`` that ``config`` no longer uses are released: virtual
    ones deleted, NICs detached, their addresses removed and MTU reset.
    """
    target = Target()
    devs = target.devices
    for bond in config.bonds.values():
        devs[bond.name] = Device(bond.name, kind="bond",
                                 bond_options=bond.options)
        for nic in bond.nics:
            devs[nic] = _nic(nic, current, master=bond.name)
    for net in config.networks.values():
        _add_network(target, net, current)
    _set_mtus(target, config)
    for name in sorted(_devices_of(old) - set(devs)):
        devs[name] = _released(name, current)
    _set_default_routes(target, config)
    _set_source_routes(target, config)
    return target


def from_snapshot(before: Snapshot, names: set[str]) -> Target:
    """The target that restores ``names`` to what ``before`` saw."""
    target = Target()
    for name in names:
        dev = before.get(name)
        target.devices[name] = dev.without_report() if dev else None
    target.default_v4 = before.default_v4
    target.default_v6 = before.default_v6
    target.rules = set(before.rules)
    target.table_routes = set(before.table_routes)
    return target


def _add_network(target: Target, net: Network, current: Snapshot) -> None:
    devs = target.devices
    base, top = net.base, net.top
    if base and base not in devs:
        devs[base] = _nic(base, current)
    if net.vlan_device and base:
        devs[net.vlan_device] = Device(net.vlan_device, kind="vlan",
                                       vlan_id=net.vlan, link=base)
    if net.bridged:
        devs[net.name] = Device(net.name, kind="bridge", stp=net.stp)
        if top:
            devs[top] = replace(_dev(devs, top), master=net.name)
    iface = net.iface
    assert iface is not None
    addrs = ((net.ipv4,) if net.ipv4 else ()) + net.ipv6
    devs[iface] = replace(_dev(devs, iface), addrs=addrs)
    if net.dhcpv4 or net.dhcpv6 or net.ipv6autoconf:
        target.dynamic.add(iface)


def _dev(devs: dict[str, Device | None], name: str) -> Device:
    dev = devs[name]
    assert dev is not None
    return dev


def _nic(name: str, current: Snapshot, master: str | None = None) -> Device:
    return Device(name, kind="nic", master=master)


def _released(name: str, current: Snapshot) -> Device | None:
    dev = current.get(name)
    if dev is None or dev.kind in netinfo.VIRTUAL_KINDS:
        return None
    return Device(name, kind="nic", up=dev.up)


def _set_mtus(target: Target, config: Config) -> None:
    """A device's MTU is the largest MTU of the networks above it."""
    mtus: dict[str, int] = {}

    def need(name: str | None, mtu: int) -> None:
        if name:
            mtus[name] = max(mtus.get(name, 0), mtu)

    for net in config.networks.values():
        need(net.name if net.bridged else None, net.mtu)
        need(net.vlan_device, net.mtu)
        need(net.base, net.mtu)
    for bond in config.bonds.values():
        for nic in bond.nics:
            need(nic, mtus.get(bond.name, DEFAULT_MTU))
    for name, mtu in mtus.items():
        dev = target.devices.get(name)
        if dev is not None:
            target.devices[name] = replace(dev, mtu=mtu)


def _set_default_routes(target: Target, config: Config) -> None:
    for net in config.networks.values():
        if not net.default_route:
            continue
        if net.gateway:
            target.default_v4 = Route(net.gateway, net.iface or net.name)
        if net.ipv6gateway:
            target.default_v6 = Route(net.ipv6gateway, net.iface or net.name)


def _set_source_routes(target: Target, config: Config) -> None:
    for net in config.networks.values():
        rules, routes = source_routes(net)
        target.rules |= rules
        target.table_routes |= routes


def source_routes(net: Network) -> tuple[set[Rule], set[TableRoute]]:
    """A network's rules and table routes: for a static gateway (IPv4
    and/or IPv6) on a network without the default route."""
    rules: set[Rule] = set()
    routes: set[TableRoute] = set()
    dev = net.iface
    if net.default_route or dev is None:
        return rules, routes
    for cidr, gateway in ((net.ipv4, net.gateway),
                          (net.ipv6[0] if net.ipv6 else None,
                           net.ipv6gateway)):
        if cidr and gateway:
            more_rules, more_routes = sourceroute.items(dev, cidr, gateway)
            rules |= more_rules
            routes |= more_routes
    return rules, routes


def _devices_of(config: Config) -> set[str]:
    names: set[str] = set()
    for net in config.networks.values():
        names.update(n for n in (net.base, net.vlan_device) if n)
        if net.bridged:
            names.add(net.name)
    for bond in config.bonds.values():
        names.add(bond.name)
        names.update(bond.nics)
    return names


def devices_of(config: Config) -> set[str]:
    return _devices_of(config)
