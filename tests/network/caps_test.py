"""Network capabilities and statistics of a real namespace."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vdsm.api import network_wire
from vdsm.network import caps, netinfo, stats

pytestmark = pytest.mark.root


def test_capabilities(configurator, netns):
    configurator.setup_networks(
        {"mgmt": {"nic": "eth0", "ipaddr": "192.0.2.1", "prefix": 24,
                  "gateway": "192.0.2.254", "defaultRoute": True,
                  "ipv6addr": "2001:db8::1/64", "mtu": 1400,
                  "nameservers": ["192.0.2.53"]},
         "data": {"nic": "eth1", "bridged": False, "ipaddr": "198.51.100.1",
                  "prefix": 25}}, {}, {})
    report = network_wire.capabilities(caps.capabilities(
        netinfo.snapshot(netns.name), configurator.running_config(), True,
        ["192.0.2.53"], netns.name))
    mgmt = report["networks"]["mgmt"]
    assert mgmt["management"] is True and mgmt["iface"] == "mgmt"
    assert mgmt["addr"] == "192.0.2.1" and mgmt["netmask"] == "255.255.255.0"
    assert mgmt["ipv6addrs"] == ["2001:db8::1/64"]
    assert mgmt["ipv4defaultroute"] is True and mgmt["southbound"] == "eth0"
    assert mgmt["nameservers"] == ["192.0.2.53"]
    data = report["networks"]["data"]
    assert data["management"] is False and data["bridged"] is False
    assert data["iface"] == "eth1" and data["netmask"] == "255.255.255.128"
    assert report["bridges"]["mgmt"]["ports"] == ["eth0"]
    assert report["nics"]["eth0"]["mtu"] == "1400"
    assert report["nics"]["eth1"]["ipv4addrs"] == ["198.51.100.1/25"]
    assert set(report["nics"]) >= {"eth0", "eth1", "eth2", "eth3"}
    assert "lo" not in report["nics"]
    assert report["netConfigDirty"] == "True"


def test_statistics_rates(netns):
    sampler = stats.Sampler(netns.name)
    sampler.sample()
    netns.ip("addr", "add", "192.0.2.1/24", "dev", "eth0")
    netns.ip("neigh", "add", "192.0.2.2", "lladdr", "02:00:00:00:00:02",
             "dev", "eth0")
    # 10 UDP datagrams of 1000 bytes out of eth0 (to a static neighbour).
    send = ("import socket; s = socket.socket(socket.AF_INET, "
            "socket.SOCK_DGRAM); [s.sendto(b'x' * 1000, ('192.0.2.2', 9)) "
            "for _ in range(10)]")
    subprocess.run(["ip", "netns", "exec", netns.name, sys.executable, "-c",
                    send], check=True)
    sampler.sample()
    eth0 = network_wire.statistics(sampler.statistics())["network"]["eth0"]
    assert int(eth0["tx"]) >= 3000
    first, last = sampler._first, sampler._last
    sent = int(eth0["tx"]) - first.links["eth0"]["tx"]["bytes"]
    assert sent >= 10000
    expected = sent * 8 / (last.time - first.time) / 1e9 * 100
    assert eth0["txRate"] == f"{expected:.1f}"
    assert eth0["state"] == "up" and eth0["speed"] == "1000"
