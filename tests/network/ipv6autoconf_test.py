"""ipv6autoconf: router advertisements from a real dnsmasq (in a second
namespace, at the other end of the NIC's veth) configure a network's
address only when the network asks for it."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from fixtures.network import dnsmasq_peer

pytestmark = [pytest.mark.root, pytest.mark.slow]

PREFIX = "2001:db8:1:"


@pytest.fixture
def router(netns, tmp_path):
    with dnsmasq_peer(
            netns, "2001:db8:1::fe/64",
            ["--enable-ra", "--ra-param=eth0p,3",
             "--dhcp-range=2001:db8:1::,ra-only,64"],
            str(tmp_path), "send router adverts") as srv:
        yield srv


def global_addrs(netns, dev):
    out = json.loads(netns.ip("-j", "-6", "addr", "show", "dev", dev,
                              "scope", "global") or "[]")
    return [a["local"] for link in out for a in link.get("addr_info", [])
            if "local" in a]


def sysctl(netns, dev, name):
    return subprocess.run(
        ["ip", "netns", "exec", netns.name, "sysctl", "-n",
         f"net.ipv6.conf.{dev}.{name}"],
        capture_output=True, text=True, check=True).stdout.strip()


def test_autoconf_on_takes_the_advertised_prefix(configurator, netns,
                                                 router):
    configurator.setup_networks(
        {"net1": {"nic": "eth0", "ipv6autoconf": True}}, {}, {})
    assert sysctl(netns, "net1", "autoconf") == "1"
    deadline = time.monotonic() + 30
    while not any(a.startswith(PREFIX) for a in global_addrs(netns, "net1")):
        assert time.monotonic() < deadline, "no autoconf address"
        time.sleep(0.2)
    caps = configurator.running_config().networks["net1"]
    assert caps.ipv6autoconf is True


def test_autoconf_off_ignores_adverts(configurator, netns, router):
    configurator.setup_networks(
        {"net1": {"nic": "eth0", "ipv6addr": "2001:db8:1::5/64"}}, {}, {})
    assert sysctl(netns, "net1", "autoconf") == "0"
    assert sysctl(netns, "net1", "accept_ra") == "0"
    # Adverts come every 3 s (--ra-param): give them two rounds.
    time.sleep(7)
    assert global_addrs(netns, "net1") == ["2001:db8:1::5"]
    # Turned on later: the prefix comes.
    configurator.setup_networks(
        {"net1": {"nic": "eth0", "ipv6addr": "2001:db8:1::5/64",
                  "ipv6autoconf": True}}, {}, {})
    deadline = time.monotonic() + 30
    while len(global_addrs(netns, "net1")) < 2:
        assert time.monotonic() < deadline, "no autoconf address"
        time.sleep(0.2)
