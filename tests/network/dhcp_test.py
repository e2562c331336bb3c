"""bootproto dhcp: a real dhclient on a vdsm network, served by a real
dnsmasq in a second namespace at the other end of the NIC's veth."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from fixtures.network import dnsmasq_peer
from vdsm.api import network_wire
from vdsm.network import caps, errors, netinfo
from vdsm.supervdsm.api import network as privileged

pytestmark = [pytest.mark.root, pytest.mark.slow]


def dhcp_peer(netns, tmp_path, family, address, options, why):
    """dnsmasq as a DHCP (family 4) or DHCPv6 (6) server beyond eth0;
    net1's client of that family is stopped at the end."""
    if not shutil.which("dhclient"):
        pytest.skip("no dhclient (isc-dhcp-client) on this machine")
    try:
        with dnsmasq_peer(netns, address, options, str(tmp_path),
                          why) as srv:
            yield srv
    finally:
        privileged.stop_dhcp("net1", netns.name, family)


@pytest.fixture
def dhcp_server(netns, tmp_path):
    yield from dhcp_peer(
        netns, tmp_path, 4, "192.0.2.254/24",
        ["--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,1h",
         "--dhcp-option=option:router,192.0.2.254"], "serve DHCP")


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def test_dhcp_network(configurator, netns, dhcp_server):
    configurator.setup_networks(
        {"net1": {"nic": "eth0", "bootproto": "dhcp", "defaultRoute": True}},
        {}, {})

    def leased():
        dev = netinfo.snapshot(netns.name).get("net1")
        return dev is not None and any(
            a.startswith("192.0.2.") for a in dev.dynamic_addrs)

    wait_for(leased)
    wait_for(lambda: "default via 192.0.2.254 dev net1" in
             netns.ip("route"))
    snap = netinfo.snapshot(netns.name)
    assert snap.get("net1").addrs == ()     # not a static address
    report = network_wire.capabilities(
        caps.capabilities(snap, configurator.running_config(), True, []))
    assert report["networks"]["net1"]["dhcpv4"] is True

    pidfile, _ = privileged._dhcp_files("net1", netns.name)
    pid = privileged._dhclient_pid(pidfile)
    assert pid is not None
    configurator.setup_networks({"net1": {"remove": True}}, {}, {})
    assert not os.path.exists(f"/proc/{pid}")
    assert netns.link("net1") is None


def test_blockingdhcp_returns_with_the_lease(configurator, netns,
                                             dhcp_server):
    configurator.setup_networks(
        {"net1": {"nic": "eth0", "bootproto": "dhcp",
                  "blockingdhcp": True}}, {}, {})
    # No waiting here: the call itself waited for the lease.
    dev = netinfo.snapshot(netns.name).get("net1")
    assert any(a.startswith("192.0.2.") for a in dev.dynamic_addrs)
    configurator.setup_networks({"net1": {"remove": True}}, {}, {})


def test_blockingdhcp_without_lease_rolls_back(configurator, netns):
    if not shutil.which("dhclient"):
        pytest.skip("no dhclient (isc-dhcp-client) on this machine")
    configurator.dhcp_timeout = 2
    before = netns.state_text()
    # Nobody answers DHCP at the other end of eth1.
    with pytest.raises(errors.IfupFailed, match="no DHCP lease on net2"):
        configurator.setup_networks(
            {"net2": {"nic": "eth1", "bootproto": "dhcp",
                      "blockingdhcp": "true"}}, {}, {})
    assert netns.state_text() == before
    pidfile, _ = privileged._dhcp_files("net2", netns.name)
    assert privileged._dhclient_pid(pidfile) is None
    assert "net2" not in configurator.running_config().networks


@pytest.fixture
def dhcp6_server(netns, tmp_path):
    """dnsmasq serving DHCPv6 (stateful addresses) on the far end of eth0."""
    yield from dhcp_peer(
        netns, tmp_path, 6, "2001:db8:6::fe/64",
        ["--dhcp-range=2001:db8:6::100,2001:db8:6::1ff,64,1h"],
        "serve DHCPv6")


def test_dhcpv6_network(configurator, netns, dhcp6_server):
    configurator.setup_networks(
        {"net1": {"nic": "eth0", "bootproto": "none", "dhcpv6": True,
                  "ipv6autoconf": False}}, {}, {})

    def leased():
        dev = netinfo.snapshot(netns.name).get("net1")
        return [a for a in (dev.dynamic_addrs if dev else ())
                if a.startswith("2001:db8:6::")]

    wait_for(leased)
    [addr] = leased()
    assert addr.endswith("/128")
    snap = netinfo.snapshot(netns.name)
    report = network_wire.capabilities(
        caps.capabilities(snap, configurator.running_config(), True, []))
    assert report["networks"]["net1"]["dhcpv6"] is True
    assert report["networks"]["net1"]["dhcpv4"] is False
    pidfile, leasefile = privileged._dhcp_files("net1", netns.name, 6)
    pid = privileged._dhclient_pid(pidfile)
    assert pid is not None
    assert addr.split("/")[0] in privileged._leased_ipv6(leasefile)

    # dhcpv6 off: its client stops and its address goes; the bridge stays.
    configurator.setup_networks(
        {"net1": {"nic": "eth0", "bootproto": "none",
                  "ipv6autoconf": False}}, {}, {})
    assert not os.path.exists(f"/proc/{pid}")
    dev = netinfo.snapshot(netns.name).get("net1")
    assert dev is not None and not [
        a for a in dev.dynamic_addrs if a.startswith("2001:db8:6::")]
    configurator.setup_networks({"net1": {"remove": True}}, {}, {})
    assert netns.link("net1") is None


def test_blockingdhcp_waits_for_the_dhcpv6_lease(configurator, netns,
                                                 dhcp6_server):
    configurator.setup_networks(
        {"net1": {"nic": "eth0", "bootproto": "none", "dhcpv6": True,
                  "ipv6autoconf": False, "blockingdhcp": True}}, {}, {})
    # No waiting here: the call itself waited for the /128 of the lease.
    dev = netinfo.snapshot(netns.name).get("net1")
    assert [a for a in dev.dynamic_addrs
            if a.startswith("2001:db8:6::") and a.endswith("/128")]
    configurator.setup_networks({"net1": {"remove": True}}, {}, {})


def test_blockingdhcp_without_dhcpv6_lease_rolls_back(configurator, netns):
    if not shutil.which("dhclient"):
        pytest.skip("no dhclient (isc-dhcp-client) on this machine")
    configurator.dhcp_timeout = 3
    before = netns.state_text()
    with pytest.raises(errors.IfupFailed,
                       match="no DHCPv6 lease on net2"):
        configurator.setup_networks(
            {"net2": {"nic": "eth1", "bootproto": "none", "dhcpv6": True,
                      "blockingdhcp": True}}, {}, {})
    assert netns.state_text() == before
    pidfile, _ = privileged._dhcp_files("net2", netns.name, 6)
    assert privileged._dhclient_pid(pidfile) is None
