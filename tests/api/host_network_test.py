"""Host network verbs end to end: a real vdsmd, a real namespace.

vdsmd runs as the test user (root) in the machine's namespace, serving
its API on 127.0.0.1, and manages a namespace made by the test
([network] netns): every change, reading and the netlink monitor work on
that namespace only, the machine's own interfaces are never touched.
Privileged changes go through a real supervdsmd (tests/fixtures/
supervdsm.py) over its socket, as in production. Tests that wait for
timeouts or events are ``slow``.
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from fixtures.hookscripts import py_script, script
from vdsm import client

pytestmark = pytest.mark.root

STATIC = {"ipaddr": "192.0.2.1", "netmask": "255.255.255.0"}


@pytest.fixture
def daemon(netns, supervdsmd, vdsmd_factory):
    return vdsmd_factory({"network": {"netns": netns.name,
                                      "privileged": "supervdsm",
                                      "stats_interval": "0.5",
                                      "monitor_settle": "0.3"},
                          "supervdsm": {"socket": supervdsmd.socket}})


@pytest.fixture
def cli(daemon):
    with daemon.client() as c:
        yield c


def test_add_report_remove(cli, netns, supervdsmd):
    result = cli.Host.setupNetworks(
        networks={"mgmt": {"nic": "eth0", **STATIC, "gateway": "192.0.2.254",
                           "defaultRoute": True, "mtu": 1400},
                  "data": {"nic": "eth1", "bridged": False,
                           "ipv6addr": "2001:db8::5/64"}},
        bondings={}, options={})
    assert result == {"code": 0, "message": "Done"}
    assert netns.link("mgmt")["linkinfo"]["info_kind"] == "bridge"
    assert "APPLY changes=" in supervdsmd.log()

    caps = cli.Host.getNetworkCapabilities()
    mgmt = caps["networks"]["mgmt"]
    assert mgmt["management"] is True and mgmt["bridged"] is True
    assert mgmt["ipv4addrs"] == ["192.0.2.1/24"]
    assert mgmt["gateway"] == "192.0.2.254" and mgmt["mtu"] == "1400"
    assert mgmt["ports"] == ["eth0"]
    assert caps["networks"]["data"]["ipv6addrs"] == ["2001:db8::5/64"]
    assert caps["bridges"]["mgmt"]["ports"] == ["eth0"]
    assert caps["nics"]["eth0"]["mtu"] == "1400"
    assert caps["netConfigDirty"] == "True"

    host_caps = cli.Host.getCapabilities()
    assert host_caps["networks"]["mgmt"] == mgmt
    assert host_caps["netConfigDirty"] == "True"
    assert cli.Host.getStats()["netConfigDirty"] == "True"

    assert cli.Host.setSafeNetworkConfig() is True
    assert cli.Host.getNetworkCapabilities()["netConfigDirty"] == "False"
    assert cli.Host.getStats()["netConfigDirty"] == "False"

    cli.Host.setupNetworks(networks={"mgmt": {"remove": True},
                                     "data": {"remove": True}})
    assert netns.link("mgmt") is None
    assert cli.Host.getNetworkCapabilities()["networks"] == {}


def test_gateway_without_default_route(cli, netns, supervdsmd):
    # Source routing through supervdsmd: the network's own table and
    # rules, IPv4 and IPv6, reported gateway; all gone on removal.
    from vdsm.network import sourceroute
    cli.Host.setupNetworks(networks={"data": {
        "nic": "eth1", "bridged": False, "ipaddr": "198.51.100.1",
        "prefix": 24, "gateway": "198.51.100.254",
        "ipv6addr": "2001:db8::5/64", "ipv6gateway": "2001:db8::fe"}})
    table = sourceroute.table_for("eth1")
    for family, subnet in (("-4", "198.51.100.0/24"),
                           ("-6", "2001:db8::/64")):
        text = netns.ip(family, "rule")
        assert f"from {subnet} lookup {table}" in text
        assert f"to {subnet} lookup {table}" in text
    assert "via 198.51.100.254 dev eth1" in netns.ip(
        "route", "get", "203.0.113.5", "from", "198.51.100.1")
    assert "default" not in netns.ip("route")
    data = cli.Host.getNetworkCapabilities()["networks"]["data"]
    assert data["gateway"] == "198.51.100.254"
    assert data["ipv6gateway"] == "2001:db8::fe"
    assert data["ipv4defaultroute"] is False
    cli.Host.setupNetworks(networks={"data": {"remove": True}})
    for family in ("-4", "-6"):
        assert str(table) not in netns.ip(family, "rule")
        assert netns.ip(family, "route", "show", "table", str(table)) == ""


def test_kernel_refusal_rolls_back(cli, netns):
    # A gateway outside the network's subnet passes validation; the kernel
    # refuses the route, the last change of the batch: every change before
    # it (bridges, ports, addresses) is rolled back.
    cli.Host.setupNetworks(networks={"keep": {"nic": "eth2", **STATIC}})
    before = netns.state_text()
    with pytest.raises(client.ServerError) as e:
        cli.Host.setupNetworks(networks={
            "net1": {"nic": "eth0", "ipaddr": "198.51.100.1", "prefix": 24,
                     "mtu": 2000},
            "net2": {"nic": "eth1", "ipaddr": "203.0.113.1", "prefix": 24,
                     "gateway": "10.20.30.40", "defaultRoute": True},
            "keep": {"remove": True}})
    assert e.value.code == 29
    assert netns.state_text() == before
    assert list(cli.Host.getNetworkCapabilities()["networks"]) == ["keep"]


def test_invalid_request(cli, netns):
    before = netns.state_text()
    with pytest.raises(client.ServerError) as e:
        cli.Host.setupNetworks(networks={"n": {"nic": "nosuch0"}})
    assert e.value.code == 23
    assert "networks.n.nic" in str(e.value)
    with pytest.raises(client.ServerError) as e:
        cli.Host.setupNetworks(networks={"n": {"nic": "eth0", "mtu": "x"}})
    assert e.value.code == 21
    assert netns.state_text() == before


@pytest.mark.slow
def test_connectivity_confirmed(daemon, cli, netns):
    stop = threading.Event()

    def confirm():
        with daemon.client() as other:
            while not stop.is_set():
                other.Host.confirmConnectivity()
                time.sleep(0.1)

    t = threading.Thread(target=confirm)
    t.start()
    try:
        cli.Host.setupNetworks(
            networks={"net1": {"nic": "eth0", **STATIC}},
            options={"connectivityCheck": True, "connectivityTimeout": 10})
    finally:
        stop.set()
        t.join()
    assert netns.link("net1") is not None


@pytest.mark.slow
def test_connectivity_rollback(cli, netns):
    before = netns.state_text()
    with pytest.raises(client.ServerError) as e:
        cli.Host.setupNetworks(
            networks={"net1": {"nic": "eth0", **STATIC}},
            options={"connectivityCheck": True, "connectivityTimeout": 1})
    assert e.value.code == 10
    assert netns.state_text() == before
    assert cli.Host.getNetworkCapabilities()["networks"] == {}


@pytest.mark.slow
def test_statistics(cli, netns):
    deadline = time.monotonic() + 10
    while True:
        stats = cli.Host.getNetworkStatistics()["network"]
        if "eth0" in stats or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    eth0 = stats["eth0"]
    assert eth0["state"] == "up"
    assert int(eth0["rx"]) >= 0 and float(eth0["rxRate"]) >= 0
    assert "lo" not in stats


@pytest.mark.slow
def test_event_on_outside_change(cli, netns):
    sub = cli.subscribe()
    time.sleep(0.5)
    netns.ip("link", "add", "name", "outside0", "type", "bridge")
    deadline = time.monotonic() + 10
    while True:
        method, params = sub.get(timeout=max(0.1, deadline -
                                             time.monotonic()))
        if method == "|net|host_conn|no_id":
            break
    assert "notify_time" in params


@pytest.mark.slow
def test_no_event_for_setup_networks(cli, netns):
    sub = cli.subscribe()
    time.sleep(0.5)
    cli.Host.setupNetworks(networks={"net1": {"nic": "eth0", **STATIC}})
    with pytest.raises(client.TimeoutError):
        while True:
            method, _ = sub.get(timeout=1.5)
            if method == "|net|host_conn|no_id":
                break


@pytest.fixture
def hooked(netns, make_supervdsmd, vdsmd_factory, tmp_path):
    """vdsmd and supervdsmd sharing a hooks dir (as on a host)."""
    hooks_dir = tmp_path / "hooks"
    hooks_dir.mkdir()
    svdsm = make_supervdsmd({"vars": {"hooks_dir": str(hooks_dir)}})
    daemon = vdsmd_factory({
        "vars": {"hooks_dir": str(hooks_dir)},
        "network": {"netns": netns.name, "privileged": "supervdsm",
                    "stats_interval": "0.5", "monitor_settle": "0.3"},
        "supervdsm": {"socket": svdsm.socket}})
    with daemon.client() as c:
        yield c, hooks_dir


def test_network_hooks_rewrite_and_follow(hooked, netns, tmp_path):
    cli, hooks_dir = hooked
    seen = tmp_path / "seen.json"
    # Run as root by supervdsmd: the request can be rewritten.
    py_script(hooks_dir, "before_network_setup", "10_mtu",
              'data["request"]["networks"]["n1"]["mtu"] = 1300')
    py_script(hooks_dir, "after_network_setup", "10_record",
              f'json.dump([os.getuid(), os.environ["VDSM_NETNS"], data], '
              f'open("{seen}", "w"))')
    cli.Host.setupNetworks(networks={"n1": {"nic": "eth0", **STATIC}})
    assert netns.link("n1")["mtu"] == 1300
    uid, ns, data = json.loads(seen.read_text())
    assert (uid, ns) == (0, netns.name)
    assert data["request"]["networks"]["n1"]["mtu"] == 1300


def test_failing_before_hook_changes_nothing(hooked, netns, tmp_path):
    cli, hooks_dir = hooked
    failed = tmp_path / "failed"
    script(hooks_dir, "before_network_setup", "10", "echo nope >&2\nexit 1\n")
    script(hooks_dir, "after_network_setup_fail", "10", f"touch {failed}\n")
    before = netns.state_text()
    with pytest.raises(client.ServerError) as e:
        cli.Host.setupNetworks(networks={"n1": {"nic": "eth0", **STATIC}})
    assert e.value.code == 78 and "nope" in str(e.value)
    assert netns.state_text() == before
    assert not failed.exists()


def test_failed_setup_runs_fail_hook(hooked, netns, tmp_path):
    cli, hooks_dir = hooked
    failed = tmp_path / "failed"
    script(hooks_dir, "after_network_setup_fail", "10", f"touch {failed}\n")
    with pytest.raises(client.ServerError) as e:
        cli.Host.setupNetworks(networks={"n1": {
            "nic": "eth1", "ipaddr": "203.0.113.1", "prefix": 24,
            "gateway": "10.20.30.40", "defaultRoute": True}})
    assert e.value.code == 29
    assert failed.exists()


def test_hook_others_may_write_is_refused(hooked, netns, tmp_path):
    cli, hooks_dir = hooked
    ran = tmp_path / "ran"
    path = script(hooks_dir, "before_network_setup", "10", f"touch {ran}\n")
    os.chown(path, 65534, 65534)  # nobody: supervdsmd must not run it
    before = netns.state_text()
    with pytest.raises(client.ServerError) as e:
        cli.Host.setupNetworks(networks={"n1": {"nic": "eth0", **STATIC}})
    assert e.value.code == 78 and "refused" in str(e.value)
    assert not ran.exists()
    assert netns.state_text() == before
