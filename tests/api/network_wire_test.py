"""The network's typed values as upstream's wire dicts (api/network_wire.py).

Made-up values, so every wire rule is pinned without a kernel: the
strings upstream sends for numbers, the "none" values ("" and "::"), and
the fields only some entries carry. tests/network/caps_test.py and
tests/api/host_network_test.py check the same mapping on real devices.
"""

from __future__ import annotations

from vdsm.api import network_wire
from vdsm.network.caps import (Addresses, Bond, Bridge, NetworkCapabilities,
                               NetworkInfo, Nic, Vlan)
from vdsm.network.stats import InterfaceStats

STATIC = Addresses(ipv4=("192.0.2.1/24", "192.0.2.9/32"),
                   ipv6=("2001:db8::1/64",), gateway="192.0.2.254",
                   ipv6gateway="2001:db8::fe", ipv4_default_route=True,
                   mtu=9000)


def test_addresses():
    assert network_wire.addresses(STATIC) == {
        "addr": "192.0.2.1", "netmask": "255.255.255.0",
        "ipv4addrs": ["192.0.2.1/24", "192.0.2.9/32"],
        "ipv6addrs": ["2001:db8::1/64"], "gateway": "192.0.2.254",
        "ipv6gateway": "2001:db8::fe", "ipv4defaultroute": True,
        "mtu": "9000", "dhcpv4": False, "dhcpv6": False,
        "ipv6autoconf": False}


def test_no_addresses():
    wire = network_wire.addresses(Addresses(dhcpv4=True, ipv6autoconf=True))
    assert wire["addr"] == "" and wire["netmask"] == ""
    assert wire["gateway"] == "" and wire["ipv6gateway"] == "::"
    assert wire["ipv4addrs"] == [] and wire["mtu"] == "1500"
    assert wire["dhcpv4"] is True and wire["ipv6autoconf"] is True


def test_devices():
    nic = network_wire.nic(Nic(Addresses(), "02:00:00:00:00:01", 10000))
    assert (nic["hwaddr"], nic["speed"]) == ("02:00:00:00:00:01", 10000)
    bridge = network_wire.bridge(Bridge(Addresses(), ("eth0", "vnet0"),
                                        True))
    assert bridge["ports"] == ["eth0", "vnet0"] and bridge["stp"] == "on"
    assert bridge["opts"] == {}
    vlan = network_wire.vlan(Vlan(Addresses(), "eth0", 10))
    assert (vlan["iface"], vlan["vlanid"]) == ("eth0", 10)
    bond = network_wire.bond(Bond(Addresses(), ("eth1", "eth2"),
                                  (("mode", "4"), ("miimon", "100")),
                                  "02:00:00:00:00:02"))
    assert bond["slaves"] == ["eth1", "eth2"] and bond["active_slave"] == ""
    assert bond["opts"] == {"mode": "4", "miimon": "100"}


def test_networks():
    bridged = network_wire.network(NetworkInfo(
        STATIC, iface="mgmt", bridged=True, southbound="eth0.10",
        management=True, nameservers=("192.0.2.53",), vlan_id=10,
        ports=("eth0.10",), stp=False))
    assert bridged["iface"] == "mgmt" and bridged["switch"] == "legacy"
    assert bridged["southbound"] == "eth0.10" and bridged["vlanid"] == 10
    assert bridged["management"] is True and bridged["stp"] == "off"
    assert bridged["ports"] == ["eth0.10"]
    assert bridged["nameservers"] == ["192.0.2.53"]
    bare = network_wire.network(NetworkInfo(
        Addresses(), iface="eth1", bridged=False, southbound="eth1",
        management=False, nameservers=(), vlan_id=None, ports=(),
        stp=False))
    assert "vlanid" not in bare and "ports" not in bare
    assert "stp" not in bare and bare["bridged"] is False


def test_capabilities():
    caps = NetworkCapabilities({}, {}, {}, {}, {}, config_dirty=True,
                               nameservers=("192.0.2.53",),
                               supports_ipv6=True)
    assert network_wire.capabilities(caps) == {
        "nics": {}, "bridges": {}, "vlans": {}, "bondings": {},
        "networks": {}, "netConfigDirty": "True",
        "nameservers": ["192.0.2.53"], "supportsIPv6": True}
    assert network_wire.config_dirty(False) == "False"


def test_statistics():
    s = InterfaceStats("eth0", "up", 1000, 123, 456, 1, 2, 3, 4, 12.345,
                       0.0, 42.5)
    assert network_wire.statistics({"eth0": s}) == {"network": {"eth0": {
        "name": "eth0", "state": "up", "speed": "1000", "rx": "123",
        "tx": "456", "rxErrors": "1", "txErrors": "2", "rxDropped": "3",
        "txDropped": "4", "rxRate": "12.3", "txRate": "0.0",
        "sampleTime": 42.5}}}
