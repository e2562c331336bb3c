"""The privileged change vocabulary: good changes render to one ip line,
anything else is refused before anything runs."""

from __future__ import annotations

import pytest

from vdsm.supervdsm import netchanges as changes
from vdsm.supervdsm.netchanges import BadChange


@pytest.mark.parametrize("change, line", [
    ({"kind": "add_bridge", "name": "net1"},
     "link add name net1 type bridge stp_state 0"),
    ({"kind": "add_vlan", "name": "eth0.5", "link": "eth0", "vlan_id": 5},
     "link add link eth0 name eth0.5 type vlan id 5"),
    ({"kind": "add_bond", "name": "bond0",
      "options": [["mode", "4"], ["miimon", "100"]]},
     "link add name bond0 type bond mode 802.3ad miimon 100"),
    ({"kind": "set_link", "name": "eth0", "master": "", "mtu": 9000,
      "up": True}, "link set dev eth0 nomaster mtu 9000 up"),
    ({"kind": "set_group", "name": "net1", "group": 7},
     "link set dev net1 group 7"),
    ({"kind": "del_group", "group": 7}, "link del group 7"),
    ({"kind": "add_addr", "dev": "net1", "cidr": "2001:db8::1/64"},
     "addr add 2001:db8::1/64 dev net1"),
    ({"kind": "set_default_route", "gateway": "192.0.2.1", "dev": "net1"},
     "route replace 0.0.0.0/0 via 192.0.2.1 dev net1"),
    ({"kind": "del_default_route", "gateway": "2001:db8::fe",
      "dev": "net1"}, "route del ::/0 via 2001:db8::fe dev net1"),
])
def test_render(change, line):
    assert changes.render(change) == line


@pytest.mark.parametrize("change", [
    "link del eth0",
    {"kind": "exec", "name": "x"},
    {"kind": "add_bridge", "name": "br0 type dummy"},
    {"kind": "add_bridge", "name": "net1\nlink del eth0"},
    {"kind": "del_link", "name": "a" * 16},
    {"kind": "set_link", "name": "eth0", "mtu": "9000"},
    {"kind": "set_link", "name": "eth0", "mtu": 70000},
    {"kind": "set_link", "name": "eth0", "up": "yes"},
    {"kind": "set_link", "name": "eth0"},
    {"kind": "add_addr", "dev": "eth0", "cidr": 5},
    {"kind": "add_addr", "dev": "eth0", "cidr": "1.2.3.4/24 dev lo"},
    {"kind": "add_vlan", "name": "v", "link": "eth0", "vlan_id": 4095},
    {"kind": "add_bond", "name": "bond0", "options": [["mode", "x y"]]},
    {"kind": "add_bond", "name": "bond0", "options": [["evil", "1"]]},
    {"kind": "set_default_route", "gateway": "gw", "dev": "eth0"},
    {"kind": "del_group", "group": 0},
    {"kind": "set_group", "name": "eth0", "group": -1},
])
def test_refused(change):
    with pytest.raises(BadChange):
        changes.render(change)


@pytest.mark.parametrize("netns", ["../etc", "a b", "..", 5])
def test_bad_netns(netns):
    with pytest.raises(BadChange):
        changes.check_netns(netns)
