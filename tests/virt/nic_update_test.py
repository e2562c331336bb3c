"""VM.updateDevice interface on a booted guest: link state, network and
filter changes seen in the live and persistent domain and on the host's
bridges; bad requests change nothing."""

from __future__ import annotations

import json
import subprocess
import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest

from fixtures.virt import StatusEvents, code_of

pytestmark = [pytest.mark.slow, pytest.mark.root]

NS = "http://ovirt.org/vm/1.0"
MAC = "52:54:00:7e:57:01"
ALIAS = "ua-5c0b1d2e-0000-4000-8000-000000000001"


@pytest.fixture
def vdsmd(vdsmd_factory, guests):
    # Port mirroring runs tc as root: in-process here (vdsmd is root).
    return vdsmd_factory({"vars": {"vm_sample_interval": "1"},
                          "virt": {"privileged": "direct"}})


@pytest.fixture
def bridges():
    """Three bridges of the host (names unique to the test)."""
    tag = uuid.uuid4().hex[:6]
    names = [f"vt{tag}a", f"vt{tag}b", f"vt{tag}c"]
    for name in names:
        subprocess.run(["ip", "link", "add", name, "type", "bridge"],
                       check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
    try:
        yield names
    finally:
        for name in names:
            subprocess.run(["ip", "link", "del", name], check=False)


def nic_xml(bridge: str, link: str = "up", filterref: str = "") -> str:
    return f"""<interface type='bridge'>
      <mac address='{MAC}'/><source bridge='{bridge}'/>
      <model type='virtio'/><link state='{link}'/>{filterref}
      <alias name='{ALIAS}'/></interface>"""


def nic(vm_id: str, flags: int = 0) -> ET.Element:
    conn = libvirt.open("qemu:///system")
    try:
        xml = conn.lookupByUUIDString(vm_id).XMLDesc(flags)
    finally:
        conn.close()
    found = ET.fromstring(xml).find("devices/interface")
    assert found is not None
    return found


def state(elem: ET.Element) -> tuple:
    link = elem.find("link")
    ref = elem.find("filterref")
    return (elem.find("source").get("bridge"),
            link.get("state") if link is not None else "up",
            ref.get("filter") if ref is not None else None)


def master(tap: str) -> str | None:
    out = subprocess.run(["ip", "-j", "link", "show", "dev", tap],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0].get("master")


def mirrored_to(bridge: str, direction: str) -> list[str]:
    """Where tc mirrors the bridge's traffic (mirred actions; u32 lists
    the filters of both directions of a clsact qdisc under each)."""
    out = subprocess.run(["tc", "-j", "filter", "show", "dev", bridge,
                          direction], capture_output=True, text=True,
                         check=True).stdout
    return sorted({a["to_dev"] for f in json.loads(out or "[]")
                   for a in f.get("options", {}).get("actions", [])
                   if a.get("kind") == "mirred"})


def booted(cli, guests, bridge: str) -> str:
    events = StatusEvents(cli.subscribe())
    vm_id = str(uuid.uuid4())
    cli.VM.create(vmID=vm_id, vmParams={"xml": guests.xml(
        vm_id, devices=nic_xml(bridge))})
    events.wait(vm_id, "Up")
    return vm_id


def engine_update(vm_id: str, xml: str, mirrors: str = "") -> dict:
    """UpdateVmInterfaceVDSCommand's params: the <hotplug> document."""
    return {"deviceType": "interface", "xml": f"""<hotplug>
      <devices>{xml}</devices>
      <metadata xmlns:ovirt-vm='{NS}'><ovirt-vm:vm>
        <ovirt-vm:device mac_address='{MAC}'>{mirrors}</ovirt-vm:device>
      </ovirt-vm:vm></metadata></hotplug>"""}


def test_link_network_and_filter_change_live(vdsmd, guests, bridges):
    one, two, _ = bridges
    with vdsmd.client() as cli:
        vm_id = booted(cli, guests, one)
        tap = nic(vm_id).find("target").get("dev")
        assert master(tap) == one

        # Link down, as the legacy engine path sends it (by alias).
        info = cli.VM.updateDevice(vmID=vm_id, params={
            "deviceType": "interface", "alias": ALIAS,
            "linkActive": "false"})
        assert info["vmId"] == vm_id
        assert state(nic(vm_id)) == (one, "down", None)
        assert state(nic(vm_id, libvirt.VIR_DOMAIN_XML_INACTIVE)) == (
            one, "down", None)

        # The engine's <hotplug> document: another network, link up, a
        # network filter.
        ref = ("<filterref filter='clean-traffic'>"
               "<parameter name='IP' value='192.0.2.10'/></filterref>")
        cli.VM.updateDevice(vmID=vm_id, params=engine_update(
            vm_id, nic_xml(two, "up", ref)))
        assert state(nic(vm_id)) == (two, "up", "clean-traffic")
        assert master(tap) == two
        param = nic(vm_id).find("filterref/parameter")
        assert (param.get("name"), param.get("value")) == (
            "IP", "192.0.2.10")
        assert state(nic(vm_id, libvirt.VIR_DOMAIN_XML_INACTIVE)) == (
            two, "up", "clean-traffic")
        md = cli.VM.getInfo(vmID=vm_id)["xml"]
        assert f"<ovirt-vm:network>{two}</ovirt-vm:network>" in md

        # Filter removed, network '': link down, no network recorded.
        cli.VM.updateDevice(vmID=vm_id, params={
            "deviceType": "interface", "alias": ALIAS, "network": "",
            "filter": ""})
        assert state(nic(vm_id)) == (two, "down", None)
        md = cli.VM.getInfo(vmID=vm_id)["xml"]
        assert "<ovirt-vm:network />" in md or \
            "<ovirt-vm:network/>" in md


def test_bad_nic_updates_change_nothing(vdsmd, guests, bridges):
    one, _, _ = bridges
    with vdsmd.client() as cli:
        vm_id = booted(cli, guests, one)
        before = ET.tostring(nic(vm_id))
        cases = [
            ({"deviceType": "interface", "alias": "ua-nope",
              "linkActive": False}, 56),
            ({"deviceType": "interface", "linkActive": False}, 56),
            ({"deviceType": "interface", "alias": ALIAS,
              "network": "no-such-bridge"}, 56),
            ({"deviceType": "interface", "alias": ALIAS,
              "linkActive": "sideways"}, 1000),
            ({"deviceType": "interface", "alias": ALIAS,
              "linkActive": 0}, 1000),
            ({"deviceType": "interface", "alias": ALIAS,
              "filter": "no-such-filter"}, 56),
            ({"deviceType": "interface", "xml": "<hotplug><devices/>"}, 56),
            ({"deviceType": "interface", "alias": ALIAS,
              "portMirroring": "all"}, -32602),
            ({"deviceType": "hostdev", "alias": ALIAS}, 44),
            # The second mirror fails: the first is taken back.
            ({"deviceType": "interface", "alias": ALIAS, "linkActive": False,
              "portMirroring": [one, "vt-no-such"]}, 56),
        ]
        for params, code in cases:
            assert code_of(cli.VM.updateDevice, vmID=vm_id,
                           params=params) == code, params
            assert ET.tostring(nic(vm_id)) == before, params
            assert mirrored_to(one, "ingress") == [], params
            assert "portMirroring" not in cli.VM.getInfo(
                vmID=vm_id)["xml"], params
        assert code_of(cli.VM.updateDevice, vmID=str(uuid.uuid4()),
                       params={"deviceType": "interface", "alias": ALIAS,
                               "linkActive": False}) == 1


def test_port_mirroring(vdsmd, guests, bridges):
    one, two, three = bridges
    with vdsmd.client() as cli:
        vm_id = booted(cli, guests, one)
        tap = nic(vm_id).find("target").get("dev")
        cli.VM.updateDevice(vmID=vm_id, params={
            "deviceType": "interface", "alias": ALIAS,
            "portMirroring": [two, three]})
        for bridge in (two, three):
            for direction in ("ingress", "egress"):
                assert mirrored_to(bridge, direction) == [tap]
        md = cli.VM.getInfo(vmID=vm_id)["xml"]
        assert f"<ovirt-vm:network>{two}</ovirt-vm:network>" in md

        # The engine's document lists the mirrored networks in the
        # device metadata: three only now.
        cli.VM.updateDevice(vmID=vm_id, params=engine_update(
            vm_id, nic_xml(one), mirrors=(
                f"<ovirt-vm:portMirroring><ovirt-vm:network>{three}"
                "</ovirt-vm:network></ovirt-vm:portMirroring>")))
        assert mirrored_to(two, "ingress") == []
        assert mirrored_to(three, "egress") == [tap]
        qdiscs = subprocess.run(["tc", "qdisc", "show", "dev", two],
                                capture_output=True, text=True).stdout
        assert "clsact" not in qdiscs

        cli.VM.updateDevice(vmID=vm_id, params={
            "deviceType": "interface", "alias": ALIAS, "portMirroring": []})
        assert mirrored_to(three, "ingress") == []
        assert "portMirroring" not in cli.VM.getInfo(vmID=vm_id)["xml"]

        # VM.destroy takes the mirrors down with the VM.
        cli.VM.updateDevice(vmID=vm_id, params={
            "deviceType": "interface", "alias": ALIAS,
            "portMirroring": [two]})
        assert mirrored_to(two, "egress") == [tap]
        cli.VM.destroy(vmID=vm_id)
        assert mirrored_to(two, "egress") == []



def kernel_shapes() -> bool:
    """Can tc police and sfq here (what libvirt's <bandwidth> runs)?"""
    name = f"vq{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "link", "add", name, "type", "bridge"],
                   check=True)
    try:
        steps = [["tc", "qdisc", "add", "dev", name, "ingress"],
                 ["tc", "filter", "add", "dev", name, "parent", "ffff:",
                  "protocol", "all", "u32", "match", "u32", "0", "0",
                  "police", "rate", "1kbps", "burst", "1kb", "drop"],
                 ["tc", "qdisc", "add", "dev", name, "root", "sfq"]]
        return all(subprocess.run(step, capture_output=True).returncode == 0
                   for step in steps)
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)


QOS = ("<bandwidth><inbound average='1000' peak='5000' burst='1024'/>"
       "<outbound average='500' burst='64'/></bandwidth>")


def test_qos_change_live(vdsmd, guests, bridges):
    if not kernel_shapes():
        pytest.skip("this kernel has no tc police/sfq (libvirt's QoS)")
    one, _, _ = bridges
    with vdsmd.client() as cli:
        vm_id = booted(cli, guests, one)
        tap = nic(vm_id).find("target").get("dev")
        cli.VM.updateDevice(vmID=vm_id, params=engine_update(
            vm_id, nic_xml(one).replace("<alias", QOS + "<alias")))
        inbound = nic(vm_id).find("bandwidth/inbound")
        assert (inbound.get("average"), inbound.get("peak")) == (
            "1000", "5000")
        qdiscs = subprocess.run(["tc", "qdisc", "show", "dev", tap],
                                capture_output=True, text=True).stdout
        assert "htb" in qdiscs
        # The legacy struct: specParams {} removes the QoS.
        cli.VM.updateDevice(vmID=vm_id, params={
            "deviceType": "interface", "alias": ALIAS, "specParams": {}})
        assert nic(vm_id).find("bandwidth") is None


def test_bad_qos_changes_nothing(vdsmd, guests, bridges):
    one, _, _ = bridges
    with vdsmd.client() as cli:
        vm_id = booted(cli, guests, one)
        before = ET.tostring(nic(vm_id))
        assert code_of(cli.VM.updateDevice, vmID=vm_id, params={
            "deviceType": "interface", "alias": ALIAS,
            "specParams": {"inbound": {"average": "fast"}}}) == 1000
        assert code_of(cli.VM.updateDevice, vmID=vm_id,
                       params=engine_update(vm_id, nic_xml(one).replace(
                           "<alias", "<bandwidth><sideways/></bandwidth>"
                           "<alias"))) == 56
        if not kernel_shapes():
            # libvirt fails to apply it here: the vNIC stays as it was.
            assert code_of(cli.VM.updateDevice, vmID=vm_id,
                           params=engine_update(vm_id, nic_xml(one).replace(
                               "<alias", QOS + "<alias"))) == 56
        assert ET.tostring(nic(vm_id)) == before


def test_hotunplug_takes_the_mirrors_down(vdsmd, guests, bridges):
    one, two, _ = bridges
    with vdsmd.client() as cli:
        vm_id = booted(cli, guests, one)
        guests.wait_ready(vm_id)     # the guest must let the vNIC go
        tap = nic(vm_id).find("target").get("dev")
        cli.VM.updateDevice(vmID=vm_id, params={
            "deviceType": "interface", "alias": ALIAS,
            "portMirroring": [two]})
        assert mirrored_to(two, "ingress") == [tap]
        cli.VM.hotunplugNic(vmID=vm_id, params={
            "xml": f"<interface><mac address='{MAC}'/></interface>"})
        assert mirrored_to(two, "ingress") == []
        assert mirrored_to(two, "egress") == []
