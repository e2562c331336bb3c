"""Parsing of setupNetworks requests: every bad field is named, with the
right code, and good requests become the canonical model."""

from __future__ import annotations

import pytest

from vdsm.network import errors
from vdsm.network.model import Config, parse_request


def parse(networks=None, bondings=None, options=None):
    return parse_request(networks or {}, bondings or {}, options or {})


def test_bridged_network_defaults():
    req = parse({"net1": {"nic": "eth0", "ipaddr": "192.0.2.1",
                          "netmask": "255.255.255.0"}})
    net = req.networks["net1"]
    assert net.bridged and net.mtu == 1500 and net.iface == "net1"
    assert net.ipv4 == "192.0.2.1/24"
    assert req.options.connectivity_timeout == 4


def test_bridgeless_vlan_network():
    req = parse({"n": {"nic": "eth0", "vlan": "10", "bridged": False,
                       "prefix": "24", "ipaddr": "192.0.2.1"}})
    net = req.networks["n"]
    assert net.vlan == 10 and net.top == "eth0.10" and net.iface == "eth0.10"


def test_remove_and_bond():
    req = parse({"old": {"remove": True}},
                {"bond0": {"nics": ["eth0", "eth1"],
                           "options": "mode=802.3ad miimon=150"}})
    assert req.remove_networks == {"old"}
    assert req.bonds["bond0"].options == (("mode", "4"), ("miimon", "150"))


@pytest.mark.parametrize("networks, bondings, code, field", [
    ({"n": {"nic": "eth0", "mtu": 10}}, {}, 21, "networks.n.mtu"),
    ({"n": {"nic": "eth0", "mtu": "big"}}, {}, 21, "networks.n.mtu"),
    ({"n": {"nic": "eth0", "ipaddr": "300.1.1.1", "prefix": 24}}, {}, 22,
     "networks.n.ipaddr"),
    ({"n": {"nic": "eth0", "ipaddr": "10.0.0.1", "netmask": "255.0.255.0"}},
     {}, 22, "networks.n.netmask"),
    ({"n": {"nic": "eth0", "ipv6addr": "2001:db8::1"}}, {}, 22,
     "networks.n.ipv6addr"),
    ({"n": {"nic": "eth0", "gateway": "10.0.0.1"}}, {}, 22,
     "networks.n.gateway"),
    ({"n": {"nic": "eth/0"}}, {}, 23, "networks.n.nic"),
    ({"n": {"nic": "eth0", "vlan": 5000}}, {}, 26, "networks.n.vlan"),
    ({"n": {"vlan": 5}}, {}, 26, "networks.n.vlan"),
    ({"a-very-long-network-name": {"nic": "eth0"}}, {}, 27,
     "networks.a-very-long-network-name"),
    ({"n": {"bonding": "eth0"}}, {}, 25, "networks.n.bonding"),
    ({}, {"bond0": {"nics": []}}, 25, "bondings.bond0.nics"),
    ({}, {"bond0": {"nics": ["eth0"], "options": "mode=9"}}, 25,
     "bondings.bond0.options"),
    ({}, {"bond0": {"nics": ["eth0"], "options": "rm=-rf"}}, 25,
     "bondings.bond0.options"),
    ({}, {"eth0": {"nics": ["eth1"]}}, 25, "bondings.eth0"),
    ({"n": {"nic": "eth0", "colour": "red"}}, {}, 21, "networks.n.colour"),
    ({"n": {"nic": "eth0", "bridged": "maybe"}}, {}, 21,
     "networks.n.bridged"),
    ({"n": {"nic": "eth0", "bonding": "bond0"}}, {}, 21, "networks.n.nic"),
    ({"n": {"nic": "eth0", "nameservers": ["x"]}}, {}, 22,
     "networks.n.nameservers[0]"),
    ({"n": "eth0"}, {}, 21, "networks.n"),
])
def test_bad_fields(networks, bondings, code, field):
    with pytest.raises(errors.ConfigNetworkError) as e:
        parse(networks, bondings)
    assert e.value.code == code
    assert e.value.fields["field"] == field
    assert field in str(e.value)


def test_bad_options():
    with pytest.raises(errors.BadParams) as e:
        parse(options={"connectivityTimeout": -1})
    assert e.value.fields["field"] == "options.connectivityTimeout"


def test_config_round_trip():
    req = parse({"net1": {"nic": "eth0", "vlan": 7, "mtu": 9000,
                          "ipaddr": "192.0.2.1", "netmask": "255.255.255.0",
                          "gateway": "192.0.2.254", "defaultRoute": True,
                          "ipv6addr": "2001:db8::1/64",
                          "nameservers": ["192.0.2.53"]}},
                {"bond0": {"nics": ["eth1", "eth2"],
                           "options": "mode=1 miimon=100"}})
    config = Config(dict(req.networks), dict(req.bonds))
    assert Config.from_attrs(config.to_attrs()) == config
