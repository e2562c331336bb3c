"""The network's typed values on the wire, as upstream Vdsm sends them.

Host.getNetworkCapabilities (and the network part of
Host.getCapabilities), Host.getNetworkStatistics and the network part
of Host.getStats. Shapes follow upstream's getCapabilities: ``nics``,
``bridges``, ``vlans``, ``bondings`` (maps of device name to its facts)
and ``networks``. Every device entry has ``addr``/``netmask`` (the first
IPv4 address), ``ipv4addrs``, ``ipv6addrs``, ``gateway`` ("" none),
``ipv6gateway`` ("::" none), ``mtu`` (a string, as upstream) and the
DHCP flags; statistics counters and rates are strings too, as the
engine parses them.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from vdsm.network.caps import (Addresses, Bond, Bridge, NetworkCapabilities,
                               NetworkInfo, Nic, Vlan)
from vdsm.network.stats import InterfaceStats


def capabilities(caps: NetworkCapabilities) -> dict[str, Any]:
    return {
        "nics": {n: nic(v) for n, v in caps.nics.items()},
        "bridges": {n: bridge(v) for n, v in caps.bridges.items()},
        "vlans": {n: vlan(v) for n, v in caps.vlans.items()},
        "bondings": {n: bond(v) for n, v in caps.bonds.items()},
        "networks": {n: network(v) for n, v in caps.networks.items()},
        "netConfigDirty": config_dirty(caps.config_dirty),
        "nameservers": list(caps.nameservers),
        "supportsIPv6": caps.supports_ipv6,
    }


def config_dirty(dirty: bool) -> str:
    """``netConfigDirty`` of getCapabilities and getStats."""
    return "True" if dirty else "False"


def addresses(a: Addresses) -> dict[str, Any]:
    first = ipaddress.ip_interface(a.ipv4[0]) if a.ipv4 else None
    return {
        "addr": str(first.ip) if first else "",
        "netmask": str(first.netmask) if first else "",
        "ipv4addrs": list(a.ipv4), "ipv6addrs": list(a.ipv6),
        "gateway": a.gateway or "",
        "ipv6gateway": a.ipv6gateway or "::",
        "ipv4defaultroute": a.ipv4_default_route,
        "mtu": str(a.mtu),
        "dhcpv4": a.dhcpv4,
        "dhcpv6": a.dhcpv6,
        "ipv6autoconf": a.ipv6autoconf,
    }


def nic(n: Nic) -> dict[str, Any]:
    return {**addresses(n.addresses), "hwaddr": n.hwaddr, "speed": n.speed}


def bridge(b: Bridge) -> dict[str, Any]:
    return {**addresses(b.addresses), "ports": list(b.ports),
            "stp": _on_off(b.stp), "opts": {}}


def vlan(v: Vlan) -> dict[str, Any]:
    return {**addresses(v.addresses), "iface": v.device,
            "vlanid": v.vlan_id}


def bond(b: Bond) -> dict[str, Any]:
    return {**addresses(b.addresses), "slaves": list(b.slaves),
            "active_slave": "", "opts": dict(b.options),
            "hwaddr": b.hwaddr}


def network(n: NetworkInfo) -> dict[str, Any]:
    entry = {**addresses(n.addresses), "iface": n.iface,
             "bridged": n.bridged, "switch": "legacy",
             "southbound": n.southbound, "management": n.management,
             "nameservers": list(n.nameservers)}
    if n.vlan_id is not None:
        entry["vlanid"] = n.vlan_id
    if n.bridged:
        entry.update(ports=list(n.ports), stp=_on_off(n.stp))
    return entry


def statistics(interfaces: dict[str, InterfaceStats]) -> dict[str, Any]:
    """Host.getNetworkStatistics: ``{"network": {name: counters}}``."""
    return {"network": interface_statistics(interfaces)}


def interface_statistics(interfaces: dict[str, InterfaceStats]
                         ) -> dict[str, Any]:
    return {name: interface(s) for name, s in interfaces.items()}


def interface(s: InterfaceStats) -> dict[str, Any]:
    return {
        "name": s.name, "state": s.state, "speed": str(s.speed),
        "rx": str(s.rx_bytes), "tx": str(s.tx_bytes),
        "rxErrors": str(s.rx_errors), "txErrors": str(s.tx_errors),
        "rxDropped": str(s.rx_dropped), "txDropped": str(s.tx_dropped),
        "rxRate": _percent(s.rx_rate), "txRate": _percent(s.tx_rate),
        "sampleTime": s.sample_time,
    }


def _percent(rate: float) -> str:
    return f"{rate:.1f}"


def _on_off(value: bool) -> str:
    return "on" if value else "off"
