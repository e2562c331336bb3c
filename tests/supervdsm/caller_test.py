"""The in-process path refuses what the socket path refuses.

Each case runs twice: through a real supervdsmd (its socket client) and
in-process (``caller.InProcess``, what tests, ``vdsm-tool restore-nets``
and ``[network] privileged = direct`` use). Both must refuse with the
same error class and code, and change nothing in the test namespace.
"""

from __future__ import annotations

import pytest

from fixtures import supervdsm_testapi
from vdsm.common.config import Config
from vdsm.supervdsm import caller
from vdsm.supervdsm.api import network
from vdsm.supervdsm.errors import InvalidArguments, NoSuchFunction

pytestmark = pytest.mark.root


@pytest.fixture(params=["socket", "in-process"])
def transport(request):
    if request.param == "socket":
        return request.getfixturevalue("supervdsmd").client()
    return caller.in_process(Config()).transport


NOT_ALLOWED = [
    ("os.system", ["reboot"]),
    ("network.network_hook", ["/tmp", "before_network_setup", {}, ""]),
    ("network._run_batch", [["link del eth0"], ""]),
    ("network.vocab", []),
    ("supervdsm_testapi.fail", ["x"]),      # marked, module not listed
    ("nodots", []),
]


@pytest.mark.parametrize("method, args", NOT_ALLOWED,
                         ids=[m for m, _ in NOT_ALLOWED])
def test_refuses_function_outside_allowlist(transport, netns, method,
                                            args):
    before = netns.state_text()
    with pytest.raises(NoSuchFunction):
        transport.call(method, *args)
    assert netns.state_text() == before


def test_typed_caller_refuses_unlisted_function(transport):
    priv = caller.Caller(transport)
    with pytest.raises(NoSuchFunction):
        priv(supervdsm_testapi.fail, "x")
    with pytest.raises(NoSuchFunction):
        priv(network.network_hook, "/tmp", "before_network_setup", {}, "")


def bad_arguments(ns: str) -> list:
    return [
        ("network.set_link_mtu", ["eth0", "1400", ns], {}),     # str, int
        ("network.set_link_mtu", ["eth0", True, ns], {}),       # bool, int
        ("network.set_link_mtu", ["eth0", 1400.0, ns], {}),     # float
        ("network.set_link_mtu", ["eth0"], {"netns": ns}),      # missing
        ("network.set_link_mtu", ["eth0", 1400, ns], {"x": 1}),  # unknown
        ("network.apply_changes", ["link del eth0", ns], {}),
        ("network.apply_changes", [[["del_link", "eth0"]], ns], {}),
        ("network.start_dhcp", ["eth0", "yes", ns], {}),
        ("network.set_nameservers", ["192.0.2.53", ns], {}),
        ("network.set_ipv6_autoconf", [{"eth0": 1}, ns], {}),
        ("network.stop_dhcp", ["eth0", ns, "4"], {}),
        ("network.add_address", ["eth0", object(), ns], {}),  # not JSON
    ]


@pytest.mark.parametrize("case", range(len(bad_arguments(""))))
def test_refuses_wrongly_typed_argument(transport, netns, case):
    method, args, kwargs = bad_arguments(netns.name)[case]
    before = netns.state_text()
    with pytest.raises(InvalidArguments) as e:
        transport.call(method, *args, **kwargs)
    assert e.value.code == 1000
    assert netns.state_text() == before


def test_typed_caller_runs_declared_function(transport, netns):
    priv = caller.Caller(transport)
    changes = [{"kind": "add_bridge", "name": "br1"},
               {"kind": "set_link", "name": "br1", "mtu": 1400}]
    assert priv(network.apply_changes, changes, netns.name) == 2
    assert netns.link("br1")["mtu"] == 1400


def test_in_process_sends_what_the_wire_would(netns):
    """A tuple reaches the function as a JSON list, as over the socket
    (the type check alone would refuse a tuple for list[str])."""
    priv = caller.in_process(Config())
    priv(network.set_nameservers, ("192.0.2.53",), netns.name)
    with open(f"/etc/netns/{netns.name}/resolv.conf") as f:
        assert "nameserver 192.0.2.53\n" in f.read()


def test_method_name_of_declarations():
    assert caller.method_name(network.apply_changes) == \
        "network.apply_changes"
    assert caller.method_name(supervdsm_testapi.sleep) == \
        "supervdsm_testapi.sleep"

