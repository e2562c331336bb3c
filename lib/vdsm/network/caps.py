"""Network capabilities: the host's devices and vdsm networks, on the wire.

Shapes follow upstream's getCapabilities: ``nics``, ``bridges``,
``vlans``, ``bondings`` (maps of device name to its facts) and
``networks`` (vdsm networks from the running config, with what the kernel
has for them now). Every device entry has ``addr``/``netmask`` (the first
IPv4 address), ``ipv4addrs``, ``ipv6addrs``, ``gateway``, ``ipv6gateway``,
``mtu`` (a string, as upstream) and the DHCP flags. The network with the
default route is the management network (``management: true``); another
network with a gateway shows the gateway of its source routing table.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from vdsm.network import sourceroute
from vdsm.network.model import Config
from vdsm.network.netinfo import Device, Snapshot


def capabilities(snap: Snapshot, running: Config, dirty: bool,
                 nameservers: list[str], netns: str = "") -> dict[str, Any]:
    """``netns``: the snapshot is of that namespace; sysfs shows ours, so
    NIC speeds read 0 (unknown) there."""
    nics, bridges, vlans, bonds = {}, {}, {}, {}
    for dev in snap.devices.values():
        if dev.name == "lo" or dev.kernel_kind in _SKIPPED_KINDS:
            continue
        entry = _common(dev, snap)
        if dev.kind == "bridge":
            entry.update(ports=_ports(dev.name, snap),
                         stp="on" if dev.stp else "off", opts={})
            bridges[dev.name] = entry
        elif dev.kind == "vlan":
            entry.update(iface=dev.link or "", vlanid=dev.vlan_id or 0)
            vlans[dev.name] = entry
        elif dev.kind == "bond":
            entry.update(slaves=_ports(dev.name, snap), active_slave="",
                         opts=dict(dev.bond_options), hwaddr=dev.hwaddr)
            bonds[dev.name] = entry
        else:
            entry.update(hwaddr=dev.hwaddr,
                         speed=0 if netns else link_speed(dev.name))
            nics[dev.name] = entry
    return {
        "nics": nics, "bridges": bridges, "vlans": vlans, "bondings": bonds,
        "networks": _networks(snap, running),
        "netConfigDirty": "True" if dirty else "False",
        "nameservers": nameservers,
        "supportsIPv6": os.path.exists("/proc/net/if_inet6"),
    }


# Links that are not host networking: guest taps are reported by virt,
# veth peers in containers and tunnels are not the manager's business.
_SKIPPED_KINDS = ("tun", "ipip", "sit", "ip6tnl", "gre", "gretap")


def _common(dev: Device, snap: Snapshot) -> dict[str, Any]:
    v4 = [a for a in dev.addrs + dev.dynamic_addrs if ":" not in a]
    v6 = [a for a in dev.addrs + dev.dynamic_addrs if ":" in a]
    first = ipaddress.ip_interface(v4[0]) if v4 else None
    gw4 = snap.default_v4 if snap.default_v4 and \
        snap.default_v4.dev == dev.name else None
    gw6 = snap.default_v6 if snap.default_v6 and \
        snap.default_v6.dev == dev.name else None
    return {
        "addr": str(first.ip) if first else "",
        "netmask": str(first.netmask) if first else "",
        "ipv4addrs": v4, "ipv6addrs": v6,
        "gateway": gw4.gateway if gw4 else "",
        "ipv6gateway": gw6.gateway if gw6 else "::",
        "ipv4defaultroute": gw4 is not None,
        "mtu": str(dev.mtu),
        "dhcpv4": any(":" not in a for a in dev.dynamic_addrs),
        "dhcpv6": any(":" in a for a in dev.dynamic_addrs),
        "ipv6autoconf": False,
    }


def _ports(name: str, snap: Snapshot) -> list[str]:
    return sorted(d.name for d in snap.devices.values() if d.master == name)


def link_speed(name: str) -> int:
    """Mb/s from sysfs, 0 when the driver reports none."""
    try:
        with open(f"/sys/class/net/{name}/speed") as f:
            speed = int(f.read().strip())
    except (OSError, ValueError):
        return 0
    return max(speed, 0)


def _networks(snap: Snapshot, running: Config) -> dict[str, Any]:
    out = {}
    for net in running.networks.values():
        iface = net.iface or net.name
        dev = snap.get(iface)
        entry: dict[str, Any] = _common(dev, snap) if dev else {
            "addr": "", "netmask": "", "ipv4addrs": [], "ipv6addrs": [],
            "gateway": "", "ipv6gateway": "::", "ipv4defaultroute": False,
            "mtu": str(net.mtu), "dhcpv4": net.dhcpv4,
            "dhcpv6": net.dhcpv6, "ipv6autoconf": net.ipv6autoconf}
        _add_source_route(entry, iface, snap)
        entry.update(iface=iface, bridged=net.bridged, switch="legacy",
                     southbound=net.top or "", management=net.default_route,
                     nameservers=list(net.nameservers))
        if net.vlan is not None:
            entry["vlanid"] = net.vlan
        if net.bridged:
            entry.update(ports=_ports(net.name, snap),
                         stp="on" if net.stp else "off")
        out[net.name] = entry
    return out


def _add_source_route(entry: dict[str, Any], iface: str,
                      snap: Snapshot) -> None:
    """A network without the default route shows the gateway of its own
    routing table (sourceroute.py), as the kernel has it."""
    for route in sorted(snap.table_routes):
        if route.dev != iface or route.gateway is None or \
                route.table != sourceroute.table_for(iface):
            continue
        if ":" in route.gateway:
            if entry["ipv6gateway"] in ("", "::"):
                entry["ipv6gateway"] = route.gateway
        elif not entry["gateway"]:
            entry["gateway"] = route.gateway


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
