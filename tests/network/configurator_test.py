"""setupNetworks against a real namespace with veth NICs, as root.

The privileged functions are called in-process (``caller.in_process``,
through supervdsm's allowlist and argument checks); the same functions
run in supervdsmd in production.
"""

from __future__ import annotations

import threading
import time

import pytest

from fixtures.network import kernel_has
from vdsm.common.config import Config
from vdsm.network import errors
from vdsm.network.configurator import Configurator
from vdsm.network.persistence import Store
from vdsm.supervdsm import caller
from vdsm.supervdsm.api import network as privileged

pytestmark = pytest.mark.root

STATIC = {"ipaddr": "192.0.2.1", "netmask": "255.255.255.0"}


def test_add_bridged_network(configurator, netns, store):
    configurator.setup_networks(
        {"net1": {"nic": "eth0", "mtu": 9000, **STATIC,
                  "ipv6addr": "2001:db8::1/64"}}, {}, {})
    bridge = netns.link("net1")
    assert bridge["linkinfo"]["info_kind"] == "bridge"
    assert bridge["mtu"] == 9000
    assert netns.link("eth0")["master"] == "net1"
    assert netns.link("eth0")["mtu"] == 9000
    assert netns.addrs("net1") == {"192.0.2.1/24", "2001:db8::1/64"}
    assert "net1" in store.load_running().networks
    assert store.is_dirty()


def test_add_bridgeless_network(configurator, netns):
    configurator.setup_networks(
        {"net1": {"nic": "eth1", "bridged": False, **STATIC}}, {}, {})
    assert netns.link("net1") is None
    assert netns.addrs("eth1") == {"192.0.2.1/24"}


def test_edit_network(configurator, netns):
    configurator.setup_networks({"net1": {"nic": "eth0", **STATIC}}, {}, {})
    configurator.setup_networks(
        {"net1": {"nic": "eth1", "ipaddr": "198.51.100.7", "prefix": 25,
                  "mtu": 2000}}, {}, {})
    assert netns.link("eth0").get("master") is None
    assert netns.link("eth1")["master"] == "net1"
    assert netns.addrs("net1") == {"198.51.100.7/25"}
    assert netns.link("net1")["mtu"] == 2000
    assert netns.link("eth0")["mtu"] == 1500


def test_small_mtu(configurator, netns):
    configurator.setup_networks(
        {"net1": {"nic": "eth0", "mtu": 1400},
         "net2": {"nic": "eth1", "bridged": False, "mtu": 1300}}, {}, {})
    assert netns.link("net1")["mtu"] == 1400
    assert netns.link("eth0")["mtu"] == 1400
    assert netns.link("eth1")["mtu"] == 1300


def test_bridged_to_bridgeless(configurator, netns):
    configurator.setup_networks({"net1": {"nic": "eth0", **STATIC}}, {}, {})
    configurator.setup_networks(
        {"net1": {"nic": "eth0", "bridged": False, **STATIC}}, {}, {})
    assert netns.link("net1") is None
    assert netns.addrs("eth0") == {"192.0.2.1/24"}


def test_remove_networks(configurator, netns, store):
    before = netns.state_text()
    configurator.setup_networks(
        {"net1": {"nic": "eth0", **STATIC},
         "net2": {"nic": "eth1", "bridged": False, "ipaddr": "198.51.100.1",
                  "prefix": 24}}, {}, {})
    configurator.setup_networks({"net1": {"remove": True},
                                 "net2": {"remove": True}}, {}, {})
    assert netns.link("net1") is None
    assert netns.addrs("eth1") == set()
    assert store.load_running().networks == {}
    assert netns.state_text() == before


def test_remove_many_keeps_others(configurator, netns):
    # Batch deletion goes through a link group: links of other groups,
    # and ours that stay, are left alone.
    netns.batch(["link add name foreign type bridge",
                 "link set dev foreign group 1447297024"])
    nets = {f"n{i}": {"nic": f"eth{i}"} for i in range(3)}
    configurator.setup_networks(nets, {}, {})
    configurator.setup_networks({"n0": {"remove": True},
                                 "n1": {"remove": True}}, {}, {})
    assert netns.link("n0") is None and netns.link("n1") is None
    assert netns.link("n2") is not None
    assert netns.link("foreign") is not None
    assert netns.link("eth0").get("master") is None


def test_repeat_is_noop(configurator, netns):
    req = {"net1": {"nic": "eth0", **STATIC}}
    configurator.setup_networks(req, {}, {})
    text = netns.state_text()
    configurator.setup_networks(req, {}, {})
    assert netns.state_text() == text


def test_default_route_and_nameservers(configurator, netns):
    configurator.setup_networks(
        {"mgmt": {"nic": "eth0", **STATIC, "gateway": "192.0.2.254",
                  "defaultRoute": True, "nameservers": ["192.0.2.53"]}},
        {}, {})
    assert "default via 192.0.2.254 dev mgmt" in netns.ip("route")
    with open(f"/etc/netns/{netns.name}/resolv.conf") as f:
        assert "nameserver 192.0.2.53" in f.read()
    configurator.setup_networks({"mgmt": {"remove": True}}, {}, {})
    assert "default" not in netns.ip("route")


@pytest.mark.parametrize("networks, bondings, code", [
    ({"net1": {"nic": "nosuch0"}}, {}, 23),
    ({"net1": {"nic": "eth0"}, "net2": {"nic": "eth0"}}, {}, 24),
    ({"net1": {"nic": "eth0", "mtu": 1}}, {}, 21),
    ({"net1": {"nic": "eth0", "ipaddr": "192.0.2.1"}}, {}, 22),
    ({"net1": {"remove": True}}, {}, 27),
    ({"eth1": {"nic": "eth0"}}, {}, 27),
    ({"net1": {"bonding": "bond7"}}, {}, 25),
    ({}, {"bond0": {"nics": ["eth0", "nosuch"]}}, 23),
    ({"net1": {"nic": "eth0", "vlan": 5},
      "net2": {"nic": "eth0", "vlan": 5}}, {}, 26),
    ({"net1": {"nic": "eth0", **STATIC, "defaultRoute": True},
      "net2": {"nic": "eth1", "defaultRoute": True}}, {}, 21),
])
def test_invalid_request_changes_nothing(configurator, netns, store,
                                         networks, bondings, code):
    configurator.setup_networks({"keep": {"nic": "eth2", **STATIC}}, {}, {})
    before = netns.state_text()
    running = store.load_running()
    with pytest.raises(errors.ConfigNetworkError) as e:
        configurator.setup_networks(networks, bondings, {})
    assert e.value.code == code
    assert "field=" in str(e.value)
    assert netns.state_text() == before
    assert store.load_running() == running


def test_nic_used_by_foreign_bridge(configurator, netns):
    netns.batch(["link add name other type bridge",
                 "link set eth0 master other"])
    before = netns.state_text()
    with pytest.raises(errors.UsedNic):
        configurator.setup_networks({"net1": {"nic": "eth0"}}, {}, {})
    assert netns.state_text() == before


def test_rollback_without_confirmation(configurator, netns, store):
    configurator.setup_networks({"keep": {"nic": "eth2", **STATIC}}, {}, {})
    before = netns.state_text()
    with pytest.raises(errors.ConnectivityCheckFailed) as e:
        configurator.setup_networks(
            {"net1": {"nic": "eth0", "mtu": 4000,
                      "ipaddr": "198.51.100.1", "prefix": 24},
             "keep": {"remove": True}}, {},
            {"connectivityCheck": True, "connectivityTimeout": 1})
    assert e.value.code == 10
    assert netns.state_text() == before
    assert netns.addrs("keep") == {"192.0.2.1/24"}
    assert list(store.load_running().networks) == ["keep"]


def test_confirmed_connectivity(configurator, netns):
    done = threading.Event()

    def confirm():
        while not done.is_set():
            configurator.confirm_connectivity()
            time.sleep(0.05)

    t = threading.Thread(target=confirm)
    t.start()
    try:
        configurator.setup_networks(
            {"net1": {"nic": "eth0", **STATIC}}, {},
            {"connectivityCheck": "true", "connectivityTimeout": 10})
    finally:
        done.set()
        t.join()
    assert netns.link("net1") is not None


def test_rollback_after_failure_midway(configurator, netns, store):
    configurator.setup_networks({"keep": {"nic": "eth2", **STATIC}}, {}, {})
    before = netns.state_text()
    real = configurator.call
    seen = []

    def fail_in_the_middle(func, *args):
        if func is not privileged.apply_changes:
            return real(func, *args)
        changes, ns = args
        # The kernel refuses a change in the middle of the batch: the
        # changes before it ran and must be undone.
        seen.append(changes)
        if len(seen) == 1:
            half = len(changes) // 2
            changes = changes[:half] + [
                {"kind": "add_addr", "dev": "nosuchdev",
                 "cidr": "203.0.113.1/24"}] + changes[half:]
        return real(func, changes, ns)

    configurator.call = fail_in_the_middle
    with pytest.raises(errors.IfupFailed) as e:
        configurator.setup_networks(
            {"net1": {"nic": "eth0", "mtu": 3000, "ipaddr": "198.51.100.1",
                      "prefix": 24},
             "net2": {"nic": "eth1", "bridged": False,
                      "ipaddr": "198.51.100.2", "prefix": 24},
             "keep": {"remove": True}}, {}, {})
    assert e.value.code == 29
    assert len(seen) == 2 and len(seen[0]) > 4     # the batch, the rollback
    assert netns.state_text() == before
    assert list(store.load_running().networks) == ["keep"]


def test_busy(configurator, netns):
    entered = threading.Event()
    release = threading.Event()
    real = configurator.call

    def slow(func, *args):
        if func is privileged.apply_changes:
            entered.set()
            release.wait(10)
        return real(func, *args)

    configurator.call = slow
    t = threading.Thread(target=configurator.setup_networks,
                         args=({"net1": {"nic": "eth0"}}, {}, {}))
    t.start()
    try:
        assert entered.wait(10)
        with pytest.raises(errors.SetupInProgress) as e:
            configurator.setup_networks({"net2": {"nic": "eth1"}}, {}, {})
        assert e.value.code == 40
    finally:
        release.set()
        t.join()
    assert netns.link("net1") is not None


def test_safe_config_and_restore(netns, store, configurator):
    configurator.setup_networks(
        {"net1": {"nic": "eth0", **STATIC, "mtu": 2000},
         "net2": {"nic": "eth1", "bridged": False, "ipaddr": "198.51.100.1",
                  "prefix": 24}}, {}, {})
    configurator.set_safe_config()
    assert not store.is_dirty()
    configurator.setup_networks(
        {"net3": {"nic": "eth2", "ipaddr": "203.0.113.1", "prefix": 24},
         "net2": {"remove": True}}, {}, {})
    assert store.is_dirty()
    # "Reboot": virtual links gone, NICs bare and down.
    netns.batch(["link del net1", "link del net3", "addr flush dev eth1",
                 "link set eth0 down", "link set eth0 mtu 1500",
                 "link set eth1 down"])
    fresh = Configurator(Store(store.path), caller.in_process(Config()),
                         netns.name)
    fresh.restore(store.load_safe())
    assert netns.link("net1")["mtu"] == 2000
    assert netns.link("eth0")["master"] == "net1"
    assert netns.addrs("net1") == {"192.0.2.1/24"}
    assert netns.addrs("eth1") == {"198.51.100.1/24"}
    assert netns.link("net3") is None
    assert not store.is_dirty()


def test_vlan_network(configurator, netns):
    if not kernel_has("vlan"):
        pytest.skip("no 8021q (VLAN) support in this kernel")
    configurator.setup_networks(
        {"net1": {"nic": "eth0", "vlan": 10, "mtu": 9000, **STATIC},
         "net2": {"nic": "eth0", "vlan": 11, "bridged": False}}, {}, {})
    assert netns.link("eth0.10")["master"] == "net1"
    assert netns.link("eth0")["mtu"] == 9000
    assert netns.link("eth0.11")["mtu"] == 1500


def test_bond_network(configurator, netns):
    if not kernel_has("bond"):
        pytest.skip("no bonding support in this kernel")
    configurator.setup_networks(
        {"net1": {"bonding": "bond0", **STATIC}},
        {"bond0": {"nics": ["eth0", "eth1"],
                   "options": "mode=1 miimon=100"}}, {})
    assert netns.link("eth0")["master"] == "bond0"
    assert netns.link("bond0")["master"] == "net1"
