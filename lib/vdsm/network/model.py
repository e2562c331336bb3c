"""The network model: what a setupNetworks request and the config mean.

A request arrives as upstream's wire dicts::

    networks = {"net1": {"nic": "eth1", "vlan": 10, "bridged": True,
                         "mtu": 9000, "bootproto": "none",
                         "ipaddr": "192.0.2.1", "netmask": "255.255.255.0",
                         "gateway": "192.0.2.254", "defaultRoute": True,
                         "nameservers": ["192.0.2.53"],
                         "ipv6addr": "2001:db8::1/64"},
                "old": {"remove": True}}
    bondings = {"bond0": {"nics": ["eth2", "eth3"],
                          "options": "mode=4 miimon=100"}}
    options = {"connectivityCheck": True, "connectivityTimeout": 4}

``parse_request`` checks every field on its own (types, ranges, address
syntax) and turns it into frozen dataclasses; an error names the field
(``networks.net1.mtu``) and carries a code 21-27. Checks that need the
host's state (does the NIC exist, is it used) live in ``validation.py``.

The config (running or safe) is the same dataclasses keyed by name;
``Network.to_attrs`` gives back upstream's canonical attrs, which is
what persistence stores (``Config.to_attrs``/``from_attrs``).

Why the request's parser lives here and not in ``vdsm.api``: its
network and bond attrs (``defaultRoute``, ``bootproto`` ...) are also
the on-disk format of the persisted config, read back by the same
functions; and the ``before_network_setup`` hook must see, and may
rewrite, the request as sent before it is parsed, under the
configurator's setup lock. Only ``options`` (``connectivityCheck`` ...)
and the ``remove``/``blockingdhcp`` flags are request-only.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from vdsm.network import errors
from vdsm.supervdsm.netchanges import (BOND_MODES, BOND_OPTIONS, MAX_MTU,
                                       MIN_MTU)

DEFAULT_MTU = 1500
MAX_VLAN = 4094
DEFAULT_CONNECTIVITY_TIMEOUT = 4

# A Linux interface name: 1-15 chars, no '/', ':', whitespace, not . or ..
# and, though Linux allows it, never a leading '-': names reach command
# lines (dhclient takes "-d" as an option, and has no "--").
_IFNAME = re.compile(r"^(?!\.{1,2}$)(?!-)[A-Za-z0-9_.\-]{1,15}$")
_BOND_NAME = re.compile(r"^bond[A-Za-z0-9_]{1,11}$")

# Attributes upstream clients send that have no effect here; accepted so
# existing managers keep working, and dropped.
_IGNORED_NET_ATTRS = {"custom", "hostQos", "qos"}
_NET_ATTRS = {
    "nic", "bonding", "vlan", "bridged", "mtu", "bootproto", "ipaddr",
    "netmask", "prefix", "gateway", "defaultRoute", "nameservers",
    "ipv6addr", "ipv6gateway", "ipv6autoconf", "dhcpv6", "STP", "switch",
    "remove", "blockingdhcp",
} | _IGNORED_NET_ATTRS
_BOND_ATTRS = {"nics", "options", "switch", "remove", "hwaddr"}
_OPTIONS = {"connectivityCheck", "connectivityTimeout", "commitOnSuccess"}

# Bonding options we know how to pass to the kernel, with their checks.
_BOND_OPT_VALUE = re.compile(r"^[A-Za-z0-9_.:,\-]{1,64}$")


@dataclass(frozen=True)
class Network:
    name: str
    nic: str | None = None
    bonding: str | None = None
    vlan: int | None = None
    bridged: bool = True
    mtu: int = DEFAULT_MTU
    dhcpv4: bool = False
    ipv4: str | None = None          # "192.0.2.1/24"
    gateway: str | None = None
    ipv6: tuple[str, ...] = ()       # ("2001:db8::1/64",)
    ipv6gateway: str | None = None
    ipv6autoconf: bool = False
    dhcpv6: bool = False
    default_route: bool = False
    nameservers: tuple[str, ...] = ()
    stp: bool = False

    @property
    def base(self) -> str | None:
        """The NIC or bond under the network, if any."""
        return self.nic or self.bonding

    @property
    def vlan_device(self) -> str | None:
        if self.vlan is None or self.base is None:
            return None
        return f"{self.base}.{self.vlan}"

    @property
    def top(self) -> str | None:
        """The device the network sits on: the VLAN device or the base."""
        return self.vlan_device or self.base

    @property
    def iface(self) -> str | None:
        """The device carrying the network's addresses."""
        return self.name if self.bridged else self.top

    def to_attrs(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {"bridged": self.bridged, "mtu": self.mtu,
                                 "bootproto": "dhcp" if self.dhcpv4
                                 else "none",
                                 "defaultRoute": self.default_route,
                                 "switch": "legacy"}
        if self.nic:
            attrs["nic"] = self.nic
        if self.bonding:
            attrs["bonding"] = self.bonding
        if self.vlan is not None:
            attrs["vlan"] = self.vlan
        if self.ipv4:
            iface = ipaddress.ip_interface(self.ipv4)
            attrs["ipaddr"] = str(iface.ip)
            attrs["netmask"] = str(iface.netmask)
        if self.gateway:
            attrs["gateway"] = self.gateway
        if self.ipv6:
            attrs["ipv6addr"] = list(self.ipv6)
        if self.ipv6gateway:
            attrs["ipv6gateway"] = self.ipv6gateway
        attrs["ipv6autoconf"] = self.ipv6autoconf
        attrs["dhcpv6"] = self.dhcpv6
        if self.nameservers:
            attrs["nameservers"] = list(self.nameservers)
        if self.bridged:
            attrs["STP"] = "yes" if self.stp else "no"
        return attrs


@dataclass(frozen=True)
class Bond:
    name: str
    nics: tuple[str, ...]
    options: tuple[tuple[str, str], ...] = (("mode", "0"), ("miimon", "100"))

    @property
    def options_dict(self) -> dict[str, str]:
        return dict(self.options)

    def to_attrs(self) -> dict[str, Any]:
        return {"nics": list(self.nics), "switch": "legacy",
                "options": " ".join(f"{k}={v}" for k, v in self.options)}


@dataclass(frozen=True)
class Options:
    connectivity_check: bool = False
    connectivity_timeout: int = DEFAULT_CONNECTIVITY_TIMEOUT
    commit_on_success: bool = False


@dataclass(frozen=True)
class Request:
    networks: dict[str, Network] = field(default_factory=dict)
    bonds: dict[str, Bond] = field(default_factory=dict)
    remove_networks: frozenset[str] = frozenset()
    remove_bonds: frozenset[str] = frozenset()
    options: Options = Options()
    # DHCP networks whose lease the call waits for (blockingdhcp); a
    # property of this call, not of the network's config.
    blocking_dhcp: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Config:
    """A whole network config: the running one or the safe one."""
    networks: dict[str, Network] = field(default_factory=dict)
    bonds: dict[str, Bond] = field(default_factory=dict)

    def apply(self, request: Request) -> Config:
        """The config after the request is applied."""
        nets = {n: v for n, v in self.networks.items()
                if n not in request.remove_networks}
        nets.update(request.networks)
        bonds = {n: v for n, v in self.bonds.items()
                 if n not in request.remove_bonds}
        bonds.update(request.bonds)
        return Config(nets, bonds)

    def to_attrs(self) -> dict[str, Any]:
        return {"networks": {n: v.to_attrs()
                             for n, v in sorted(self.networks.items())},
                "bondings": {n: v.to_attrs()
                             for n, v in sorted(self.bonds.items())}}

    @classmethod
    def from_attrs(cls, data: dict[str, Any]) -> Config:
        request = parse_request(data.get("networks") or {},
                                data.get("bondings") or {}, {})
        return cls(dict(request.networks), dict(request.bonds))


# Parsing.

def parse_request(networks: Any, bondings: Any, options: Any) -> Request:
    """Check every field of a request on its own; raise on the first bad."""
    _expect_map(networks, "networks")
    _expect_map(bondings, "bondings")
    _expect_map(options, "options")
    nets: dict[str, Network] = {}
    remove_nets: set[str] = set()
    blocking: set[str] = set()
    for name, attrs in networks.items():
        path = f"networks.{name}"
        _check_name(name, path, errors.BadBridge)
        _expect_map(attrs, path)
        if _flag(attrs, "remove", path):
            remove_nets.add(name)
        else:
            nets[name] = parse_network(name, attrs, path)
            if _flag(attrs, "blockingdhcp", path) and (
                    nets[name].dhcpv4 or nets[name].dhcpv6):
                blocking.add(name)
    bonds: dict[str, Bond] = {}
    remove_bonds: set[str] = set()
    for name, attrs in bondings.items():
        path = f"bondings.{name}"
        if not isinstance(name, str) or not _BOND_NAME.match(name):
            raise errors.BadBonding("bond name must be 'bond' followed by "
                                    "up to 11 letters or digits", field=path)
        _expect_map(attrs, path)
        if _flag(attrs, "remove", path):
            remove_bonds.add(name)
        else:
            bonds[name] = parse_bond(name, attrs, path)
    return Request(nets, bonds, frozenset(remove_nets),
                   frozenset(remove_bonds), parse_options(options),
                   frozenset(blocking))


def parse_network(name: str, attrs: dict[str, Any], path: str) -> Network:
    _check_known(attrs, _NET_ATTRS, path)
    _check_switch(attrs, path)
    nic = _ifname(attrs, "nic", path, errors.BadNic)
    bonding = attrs.get("bonding")
    if bonding is not None and (not isinstance(bonding, str)
                                or not _BOND_NAME.match(bonding)):
        raise errors.BadBonding("not a bond name", field=f"{path}.bonding")
    if nic and bonding:
        raise errors.BadParams("give nic or bonding, not both",
                               field=f"{path}.nic")
    vlan = _int(attrs, "vlan", path, 0, MAX_VLAN, errors.BadVlan)
    if vlan is not None and not (nic or bonding):
        raise errors.BadVlan("a VLAN needs a nic or a bonding",
                             field=f"{path}.vlan")
    if vlan is not None and len(f"{nic or bonding}.{vlan}") > 15:
        raise errors.BadVlan("VLAN device name longer than 15 chars",
                             field=f"{path}.vlan")
    bridged = _bool(attrs, "bridged", path, True)
    if not bridged and not (nic or bonding):
        raise errors.BadParams("a bridgeless network needs a nic or a "
                               "bonding", field=f"{path}.bridged")
    bootproto = attrs.get("bootproto", "none") or "none"
    if bootproto not in ("none", "dhcp", "static"):
        raise errors.BadParams("bootproto must be none or dhcp",
                               field=f"{path}.bootproto")
    ipv4 = _ipv4(attrs, path)
    if ipv4 and bootproto == "dhcp":
        raise errors.BadAddr("static ipaddr with bootproto dhcp",
                             field=f"{path}.ipaddr")
    gateway = _address(attrs, "gateway", path, 4)
    if gateway and not ipv4:
        raise errors.BadAddr("gateway without ipaddr",
                             field=f"{path}.gateway")
    ipv6 = _ipv6_list(attrs, path)
    return Network(
        name=name, nic=nic, bonding=bonding, vlan=vlan, bridged=bridged,
        mtu=_int(attrs, "mtu", path, MIN_MTU, MAX_MTU, errors.BadParams)
        or DEFAULT_MTU,
        dhcpv4=bootproto == "dhcp", ipv4=ipv4, gateway=gateway,
        ipv6=ipv6, ipv6gateway=_address(attrs, "ipv6gateway", path, 6),
        ipv6autoconf=_bool(attrs, "ipv6autoconf", path, False),
        dhcpv6=_bool(attrs, "dhcpv6", path, False),
        default_route=_bool(attrs, "defaultRoute", path, False),
        nameservers=_nameservers(attrs, path),
        stp=_bool(attrs, "STP", path, False))


def parse_bond(name: str, attrs: dict[str, Any], path: str) -> Bond:
    _check_known(attrs, _BOND_ATTRS, path)
    _check_switch(attrs, path)
    nics = attrs.get("nics")
    if not isinstance(nics, list) or not nics:
        raise errors.BadBonding("nics must be a non-empty list",
                                field=f"{path}.nics")
    for i, nic in enumerate(nics):
        if not isinstance(nic, str) or not _IFNAME.match(nic):
            raise errors.BadNic("not an interface name",
                                field=f"{path}.nics[{i}]")
    if len(set(nics)) != len(nics):
        raise errors.BadBonding("a nic is listed twice", field=f"{path}.nics")
    return Bond(name, tuple(nics),
                parse_bond_options(attrs.get("options"), f"{path}.options"))


def parse_bond_options(text: Any, path: str) -> tuple[tuple[str, str], ...]:
    if text is None or text == "":
        return (("mode", "0"), ("miimon", "100"))
    if not isinstance(text, str):
        raise errors.BadBonding("options must be a string", field=path)
    opts: dict[str, str] = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if not sep or key not in BOND_OPTIONS:
            raise errors.BadBonding(f"unknown bonding option {word!r}",
                                    field=path)
        if not _BOND_OPT_VALUE.match(value):
            raise errors.BadBonding(f"bad value for {key}", field=path)
        opts[key] = value
    mode = opts.get("mode", "0")
    if mode not in BOND_MODES:
        by_name = {v: k for k, v in BOND_MODES.items()}
        if mode not in by_name:
            raise errors.BadBonding(f"unknown bonding mode {mode!r}",
                                    field=path)
        mode = by_name[mode]
    opts["mode"] = mode
    opts.setdefault("miimon", "100")
    ordered = [("mode", opts.pop("mode"))] + sorted(opts.items())
    return tuple(ordered)


def parse_options(options: dict[str, Any]) -> Options:
    _check_known(options, _OPTIONS, "options")
    timeout = _int(options, "connectivityTimeout", "options", 0, 3600,
                   errors.BadParams)
    return Options(
        connectivity_check=_bool(options, "connectivityCheck", "options",
                                 False),
        connectivity_timeout=DEFAULT_CONNECTIVITY_TIMEOUT
        if timeout is None else timeout,
        commit_on_success=_bool(options, "commitOnSuccess", "options", False))


# Field helpers: each raises with the path of the field.

def _expect_map(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise errors.BadParams("expected an object", field=path)


def _check_name(name: Any, path: str, error: type) -> None:
    if not isinstance(name, str) or not _IFNAME.match(name):
        raise error("name must be 1-15 letters, digits, '_', '-' or '.', "
                    "not starting with '-'", field=path)


def _check_known(attrs: dict[str, Any], known: set[str], path: str) -> None:
    for key in attrs:
        if key not in known:
            raise errors.BadParams("unknown attribute", field=f"{path}.{key}")


def _check_switch(attrs: dict[str, Any], path: str) -> None:
    if attrs.get("switch", "legacy") != "legacy":
        raise errors.BadParams("only switch type legacy is supported",
                               field=f"{path}.switch")


def _flag(attrs: dict[str, Any], key: str, path: str) -> bool:
    return _bool(attrs, key, path, False)


def _bool(attrs: dict[str, Any], key: str, path: str, default: bool) -> bool:
    value = attrs.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    # Upstream clients send some flags as strings.
    if isinstance(value, str) and value.lower() in ("true", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "no", "off"):
        return False
    raise errors.BadParams("expected a boolean", field=f"{path}.{key}")


def _int(attrs: dict[str, Any], key: str, path: str, low: int, high: int,
         error: type) -> int | None:
    value = attrs.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise error("expected an integer", field=f"{path}.{key}")
    if not low <= value <= high:
        raise error(f"must be between {low} and {high}",
                    field=f"{path}.{key}")
    return value


def _ifname(attrs: dict[str, Any], key: str, path: str,
            error: type) -> str | None:
    value = attrs.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _IFNAME.match(value):
        raise error("not an interface name", field=f"{path}.{key}")
    return value


def _address(attrs: dict[str, Any], key: str, path: str,
             version: int) -> str | None:
    value = attrs.get(key)
    if value is None or value == "":
        return None
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        addr = None
    if addr is None or addr.version != version:
        raise errors.BadAddr(f"not an IPv{version} address",
                             field=f"{path}.{key}")
    return str(addr)


def _ipv4(attrs: dict[str, Any], path: str) -> str | None:
    ip = _address(attrs, "ipaddr", path, 4)
    netmask = attrs.get("netmask")
    prefix = attrs.get("prefix")
    if ip is None:
        if netmask or prefix:
            raise errors.BadAddr("netmask without ipaddr",
                                 field=f"{path}.netmask")
        return None
    if netmask and prefix not in (None, ""):
        raise errors.BadAddr("give netmask or prefix, not both",
                             field=f"{path}.prefix")
    if prefix not in (None, ""):
        bits = _int(attrs, "prefix", path, 1, 32, errors.BadAddr)
        mask = str(bits)
    elif netmask:
        if not isinstance(netmask, str):
            raise errors.BadAddr("not a netmask", field=f"{path}.netmask")
        mask = netmask
    else:
        raise errors.BadAddr("ipaddr needs a netmask or prefix",
                             field=f"{path}.netmask")
    try:
        iface = ipaddress.IPv4Interface(f"{ip}/{mask}")
    except ValueError:
        raise errors.BadAddr("not a netmask", field=f"{path}.netmask")
    if iface.network.prefixlen == 0:
        raise errors.BadAddr("netmask 0.0.0.0", field=f"{path}.netmask")
    if iface.ip in (iface.network.network_address,
                    iface.network.broadcast_address) and \
            iface.network.prefixlen < 31:
        raise errors.BadAddr("network or broadcast address",
                             field=f"{path}.ipaddr")
    return iface.with_prefixlen


def _ipv6_list(attrs: dict[str, Any], path: str) -> tuple[str, ...]:
    value = attrs.get("ipv6addr")
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        field_path = f"{path}.ipv6addr" + (f"[{i}]" if isinstance(value, list)
                                           else "")
        try:
            if not isinstance(item, str) or "/" not in item:
                raise ValueError(item)
            iface = ipaddress.IPv6Interface(item)
        except ValueError:
            raise errors.BadAddr("not an IPv6 address/prefix",
                                 field=field_path)
        if iface.ip.is_link_local or iface.ip.is_multicast:
            raise errors.BadAddr("link-local or multicast address",
                                 field=field_path)
        out.append(iface.with_prefixlen)
    return tuple(out)


def _nameservers(attrs: dict[str, Any], path: str) -> tuple[str, ...]:
    value = attrs.get("nameservers")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise errors.BadParams("expected a list", field=f"{path}.nameservers")
    out = []
    for i, item in enumerate(value):
        try:
            out.append(str(ipaddress.ip_address(item)))
        except (ValueError, TypeError):
            raise errors.BadAddr("not an IP address",
                                 field=f"{path}.nameservers[{i}]")
    return tuple(out)
