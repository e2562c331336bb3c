"""The planner alone, on made-up snapshots: the order of changes for
topologies this machine's kernel cannot build (VLAN, bonding), and the
rules the kernel imposes (lower devices first, bond slaves down)."""

from __future__ import annotations

from vdsm.network import planner, state
from vdsm.network.model import Config, parse_request
from vdsm.network.netinfo import Device, Route, Snapshot
from vdsm.supervdsm import netchanges as changes


def host(*nics: str, **extra: Device) -> Snapshot:
    devices = {n: Device(n, up=True) for n in nics}
    devices.update(extra)
    return Snapshot(devices)


def config(networks, bondings=None) -> Config:
    req = parse_request(networks, bondings or {}, {})
    return Config(dict(req.networks), dict(req.bonds))


def lines(snap: Snapshot, new: Config, old: Config | None = None):
    target = state.desired(new, old or Config(), snap)
    return [changes.render(c) for c in planner.plan(snap, target)]


def test_vlan_networks_on_a_bond():
    new = config({"net10": {"bonding": "bond0", "vlan": 10, "mtu": 9000,
                            "ipaddr": "192.0.2.1", "prefix": 24},
                  "net11": {"bonding": "bond0", "vlan": 11,
                            "bridged": False}},
                 {"bond0": {"nics": ["eth0", "eth1"],
                            "options": "mode=4 miimon=100"}})
    out = lines(host("eth0", "eth1"), new)
    assert out == [
        "link add name bond0 type bond mode 802.3ad miimon 100",
        "link add link bond0 name bond0.10 type vlan id 10",
        "link add link bond0 name bond0.11 type vlan id 11",
        "link add name net10 type bridge stp_state 0",
        # MTUs grow from the bottom: NICs, bond, VLAN, bridge.
        "link set dev eth0 mtu 9000",
        "link set dev eth1 mtu 9000",
        "link set dev bond0 mtu 9000",
        "link set dev bond0.10 mtu 9000",
        "link set dev net10 mtu 9000",
        # A new device is given its own MTU (a VLAN inherits the bond's).
        "link set dev bond0.11 mtu 1500",
        # Bond slaves must be down to be enslaved.
        "link set dev eth0 down",
        "link set dev eth0 master bond0",
        "link set dev eth1 down",
        "link set dev eth1 master bond0",
        "link set dev bond0.10 master net10",
        "addr add 192.0.2.1/24 dev net10",
        "link set dev eth0 up",
        "link set dev eth1 up",
        "link set dev bond0 up",
        "link set dev bond0.10 up",
        "link set dev bond0.11 up",
        "link set dev net10 up",
    ]


def test_remove_vlan_network_shrinks_mtu_top_down():
    old = config({"big": {"nic": "eth0", "vlan": 5, "mtu": 9000,
                          "bridged": False},
                  "small": {"nic": "eth0", "vlan": 6, "mtu": 1500,
                            "bridged": False}})
    snap = host(**{
        "eth0": Device("eth0", mtu=9000),
        "eth0.5": Device("eth0.5", kind="vlan", vlan_id=5, link="eth0",
                         mtu=9000),
        "eth0.6": Device("eth0.6", kind="vlan", vlan_id=6, link="eth0",
                         mtu=1500)})
    new = config({"small": {"nic": "eth0", "vlan": 6, "mtu": 1500,
                            "bridged": False}})
    assert lines(snap, new, old) == ["link del dev eth0.5",
                                     "link set dev eth0 mtu 1500"]


def test_changed_vlan_id_recreates_device():
    old = config({"n": {"nic": "eth0", "vlan": 5, "bridged": False}})
    snap = host(**{"eth0": Device("eth0"),
                   "eth0.5": Device("eth0.5", kind="vlan", vlan_id=5,
                                    link="eth0")})
    new = config({"n": {"nic": "eth0", "vlan": 7, "bridged": False}})
    out = lines(snap, new, old)
    assert out[0] == "link del dev eth0.5"
    assert "link add link eth0 name eth0.7 type vlan id 7" in out


def test_changed_bond_mode_recreates_bond():
    old = config({}, {"bond0": {"nics": ["eth0"], "options": "mode=1"}})
    snap = host(**{"eth0": Device("eth0", master="bond0"),
                   "bond0": Device("bond0", kind="bond",
                                   bond_options=(("mode", "1"),
                                                 ("miimon", "100")))})
    new = config({}, {"bond0": {"nics": ["eth0"], "options": "mode=4"}})
    out = lines(snap, new, old)
    assert out[:2] == ["link del dev bond0",
                       "link add name bond0 type bond mode 802.3ad "
                       "miimon 100"]
    assert "link set dev eth0 master bond0" in out


def test_default_route_moves():
    snap = host("eth0", "eth1")
    snap.devices["old"] = Device("old", kind="bridge", addrs=("10.0.0.1/8",))
    snap.default_v4 = Route("10.0.0.254", "old")
    old = config({"old": {"nic": "eth1", "ipaddr": "10.0.0.1", "prefix": 8,
                          "gateway": "10.0.0.254", "defaultRoute": True}})
    snap.devices["eth1"] = Device("eth1", master="old")
    new = config({"mgmt": {"nic": "eth0", "ipaddr": "192.0.2.1",
                           "prefix": 24, "gateway": "192.0.2.254",
                           "defaultRoute": True}})
    new = Config({**new.networks}, {})
    out = lines(snap, new, old)
    assert out[-1] == "route replace 0.0.0.0/0 via 192.0.2.254 dev mgmt"
    assert "link del dev old" in out


def test_nothing_to_do():
    snap = host("eth0")
    new = config({"n": {"nic": "eth0", "bridged": False}})
    assert lines(snap, new) == []


def test_vlan_recreated_with_its_bond():
    bond = {"bond0": {"nics": ["eth0"], "options": "mode=1"}}
    net = {"n": {"bonding": "bond0", "vlan": 3, "ipaddr": "192.0.2.1",
                 "prefix": 24, "bridged": False}}
    old = config(net, bond)
    snap = host(**{
        "eth0": Device("eth0", master="bond0"),
        "bond0": Device("bond0", kind="bond",
                        bond_options=(("mode", "1"), ("miimon", "100"))),
        "bond0.3": Device("bond0.3", kind="vlan", vlan_id=3, link="bond0",
                          addrs=("192.0.2.1/24",))})
    new = config(net, {"bond0": {"nics": ["eth0"], "options": "mode=4"}})
    out = lines(snap, new, old)
    assert out[:2] == ["link del dev bond0.3", "link del dev bond0"]
    assert "link add link bond0 name bond0.3 type vlan id 3" in out
    assert "addr add 192.0.2.1/24 dev bond0.3" in out
    assert "link set dev eth0 master bond0" in out


def test_source_routes_follow_devices_and_go_first():
    # A new bridged network with a gateway: its table routes come after
    # the link is up (subnet before default), then its rules; removing it
    # drops the rules and routes before anything else.
    from vdsm.network.sourceroute import table_for
    t = table_for("net1")
    new = config({"net1": {"nic": "eth0", "ipaddr": "192.0.2.1",
                           "prefix": 24, "gateway": "192.0.2.254"}})
    out = lines(host("eth0"), new)
    assert out[-4:] == [
        f"route replace 192.0.2.0/24 dev net1 table {t}",
        f"route replace 0.0.0.0/0 via 192.0.2.254 dev net1 table {t}",
        f"rule add from 192.0.2.0/24 table {t} priority 32000",
        f"rule add to 192.0.2.0/24 table {t} priority 32000",
    ]
    assert out.index("link set dev net1 up") < out.index(out[-4])
