"""ipv6autoconf: router advertisements from a real dnsmasq (in a second
namespace, at the other end of the NIC's veth) configure a network's
address only when the network asks for it."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from fixtures.network import Namespace

pytestmark = [pytest.mark.root, pytest.mark.slow]

PREFIX = "2001:db8:1:"


@pytest.fixture
def router(netns, tmp_path):
    if not shutil.which("dnsmasq"):
        pytest.skip("no dnsmasq on this machine to send router adverts")
    srv = Namespace().create()
    proc = None
    try:
        netns.ip("link", "set", "eth0p", "netns", srv.name)
        srv.batch(["addr add 2001:db8:1::fe/64 dev eth0p nodad",
                   "link set eth0p up"])
        proc = subprocess.Popen(
            ["ip", "netns", "exec", srv.name, "dnsmasq",
             "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
             "--no-hosts", "--port=0", "--interface=eth0p",
             "--bind-interfaces", "--user=root", "--enable-ra",
             "--ra-param=eth0p,3", "--dhcp-range=2001:db8:1::,ra-only,64",
             f"--dhcp-leasefile={tmp_path}/leases", "--pid-file",
             f"--log-facility={tmp_path}/dnsmasq.log"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        yield srv
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        srv.delete()


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
