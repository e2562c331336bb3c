from __future__ import annotations

import ipaddress
import json
import os
import random
import subprocess
import uuid

import pytest

from vdsm.host import addresses

IP_ADDR = json.dumps([
    {"ifname": "lo", "addr_info": [
        {"family": "inet", "local": "127.0.0.1"},
        {"family": "inet6", "local": "::1"}]},
    {"ifname": "eth0", "addr_info": [
        {"family": "inet", "local": "192.0.2.10"},
        {"family": "inet", "local": "192.0.2.11"},
        {"family": "inet6", "local": "fe80::1"}]},
    {"ifname": "ovirtmgmt", "addr_info": [
        {"family": "inet6", "local": "2001:db8::5"}]},
    {"ifname": "down0"},
])


@pytest.mark.parametrize("address,expected", [
    ("::ffff:192.0.2.10", "192.0.2.10"),
    ("fe80::1%eth0", "fe80::1"),
    ("2001:DB8::5", "2001:db8::5"),
])
def test_normalize(address, expected):
    assert str(addresses.normalize(address)) == expected


def test_parse_ip_addr():
    owners = addresses.parse_ip_addr(IP_ADDR)
    assert owners["192.0.2.11"] == "eth0"
    assert owners["2001:db8::5"] == "ovirtmgmt"


@pytest.mark.parametrize("address,device", [
    ("192.0.2.11", "eth0"),             # a secondary address
    ("::ffff:192.0.2.10", "eth0"),      # dual-stack listener
    ("fe80::1%eth0", "eth0"),
    ("2001:db8::5", "ovirtmgmt"),
    ("127.0.0.5", "lo"),
    ("::1", "lo"),
    ("198.51.100.1", ""),               # owned by nobody
    ("not an address", ""),
])
def test_device_of(address, device):
    owners = addresses.parse_ip_addr(IP_ADDR)
    assert addresses.device_of(address, owners) == device


def test_client_iface_without_connection():
    assert addresses.client_iface(None) == ""


def test_client_iface_loopback():
    assert addresses.client_iface(("127.0.0.1", 54321)) == "lo"
    assert addresses.client_iface(("::1", 54321, 0, 0)) == "lo"


def test_client_iface_real_addresses():
    out = subprocess.run(["ip", "-j", "addr", "show"], check=True,
                         capture_output=True, text=True).stdout
    for link in json.loads(out):
        for info in link.get("addr_info", []):
            ip = ipaddress.ip_address(info["local"])
            expected = "lo" if ip.is_loopback else link["ifname"]
            assert addresses.client_iface((info["local"], 1)) == expected


@pytest.fixture
def veth():
    """A veth pair with a test address on one end, removed after."""
    if os.geteuid() != 0:
        pytest.skip("creating a veth pair needs root")
    name = "vt" + uuid.uuid4().hex[:8]
    peer = name + "p"
    # A random /24 of the benchmarking range 198.18.0.0/15.
    net = f"198.18.{random.randrange(256)}"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer",
                    "name", peer], check=True)
    try:
        for host in (1, 5):
            subprocess.run(["ip", "addr", "add", f"{net}.{host}/30", "dev",
                            name], check=True)
        yield name, net
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)


@pytest.mark.root
def test_client_iface_on_veth(veth):
    name, net = veth
    assert addresses.client_iface((f"{net}.1", 54321)) == name
    # A second address on the device, seen through a dual-stack socket.
    assert addresses.client_iface((f"::ffff:{net}.5", 54321)) == name
