from __future__ import annotations

import xml.etree.ElementTree as ET

from vdsm.virt import metadata
from vdsm.virt.metadata import Metadata

DOMAIN = """<domain type='kvm'><name>x</name><metadata>
<ovirt-vm:vm xmlns:ovirt-vm="http://ovirt.org/vm/1.0">
  <ovirt-vm:startTime type="float">12.5</ovirt-vm:startTime>
  <ovirt-vm:exitCode type="int">1</ovirt-vm:exitCode>
  <ovirt-vm:launchPaused type="bool">true</ovirt-vm:launchPaused>
  <ovirt-vm:exitMessage>gone</ovirt-vm:exitMessage>
  <ovirt-vm:device devtype="disk" name="vda">
    <ovirt-vm:imageID>img</ovirt-vm:imageID>
  </ovirt-vm:device>
</ovirt-vm:vm></metadata></domain>"""


def test_read_typed_values_and_devices():
    md = Metadata.from_element(metadata.find(ET.fromstring(DOMAIN)))
    assert md.values == {"startTime": 12.5, "exitCode": 1,
                         "launchPaused": True, "exitMessage": "gone"}
    assert [(d.get("devtype"), d.get("name")) for d in md.devices] == [
        ("disk", "vda")]


def test_round_trip_namespaced():
    md = Metadata.from_element(metadata.find(ET.fromstring(DOMAIN)))
    again = Metadata.from_xml(md.to_xml())
    assert again.values == md.values
    assert ET.tostring(again.devices[0]) == ET.tostring(md.devices[0])


def test_plain_xml_as_libvirt_returns_it():
    # virDomainGetMetadata returns our element without namespace.
    md = Metadata({"exitReason": 7}, [])
    plain = md.to_plain_xml()
    assert "ovirt-vm" not in plain
    assert Metadata.from_xml(plain).values == {"exitReason": 7}


def test_replace_keeps_other_metadata():
    root = ET.fromstring("<domain><metadata><other xmlns='urn:x'/>"
                         "</metadata></domain>")
    metadata.replace(root, Metadata({"a": "b"}))
    metadata.replace(root, Metadata({"a": "c"}))
    meta = root.find("metadata")
    assert len(meta) == 2
    assert Metadata.from_element(metadata.find(root)).values == {"a": "c"}


def test_add_device_replaces_same_name():
    dev = ET.Element(metadata.DEVICE_TAG, devtype="disk", name="vdb")
    md = Metadata()
    md.add_devices([dev])
    md.add_devices([ET.Element(metadata.DEVICE_TAG, devtype="disk",
                               name="vdb")])
    assert len(md.devices) == 1
    md.remove_device("disk", "vdb")
    assert md.devices == []


# What oVirt Engine writes (LibvirtVmXmlBuilder.writeMetadata): most
# scalars without a type attribute, custom properties, device entries
# with nested groups.
ENGINE = """<domain type='kvm'><name>x</name><metadata>
<ovirt-vm:vm xmlns:ovirt-vm="http://ovirt.org/vm/1.0">
  <ovirt-vm:minGuaranteedMemoryMb type="int">1024
  </ovirt-vm:minGuaranteedMemoryMb>
  <ovirt-vm:clusterVersion>4.7</ovirt-vm:clusterVersion>
  <ovirt-vm:custom><ovirt-vm:sap_agent>true</ovirt-vm:sap_agent></ovirt-vm:custom>
  <ovirt-vm:device mac_address="56:6f:1a:2b:00:01">
    <ovirt-vm:network>ovirtmgmt</ovirt-vm:network>
    <ovirt-vm:custom><ovirt-vm:queues>4</ovirt-vm:queues></ovirt-vm:custom>
    <ovirt-vm:portMirroring><ovirt-vm:network>red</ovirt-vm:network>
    <ovirt-vm:network>blue</ovirt-vm:network></ovirt-vm:portMirroring>
  </ovirt-vm:device>
  <ovirt-vm:device devtype="disk" name="vda">
    <ovirt-vm:poolID>p</ovirt-vm:poolID>
    <ovirt-vm:domainID>d</ovirt-vm:domainID>
    <ovirt-vm:imageID>i</ovirt-vm:imageID>
    <ovirt-vm:volumeID>v</ovirt-vm:volumeID>
    <ovirt-vm:specParams><ovirt-vm:pinToIoThread>1</ovirt-vm:pinToIoThread>
    </ovirt-vm:specParams>
    <ovirt-vm:volumeChain>
      <ovirt-vm:volumeChainNode><ovirt-vm:volumeID>v0</ovirt-vm:volumeID>
      </ovirt-vm:volumeChainNode>
      <ovirt-vm:volumeChainNode><ovirt-vm:volumeID>v</ovirt-vm:volumeID>
      <ovirt-vm:leaseOffset type="int">0</ovirt-vm:leaseOffset>
      </ovirt-vm:volumeChainNode>
    </ovirt-vm:volumeChain>
  </ovirt-vm:device>
  <ovirt-vm:launchPaused>false</ovirt-vm:launchPaused>
  <ovirt-vm:resumeBehavior>auto_resume</ovirt-vm:resumeBehavior>
  <ovirt-vm:ballooningEnabled>FALSE</ovirt-vm:ballooningEnabled>
  <ovirt-vm:other><ovirt-vm:nested a="1">x</ovirt-vm:nested></ovirt-vm:other>
</ovirt-vm:vm></metadata></domain>"""


def engine_md() -> Metadata:
    return Metadata.from_element(metadata.find(ET.fromstring(ENGINE)))


def test_untyped_scalars_read_as_upstream():
    md = engine_md()
    # Kept as the strings they are (upstream), read typed by their users.
    assert md.values["launchPaused"] == "false"
    assert md.flag("launchPaused") is False
    assert md.flag("launchPaused", True) is False
    assert md.flag("ballooningEnabled", True) is False
    assert md.flag("missing") is False and md.flag("missing", True) is True
    assert md.integer("minGuaranteedMemoryMb") == 1024
    assert md.number("clusterVersion") == 4.7
    assert md.values["resumeBehavior"] == "auto_resume"
    assert md.custom == {"sap_agent": "true"}
    assert "custom" not in md.values and "other" not in md.values


def test_flag_values():
    for value, want in [("true", True), ("True", True), ("false", False),
                        ("FALSE", False), ("1", True), ("0", False),
                        (True, True), (False, False), (0, False), (2, True)]:
        assert Metadata({"x": value}).flag("x") is want, value
    assert Metadata({"x": "maybe"}).flag("x", True) is True
    assert Metadata({"x": "maybe"}).flag("x") is False


def test_typed_false_bool():
    md = Metadata.from_xml(
        '<vm><launchPaused type="bool">False</launchPaused></vm>')
    assert md.values["launchPaused"] is False


def test_nested_devices_read_as_upstream():
    md = engine_md()
    [nic] = md.devices_info(mac_address="56:6f:1a:2b:00:01")
    assert nic["network"] == "ovirtmgmt"
    assert nic["custom"] == {"queues": "4"}
    assert nic["portMirroring"] == ["red", "blue"]
    [disk] = md.devices_info(devtype="disk", name="vda")
    assert (disk["poolID"], disk["domainID"], disk["imageID"],
            disk["volumeID"]) == ("p", "d", "i", "v")
    assert disk["specParams"] == {"pinToIoThread": "1"}
    assert disk["volumeChain"] == [{"volumeID": "v0"},
                                   {"volumeID": "v", "leaseOffset": 0}]
    assert md.devices_info(devtype="disk", name="vdb") == []


def test_engine_metadata_round_trips_whole():
    md = engine_md()
    md.values["startTime"] = 1.5
    again = Metadata.from_xml(md.to_plain_xml())
    assert again.values == md.values
    assert again.custom == md.custom
    assert again.devices_info() == md.devices_info()
    # The nested element nobody reads is carried back, not dropped.
    assert '<nested a="1">x</nested>' in md.to_plain_xml()
