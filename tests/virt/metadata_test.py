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
