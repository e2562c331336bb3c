"""The privileged functions (lib/vdsm/supervdsm/api/network.py), called
in-process as root on a test namespace."""

from __future__ import annotations

import pytest

from vdsm.supervdsm.api import network
from vdsm.supervdsm.netchanges import BadChange

pytestmark = pytest.mark.root


def test_bad_change_runs_nothing(netns):
    before = netns.state_text()
    with pytest.raises(BadChange):
        network.apply_changes([{"kind": "add_bridge", "name": "net1"},
                               {"kind": "del_link", "name": "x;y"}],
                              netns.name)
    assert netns.state_text() == before


def test_kernel_refusal_reports_the_line(netns):
    with pytest.raises(network.NetworkChangeFailed) as e:
        network.apply_changes([{"kind": "add_bridge", "name": "net1"},
                               {"kind": "del_link", "name": "nosuch"}],
                              netns.name)
    assert "after 1 of 2" in str(e.value)
    assert netns.link("net1") is not None


def test_small_functions(netns):
    network.add_bridge("br1", netns.name)
    network.set_link_mtu("br1", 1400, netns.name)
    network.add_address("br1", "192.0.2.3/24", netns.name)
    assert netns.link("br1")["mtu"] == 1400
    assert netns.addrs("br1") == {"192.0.2.3/24"}


def test_nameservers_in_namespace(netns):
    network.set_nameservers(["192.0.2.53", "2001:db8::53"], netns.name)
    with open(f"/etc/netns/{netns.name}/resolv.conf") as f:
        text = f.read()
    assert "nameserver 192.0.2.53\nnameserver 2001:db8::53\n" in text


def test_nameservers_refuses_garbage(netns):
    with pytest.raises(ValueError):
        network.set_nameservers(["192.0.2.53\nsearch evil"], netns.name)


def test_through_supervdsmd(netns, supervdsmd):
    proxy = supervdsmd.client()
    assert proxy.call("network.apply_changes",
                      [{"kind": "add_bridge", "name": "br1"},
                       {"kind": "set_link", "name": "br1", "up": True}],
                      netns.name) == 2
    assert netns.link("br1") is not None
    before = netns.state_text()
    with pytest.raises(Exception) as e:
        proxy.call("network.apply_changes",
                   [{"kind": "del_link", "name": "br1"},
                    {"kind": "run", "cmd": "reboot"}], netns.name)
    assert "unknown change kind" in str(e.value)
    with pytest.raises(Exception) as e:
        proxy.call("network.apply_changes", "link del br1", netns.name)
    assert getattr(e.value, "code", None) == 1000
    assert netns.state_text() == before
