"""Source routing of networks with a gateway but no default route, in a
real namespace with veth NICs, as root (the privileged functions called
in-process, as in configurator_test.py)."""

from __future__ import annotations

import json

import pytest

from vdsm.api import network_wire
from vdsm.common.config import Config
from vdsm.network import caps, errors, netinfo, sourceroute
from vdsm.network.configurator import Configurator
from vdsm.network.persistence import Store
from vdsm.supervdsm import netchanges as changes
from vdsm.supervdsm.netchanges import BadChange
from vdsm.supervdsm import caller


def gw_net(nic: str, addr: str, gateway: str, bridged: bool = True,
           **extra) -> dict:
    return {"nic": nic, "bridged": bridged, "ipaddr": addr, "prefix": 24,
            "gateway": gateway, **extra}


def rules(netns, family: str = "-4") -> set[str]:
    """Our rules, as text lines (priority RULE_PRIORITY)."""
    out = set()
    for r in json.loads(netns.ip(family, "-j", "rule", "show")):
        if r.get("priority") == sourceroute.RULE_PRIORITY:
            sel = f"from {r['src']}/{r['srclen']}" if r["src"] != "all" \
                else f"to {r['dst']}/{r['dstlen']}"
            out.add(f"{sel} table {r['table']}")
    return out


def table(netns, dev: str, family: str = "-4") -> str:
    return netns.ip(family, "route", "show", "table",
                    str(sourceroute.table_for(dev)), check=False)


def our_tables(netns) -> list[str]:
    """Every route in any table of the reserved range."""
    out = []
    for family in ("-4", "-6"):
        for r in json.loads(netns.ip(family, "-j", "route", "show",
                                     "table", "all")):
            t = r.get("table", "")
            if t.isdigit() and sourceroute.is_ours(int(t)):
                out.append(json.dumps(r, sort_keys=True))
    return sorted(out)


def route_get(netns, dst: str, src: str) -> str:
    return netns.ip("route", "get", dst, "from", src)


# Unit: the vocabulary and the table ids.

def test_table_ids_stable_and_in_range():
    t = sourceroute.table_for("net1")
    assert t == sourceroute.table_for("net1")
    assert sourceroute.is_ours(t)
    assert t != sourceroute.table_for("net2")


@pytest.mark.parametrize("change, line", [
    ({"kind": "add_rule", "direction": "from", "prefix": "192.0.2.0/24",
      "table": sourceroute.TABLE_BASE + 5},
     f"rule add from 192.0.2.0/24 table {sourceroute.TABLE_BASE + 5} "
     f"priority {sourceroute.RULE_PRIORITY}"),
    ({"kind": "del_rule", "direction": "to", "prefix": "2001:db8::/64",
      "table": sourceroute.TABLE_BASE},
     f"rule del to 2001:db8::/64 table {sourceroute.TABLE_BASE} "
     f"priority {sourceroute.RULE_PRIORITY}"),
    ({"kind": "add_table_route", "dst": "0.0.0.0/0", "gateway": "192.0.2.9",
      "dev": "net1", "table": sourceroute.TABLE_BASE},
     f"route replace 0.0.0.0/0 via 192.0.2.9 dev net1 table "
     f"{sourceroute.TABLE_BASE}"),
    ({"kind": "del_table_route", "dst": "192.0.2.0/24", "dev": "net1",
      "table": sourceroute.TABLE_BASE},
     f"route del 192.0.2.0/24 dev net1 table {sourceroute.TABLE_BASE}"),
])
def test_render(change, line):
    assert changes.render(change) == line


@pytest.mark.parametrize("change", [
    {"kind": "add_rule", "direction": "from", "prefix": "192.0.2.0/24",
     "table": 254},                                  # main: not ours
    {"kind": "add_rule", "direction": "iif", "prefix": "192.0.2.0/24",
     "table": sourceroute.TABLE_BASE},
    {"kind": "add_rule", "direction": "from", "prefix": "192.0.2.1/24",
     "table": sourceroute.TABLE_BASE},               # host bits
    {"kind": "del_rule", "direction": "from",
     "prefix": "192.0.2.0/24 table 254", "table": sourceroute.TABLE_BASE},
    {"kind": "add_table_route", "dst": "0.0.0.0/0", "gateway": "2001:db8::1",
     "dev": "net1", "table": sourceroute.TABLE_BASE},
    {"kind": "add_table_route", "dst": "0.0.0.0/0", "dev": "net1 x",
     "table": sourceroute.TABLE_BASE},
    {"kind": "add_table_route", "dst": "0.0.0.0/0", "dev": "net1",
     "table": str(sourceroute.TABLE_BASE)},
])
def test_refused(change):
    with pytest.raises(BadChange):
        changes.check(change)


# Real namespace.

@pytest.mark.root
@pytest.mark.parametrize("bridged, dev", [(True, "net1"), (False, "eth1")])
def test_add_edit_remove(configurator, netns, bridged, dev):
    before = netns.state_text()
    configurator.setup_networks(
        {"net1": gw_net("eth1", "192.0.2.1", "192.0.2.254", bridged)},
        {}, {})
    t = sourceroute.table_for(dev)
    assert rules(netns) == {f"from 192.0.2.0/24 table {t}",
                            f"to 192.0.2.0/24 table {t}"}
    routes = table(netns, dev)
    assert f"default via 192.0.2.254 dev {dev}" in routes
    assert f"192.0.2.0/24 dev {dev}" in routes
    assert "default" not in netns.ip("route")          # main untouched
    assert "via 192.0.2.254" in route_get(netns, "203.0.113.5", "192.0.2.1")

    # Edit the gateway and the address: old rules gone, new present.
    configurator.setup_networks(
        {"net1": gw_net("eth1", "198.51.100.1", "198.51.100.254", bridged)},
        {}, {})
    assert rules(netns) == {f"from 198.51.100.0/24 table {t}",
                            f"to 198.51.100.0/24 table {t}"}
    routes = table(netns, dev)
    assert "192.0.2" not in routes
    assert f"default via 198.51.100.254 dev {dev}" in routes
    assert "via 198.51.100.254" in route_get(netns, "203.0.113.5",
                                             "198.51.100.1")

    configurator.setup_networks({"net1": {"remove": True}}, {}, {})
    assert rules(netns) == set()
    assert our_tables(netns) == []
    assert netns.state_text() == before


@pytest.mark.root
def test_gateway_only_change_and_repeat(configurator, netns):
    req = {"net1": gw_net("eth0", "192.0.2.1", "192.0.2.254")}
    configurator.setup_networks(req, {}, {})
    tables = our_tables(netns)
    configurator.setup_networks(req, {}, {})           # nothing to do
    assert our_tables(netns) == tables
    configurator.setup_networks(
        {"net1": gw_net("eth0", "192.0.2.1", "192.0.2.253")}, {}, {})
    routes = table(netns, "net1")
    assert "default via 192.0.2.253 dev net1" in routes
    assert "192.0.2.254" not in routes
    assert len(rules(netns)) == 2


@pytest.mark.root
def test_ipv6_gateway(configurator, netns):
    configurator.setup_networks(
        {"net1": gw_net("eth0", "192.0.2.1", "192.0.2.254",
                        ipv6addr="2001:db8::1/64",
                        ipv6gateway="2001:db8::fe")}, {}, {})
    t = sourceroute.table_for("net1")
    assert rules(netns, "-6") == {f"from 2001:db8::/64 table {t}",
                                  f"to 2001:db8::/64 table {t}"}
    assert "default via 2001:db8::fe dev net1" in table(netns, "net1", "-6")
    assert len(rules(netns)) == 2
    configurator.setup_networks({"net1": {"remove": True}}, {}, {})
    assert rules(netns, "-6") == set() and our_tables(netns) == []


@pytest.mark.root
def test_default_route_network_has_no_table(configurator, netns):
    configurator.setup_networks(
        {"mgmt": gw_net("eth0", "192.0.2.1", "192.0.2.254",
                        defaultRoute=True),
         "net2": gw_net("eth1", "198.51.100.1", "198.51.100.254", False)},
        {}, {})
    t = sourceroute.table_for("eth1")
    assert rules(netns) == {f"from 198.51.100.0/24 table {t}",
                            f"to 198.51.100.0/24 table {t}"}
    assert "default via 192.0.2.254 dev mgmt" in netns.ip("route")
    assert table(netns, "mgmt") == ""
    # Each network's traffic leaves through its own gateway.
    assert "via 198.51.100.254" in route_get(netns, "203.0.113.5",
                                             "198.51.100.1")
    assert "via 192.0.2.254" in route_get(netns, "203.0.113.5", "192.0.2.1")


@pytest.mark.root
def test_caps_show_the_gateway(configurator, netns, store):
    configurator.setup_networks(
        {"net1": gw_net("eth0", "192.0.2.1", "192.0.2.254")}, {}, {})
    snap = netinfo.snapshot(netns.name)
    out = network_wire.capabilities(caps.capabilities(
        snap, store.load_running(), True, [], netns.name))
    assert out["networks"]["net1"]["gateway"] == "192.0.2.254"
    assert out["networks"]["net1"]["ipv4defaultroute"] is False
    assert out["networks"]["net1"]["management"] is False


@pytest.mark.root
def test_rollback_restores_rules_exactly(configurator, netns, store):
    configurator.setup_networks(
        {"net1": gw_net("eth0", "192.0.2.1", "192.0.2.254"),
         "net2": gw_net("eth1", "198.51.100.1", "198.51.100.254", False)},
        {}, {})
    before_rules = netns.ip("rule")
    before_tables = our_tables(netns)
    before = netns.state_text()
    with pytest.raises(errors.ConnectivityCheckFailed):
        configurator.setup_networks(
            {"net1": gw_net("eth0", "203.0.113.1", "203.0.113.254"),
             "net2": {"remove": True},
             "net3": gw_net("eth2", "192.0.2.129", "192.0.2.130", False,
                            prefix=25)}, {},
            {"connectivityCheck": True, "connectivityTimeout": 1})
    assert netns.ip("rule") == before_rules
    assert our_tables(netns) == before_tables
    assert netns.state_text() == before
    assert sorted(store.load_running().networks) == ["net1", "net2"]


@pytest.mark.root
def test_restore_after_reboot(netns, store, configurator):
    configurator.setup_networks(
        {"net1": gw_net("eth0", "192.0.2.1", "192.0.2.254"),
         "net2": gw_net("eth1", "198.51.100.1", "198.51.100.254", False)},
        {}, {})
    configurator.set_safe_config()
    want_rules = netns.ip("rule")
    want_tables = our_tables(netns)
    # "Reboot": virtual links gone, NICs bare and down, rules gone.
    netns.batch(["link del net1", "addr flush dev eth1",
                 "link set eth0 down", "link set eth1 down"] +
                [f"rule del {r} priority {sourceroute.RULE_PRIORITY}"
                 for r in sorted(rules(netns))])
    assert rules(netns) == set() and our_tables(netns) == []
    fresh = Configurator(Store(store.path), caller.in_process(Config()),
                         netns.name)
    fresh.restore(store.load_safe())
    assert netns.ip("rule") == want_rules
    assert our_tables(netns) == want_tables
    assert "via 192.0.2.254" in route_get(netns, "203.0.113.5", "192.0.2.1")


@pytest.mark.root
def test_restore_drops_unsafe_source_routes(netns, store, configurator):
    configurator.setup_networks(
        {"net1": gw_net("eth0", "192.0.2.1", "192.0.2.254")}, {}, {})
    configurator.set_safe_config()
    configurator.setup_networks(
        {"net2": gw_net("eth1", "198.51.100.1", "198.51.100.254", False)},
        {}, {})
    assert len(rules(netns)) == 4
    configurator.restore(store.load_safe())
    t = sourceroute.table_for("net1")
    assert rules(netns) == {f"from 192.0.2.0/24 table {t}",
                            f"to 192.0.2.0/24 table {t}"}
    assert table(netns, "eth1") == ""


@pytest.mark.root
def test_bad_gateway_rolls_back(configurator, netns):
    # A gateway the kernel cannot reach on the device: the table route is
    # refused, the call rolls back and reports it.
    before = netns.state_text()
    before_rules = netns.ip("rule")
    with pytest.raises(errors.ConfigNetworkError):
        configurator.setup_networks(
            {"net1": gw_net("eth0", "192.0.2.1", "203.0.113.254")}, {}, {})
    assert netns.state_text() == before
    assert netns.ip("rule") == before_rules
    assert our_tables(netns) == []


@pytest.mark.root
def test_ipv6_rules_keep_order_across_batches(netns):
    # IPv6 rules run in an ``ip -6`` batch of their own, between the
    # others; a failure after them names the change and counts the rest.
    from vdsm.supervdsm.api import network as priv
    t = sourceroute.TABLE_BASE + 1
    with pytest.raises(priv.NetworkChangeFailed) as e:
        priv.apply_changes([
            {"kind": "add_rule", "direction": "from", "prefix": "192.0.2.0/24",
             "table": t},
            {"kind": "add_rule", "direction": "from",
             "prefix": "2001:db8::/64", "table": t},
            {"kind": "add_addr", "dev": "nosuch0", "cidr": "192.0.2.1/24"},
        ], netns.name)
    assert "nosuch0" in str(e.value) and "2 earlier" in str(e.value)
    assert rules(netns) == {f"from 192.0.2.0/24 table {t}"}
    assert rules(netns, "-6") == {f"from 2001:db8::/64 table {t}"}


def test_table_collision_is_refused():
    # Two devices whose names hash to one table: refused, not shared.
    from vdsm.network import validation
    from vdsm.network.model import Config, parse_request
    from vdsm.network.netinfo import Device, Snapshot
    assert sourceroute.table_for("nic189") == \
        sourceroute.table_for("nic5122")
    snap = Snapshot({n: Device(n) for n in ("nic189", "nic5122")})
    req = parse_request(
        {"a": gw_net("nic189", "192.0.2.1", "192.0.2.254", False),
         "b": gw_net("nic5122", "198.51.100.1", "198.51.100.254", False)},
        {}, {})
    with pytest.raises(errors.BadParams) as e:
        validation.validate(req, Config(), snap)
    assert e.value.code == 21 and "networks.b.gateway" in str(e.value)
    # Without a gateway on one of them there is nothing to share.
    req = parse_request(
        {"a": gw_net("nic189", "192.0.2.1", "192.0.2.254", False),
         "b": {"nic": "nic5122", "bridged": False}}, {}, {})
    validation.validate(req, Config(), snap)
