"""Option injection through names, and a dhclient that never returns.

A network named ``-d`` is a valid Linux interface name, but put last on
root's dhclient command line it is the "foreground" option: dhclient then
runs DHCP on every interface of the namespace, the management NIC
included. Names starting with '-' are refused with upstream's codes
before anything changes, in vdsmd (setupNetworks) and again in
supervdsmd. Everything runs in a namespace made by the test
(tests/fixtures/network.py), against a real vdsmd and supervdsmd.
"""

from __future__ import annotations

import os
import signal

import pytest

from vdsm import client
from vdsm.supervdsm import errors
from vdsm.supervdsm.api import network as privileged

pytestmark = pytest.mark.root


@pytest.fixture(autouse=True)
def no_dhclient_left(netns):
    """Whatever a failing test (or a daemon without the fix) started in
    the test's namespace is killed and its files removed."""
    yield
    for pid in dhclients(netns.name):
        os.kill(pid, signal.SIGKILL)
    for name in dhcp_files(netns.name):
        os.unlink(os.path.join(privileged.DHCLIENT_DIR, name))


@pytest.fixture
def daemon(netns, supervdsmd, vdsmd_factory):
    return vdsmd_factory({"network": {"netns": netns.name,
                                      "privileged": "supervdsm"},
                          "supervdsm": {"socket": supervdsmd.socket}})


def dhclients(netns: str) -> list[int]:
    """Pids of dhclients whose command line names a file of ``netns``."""
    key = f"{privileged.DHCLIENT_DIR}/{netns}_".encode()
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"dhclient") and \
                any(a.startswith(key) for a in argv):
            pids.append(int(pid))
    return pids


def dhcp_files(netns: str) -> list[str]:
    try:
        names = os.listdir(privileged.DHCLIENT_DIR)
    except FileNotFoundError:
        return []
    return [n for n in names if n.startswith(f"{netns}_")]


@pytest.mark.parametrize("networks,bondings,code,field", [
    ({"-d": {"nic": "eth1", "bootproto": "dhcp"}}, {}, 27, "networks.-d"),
    ({"-d": {"nic": "eth1", "bootproto": "dhcp", "bridged": False}}, {},
     27, "networks.-d"),
    ({"net1": {"nic": "-d", "bootproto": "dhcp"}}, {}, 23,
     "networks.net1.nic"),
    ({}, {"bond0": {"nics": ["eth1", "-d"]}}, 23, "bondings.bond0.nics[1]"),
])
def test_dash_names_refused_before_anything_runs(daemon, netns, supervdsmd,
                                                 networks, bondings, code,
                                                 field):
    before = netns.state_text()
    with daemon.client() as cli:
        with pytest.raises(client.ServerError) as e:
            cli.Host.setupNetworks(networks=networks, bondings=bondings,
                                   options={})
        assert e.value.code == code         # upstream's bridge/nic codes
        assert str(e.value).endswith(f"field={field}")
        assert cli.Host.getNetworkCapabilities()["networks"] == {}
    assert netns.state_text() == before
    assert dhclients(netns.name) == []
    assert dhcp_files(netns.name) == []
    assert "APPLY" not in supervdsmd.log()


@pytest.mark.parametrize("call", [
    ("network.start_dhcp", "-d", False),
    ("network.stop_dhcp", "-d"),
    ("network.set_ipv6_autoconf", {"-d": True}),
])
def test_supervdsm_refuses_dash_names_too(supervdsmd, netns, call):
    # vdsmd never sends these: supervdsmd checks on its own.
    method, *args = call
    with pytest.raises(errors.RemoteError) as e:
        supervdsmd.client().call(method, *args, netns=netns.name)
    assert e.value.remote_class == "BadChange"
    assert dhclients(netns.name) == []


def test_supervdsm_refuses_dash_netns(supervdsmd):
    with pytest.raises(errors.RemoteError) as e:
        supervdsmd.client().call("network.start_dhcp", "eth1", False,
                                 netns="-V")
    assert e.value.remote_class == "BadChange"


def test_dhclient_timeout_leaves_nothing(make_supervdsmd, netns):
    # A FIFO as the namespace's /etc/services (``ip netns exec`` binds
    # /etc/netns/NS/* over /etc) makes the real dhclient block in
    # getservbyname() before it forks to the background: the run times
    # out (half the call timeout) and must leave no process, pid or lease
    # file. netns.delete() removes /etc/netns/NS.
    server = make_supervdsmd({"supervdsm": {"call_timeout": "6"}})
    etc = f"/etc/netns/{netns.name}"
    os.makedirs(etc)
    os.mkfifo(f"{etc}/services")
    pidfile, leasefile = privileged._dhcp_files("eth1", netns.name)
    with pytest.raises(errors.RemoteError) as e:
        server.client().call("network.start_dhcp", "eth1", False,
                             netns=netns.name)
    assert e.value.remote_class == "NetworkChangeFailed"
    assert "timed out" in str(e.value)
    assert dhclients(netns.name) == []
    assert not os.path.lexists(pidfile)
    assert not os.path.lexists(leasefile)
