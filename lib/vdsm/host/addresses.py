"""Which network device owns a local address (``lastClientIface``).

The manager learns from ``lastClientIface`` which device carries its
management traffic: the device owning the local address of the client's
connection. The address list comes from ``ip -j addr show`` (iproute2,
unprivileged), which sees secondary addresses that the SIOCGIFCONF ioctl
misses.
"""

from __future__ import annotations

import ipaddress
import json
import logging

from vdsm.common import commands

log = logging.getLogger("vdsm.host.addresses")


def normalize(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Parse an address as a socket reports it.

    Drops an IPv6 zone (``fe80::1%eth0``) and unwraps IPv4-mapped IPv6
    (``::ffff:10.0.0.1``), which a dual-stack listener on ``::`` sees.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def parse_ip_addr(text: str) -> dict[str, str]:
    """``ip -j addr show`` output -> {address: device}."""
    owners: dict[str, str] = {}
    for link in json.loads(text or "[]"):
        for info in link.get("addr_info", []):
            local = info.get("local")
            if local:
                owners[str(normalize(local))] = link["ifname"]
    return owners


def device_of(address: str, owners: dict[str, str]) -> str:
    """The device owning address, 'lo' for loopback, '' when unknown."""
    try:
        ip = normalize(address)
    except ValueError:
        return ""
    if ip.is_loopback:
        return "lo"
    return owners.get(str(ip), "")


def read_owners() -> dict[str, str]:
    try:
        out = commands.run(["ip", "-j", "addr", "show"], timeout=10).stdout
    except (OSError, commands.CommandError) as e:
        log.warning("FAIL query=addresses reason=%s", e)
        return {}
    return parse_ip_addr(out)


def client_iface(local: tuple | None) -> str:
    """lastClientIface for a connection whose local end is ``local``."""
    if not local:
        return ""
    address = str(local[0])
    try:
        if normalize(address).is_loopback:
            return "lo"
    except ValueError:
        return ""
    return device_of(address, read_owners())
