"""Network capabilities: the host's devices and vdsm networks, typed.

``capabilities()`` reads a snapshot and the running config into
``NetworkCapabilities``: the NICs, bridges, VLANs and bonds by name and
the vdsm networks of the running config, with what the kernel has for
them now. Every device and network has ``Addresses``: its IPv4 and IPv6
addresses, gateways, MTU and DHCP state. The network with the default
route is the management network; another network with a gateway shows
the gateway of its source routing table. ``vdsm.api.network_wire`` maps
these to upstream's getCapabilities dicts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from vdsm.network import sourceroute
from vdsm.network.model import Config, Network
from vdsm.network.netinfo import Device, Snapshot


@dataclass(frozen=True)
class Addresses:
    """What every device and network reports of its addresses."""
    ipv4: tuple[str, ...] = ()       # "192.0.2.1/24", the first is primary
    ipv6: tuple[str, ...] = ()
    gateway: str | None = None       # IPv4
    ipv6gateway: str | None = None
    ipv4_default_route: bool = False
    mtu: int = 1500
    dhcpv4: bool = False
    dhcpv6: bool = False
    ipv6autoconf: bool = False


@dataclass(frozen=True)
class Nic:
    addresses: Addresses
    hwaddr: str
    speed: int                       # Mb/s, 0 unknown


@dataclass(frozen=True)
class Bridge:
    addresses: Addresses
    ports: tuple[str, ...]
    stp: bool


@dataclass(frozen=True)
class Vlan:
    addresses: Addresses
    device: str                      # the lower device
    vlan_id: int


@dataclass(frozen=True)
class Bond:
    addresses: Addresses
    slaves: tuple[str, ...]
    options: tuple[tuple[str, str], ...]
    hwaddr: str


@dataclass(frozen=True)
class NetworkInfo:
    """A vdsm network of the running config, as the kernel has it."""
    addresses: Addresses
    iface: str                       # the device carrying the addresses
    bridged: bool
    southbound: str                  # the device under it, "" none
    management: bool                 # it has the default route
    nameservers: tuple[str, ...]
    vlan_id: int | None
    ports: tuple[str, ...]           # bridged networks only
    stp: bool


@dataclass(frozen=True)
class NetworkCapabilities:
    nics: dict[str, Nic]
    bridges: dict[str, Bridge]
    vlans: dict[str, Vlan]
    bonds: dict[str, Bond]
    networks: dict[str, NetworkInfo]
    config_dirty: bool               # running config != safe config
    nameservers: tuple[str, ...]
    supports_ipv6: bool


def capabilities(snap: Snapshot, running: Config, dirty: bool,
                 nameservers: list[str], netns: str = ""
                 ) -> NetworkCapabilities:
    """``netns``: the snapshot is of that namespace; sysfs shows ours, so
    NIC speeds read 0 (unknown) there."""
    nics, bridges, vlans, bonds = {}, {}, {}, {}
    for dev in snap.devices.values():
        if dev.name == "lo" or dev.kernel_kind in _SKIPPED_KINDS:
            continue
        addresses = _addresses(dev, snap)
        if dev.kind == "bridge":
            bridges[dev.name] = Bridge(addresses, _ports(dev.name, snap),
                                       dev.stp)
        elif dev.kind == "vlan":
            vlans[dev.name] = Vlan(addresses, dev.link or "",
                                   dev.vlan_id or 0)
        elif dev.kind == "bond":
            bonds[dev.name] = Bond(addresses, _ports(dev.name, snap),
                                   dev.bond_options, dev.hwaddr)
        else:
            nics[dev.name] = Nic(addresses, dev.hwaddr,
                                 0 if netns else link_speed(dev.name))
    return NetworkCapabilities(
        nics, bridges, vlans, bonds, _networks(snap, running), dirty,
        tuple(nameservers), os.path.exists("/proc/net/if_inet6"))


# Links that are not host networking: guest taps are reported by virt,
# veth peers in containers and tunnels are not the manager's business.
_SKIPPED_KINDS = ("tun", "ipip", "sit", "ip6tnl", "gre", "gretap")


def _addresses(dev: Device, snap: Snapshot) -> Addresses:
    every = dev.addrs + dev.dynamic_addrs
    gw4 = snap.default_v4 if snap.default_v4 and \
        snap.default_v4.dev == dev.name else None
    gw6 = snap.default_v6 if snap.default_v6 and \
        snap.default_v6.dev == dev.name else None
    return Addresses(
        ipv4=tuple(a for a in every if ":" not in a),
        ipv6=tuple(a for a in every if ":" in a),
        gateway=gw4.gateway if gw4 else None,
        ipv6gateway=gw6.gateway if gw6 else None,
        ipv4_default_route=gw4 is not None,
        mtu=dev.mtu,
        dhcpv4=any(":" not in a for a in dev.dynamic_addrs),
        dhcpv6=any(":" in a for a in dev.dynamic_addrs))


def _ports(name: str, snap: Snapshot) -> tuple[str, ...]:
    return tuple(sorted(d.name for d in snap.devices.values()
                        if d.master == name))


def link_speed(name: str) -> int:
    """Mb/s from sysfs, 0 when the driver reports none."""
    try:
        with open(f"/sys/class/net/{name}/speed") as f:
            speed = int(f.read().strip())
    except (OSError, ValueError):
        return 0
    return max(speed, 0)


def _networks(snap: Snapshot, running: Config) -> dict[str, NetworkInfo]:
    out = {}
    for net in running.networks.values():
        iface = net.iface or net.name
        dev = snap.get(iface)
        addresses = _addresses(dev, snap) if dev else _configured(net)
        out[net.name] = NetworkInfo(
            addresses=_with_source_route(addresses, iface, snap),
            iface=iface, bridged=net.bridged, southbound=net.top or "",
            management=net.default_route, nameservers=net.nameservers,
            vlan_id=net.vlan,
            ports=_ports(net.name, snap) if net.bridged else (),
            stp=net.stp)
    return out


def _configured(net: Network) -> Addresses:
    """A network whose device is missing: what its config asks for."""
    return Addresses(mtu=net.mtu, dhcpv4=net.dhcpv4, dhcpv6=net.dhcpv6,
                     ipv6autoconf=net.ipv6autoconf)


def _with_source_route(addresses: Addresses, iface: str,
                       snap: Snapshot) -> Addresses:
    """A network without the default route shows the gateway of its own
    routing table (sourceroute.py), as the kernel has it."""
    for route in sorted(snap.table_routes):
        if route.dev != iface or route.gateway is None or \
                route.table != sourceroute.table_for(iface):
            continue
        if ":" in route.gateway:
            if addresses.ipv6gateway in (None, "::"):
                addresses = replace(addresses, ipv6gateway=route.gateway)
        elif not addresses.gateway:
            addresses = replace(addresses, gateway=route.gateway)
    return addresses


def read_nameservers(path: str = "/etc/resolv.conf") -> list[str]:
    servers = []
    try:
        with open(path) as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    servers.append(words[1])
    except OSError:
        pass
    return servers
