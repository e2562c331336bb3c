"""Parsing node device XML into upstream's hostdevListByCaps params.

The samples are small hand-written node device XMLs in libvirt's format;
sysfs is a tree made in tmp_path. libvirt's test driver (test:///default,
no daemon) stands for a real libvirtd where a connection is needed.
"""

from __future__ import annotations

import os

import pytest

from vdsm.api import schema
from vdsm.common import exception
from vdsm.host import hostdev

SYSTEM = """\
<device>
  <name>computer</name>
  <capability type='system'>
    <hardware><uuid>00000000-0000-0000-0000-000000000000</uuid></hardware>
  </capability>
</device>
"""

# An SR-IOV physical function with an IOMMU group and a NUMA node.
PCI_PF = """\
<device>
  <name>pci_0000_3b_00_0</name>
  <path>/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0</path>
  <parent>computer</parent>
  <driver><name>ixgbe</name></driver>
  <capability type='pci'>
    <class>0x020000</class>
    <domain>0</domain>
    <bus>59</bus>
    <slot>0</slot>
    <function>0</function>
    <product id='0x10fb'>82599ES 10-Gigabit SFI/SFP+ Network</product>
    <vendor id='0x8086'>Intel Corporation</vendor>
    <capability type='virt_functions' maxCount='63'>
      <address domain='0x0000' bus='0x3b' slot='0x10' function='0x0'/>
    </capability>
    <iommuGroup number='31'>
      <address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/>
    </iommuGroup>
    <numa node='1'/>
    <pci-express/>
  </capability>
</device>
"""

PCI_VF = """\
<device>
  <name>pci_0000_3b_10_0</name>
  <parent>pci_0000_3a_00_0</parent>
  <driver><name>vfio-pci</name></driver>
  <capability type='pci'>
    <domain>0</domain>
    <bus>59</bus>
    <slot>16</slot>
    <function>0</function>
    <product id='0x10ed'>82599 Ethernet Controller Virtual Function</product>
    <vendor id='0x8086'>Intel Corporation</vendor>
    <capability type='phys_function'>
      <address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/>
    </capability>
  </capability>
</device>
"""

PCI_BRIDGE = """\
<device>
  <name>pci_0000_00_1c_0</name>
  <parent>computer</parent>
  <driver><name>pcieport</name></driver>
  <capability type='pci'>
    <domain>0</domain>
    <bus>0</bus>
    <slot>28</slot>
    <function>0</function>
    <product id='0xa110'/>
    <vendor id='0x8086'>Intel Corporation</vendor>
    <capability type='pci-bridge'/>
  </capability>
</device>
"""

PCI_MDEV = """\
<device>
  <name>pci_0000_06_00_0</name>
  <parent>computer</parent>
  <capability type='pci'>
    <domain>0</domain>
    <bus>6</bus>
    <slot>0</slot>
    <function>0</function>
    <product id='0x13f2'>GM204GL [Tesla M60]</product>
    <vendor id='0x10de'>NVIDIA Corporation</vendor>
    <capability type='mdev_types'>
      <type id='nvidia-11'>
        <name>GRID M60-0B</name>
        <deviceAPI>vfio-pci</deviceAPI>
        <availableInstances>16</availableInstances>
      </type>
      <type id='nvidia-12'>
        <deviceAPI>vfio-pci</deviceAPI>
      </type>
    </capability>
  </capability>
</device>
"""

USB_DEVICE = """\
<device>
  <name>usb_1_2</name>
  <parent>usb_usb1</parent>
  <driver><name>usb</name></driver>
  <capability type='usb_device'>
    <bus>1</bus>
    <device>2</device>
    <product id='0x0001'>Tablet</product>
    <vendor id='0x0627'>Adomax Technology Co., Ltd</vendor>
  </capability>
</device>
"""

USB_INTERFACE = """\
<device>
  <name>usb_1_2_1_0</name>
  <parent>usb_1_2</parent>
  <driver><name>usbhid</name></driver>
  <capability type='usb'>
    <number>0</number>
    <class>3</class>
    <subclass>0</subclass>
    <protocol>0</protocol>
  </capability>
</device>
"""

NET = """\
<device>
  <name>net_eth0_52_54_00_12_34_56</name>
  <parent>pci_0000_3b_00_0</parent>
  <capability type='net'>
    <interface>eth0</interface>
    <address>52:54:00:12:34:56</address>
    <link speed='10000' state='up'/>
    <feature name='rx'/>
    <capability type='80203'/>
  </capability>
</device>
"""

SCSI_HOST = """\
<device>
  <name>scsi_host5</name>
  <parent>pci_0000_05_00_0</parent>
  <capability type='scsi_host'>
    <host>5</host>
    <unique_id>1</unique_id>
    <capability type='fc_host'>
      <wwnn>20000000c9831b4b</wwnn>
      <wwpn>10000000c9831b4b</wwpn>
    </capability>
    <capability type='vport_ops'>
      <max_vports>127</max_vports>
      <vports>0</vports>
    </capability>
  </capability>
</device>
"""

SCSI = """\
<device>
  <name>scsi_5_0_1_2</name>
  <parent>scsi_target5_0_1</parent>
  <driver><name>sd</name></driver>
  <capability type='scsi'>
    <host>5</host>
    <bus>0</bus>
    <target>1</target>
    <lun>2</lun>
    <type>disk</type>
  </capability>
</device>
"""

STORAGE = """\
<device>
  <name>block_sdb_3600a0b80005adb0b0000ab2d4cae9254</name>
  <parent>scsi_5_0_1_2</parent>
  <capability type='storage'>
    <block>/dev/sdb</block>
    <bus>fibre channel</bus>
    <drive_type>disk</drive_type>
    <model>Storage Array  </model>
    <vendor>NETAPP</vendor>
    <serial>3600a0b80005adb0b0000ab2d4cae9254</serial>
    <size>10737418240</size>
  </capability>
</device>
"""

SCSI_GENERIC = """\
<device>
  <name>scsi_generic_sg1</name>
  <parent>scsi_5_0_1_2</parent>
  <capability type='scsi_generic'>
    <char>/dev/sg1</char>
  </capability>
</device>
"""

ALL = [SYSTEM, PCI_PF, PCI_VF, PCI_BRIDGE, PCI_MDEV, USB_DEVICE,
       USB_INTERFACE, NET, SCSI_HOST, SCSI, STORAGE, SCSI_GENERIC]


def make_pci(root, address, header=0x00, totalvfs=None, group=None):
    """One PCI function in a fake sysfs tree."""
    dev = root / "bus/pci/devices" / address
    dev.mkdir(parents=True)
    config = bytearray(64)
    config[0x0e] = header
    (dev / "config").write_bytes(bytes(config))
    if totalvfs is not None:
        (dev / "sriov_totalvfs").write_text(f"{totalvfs}\n")
    if group is not None:
        groups = root / "kernel/iommu_groups" / group
        groups.mkdir(parents=True)
        os.symlink(groups, dev / "iommu_group")


@pytest.fixture
def sysfs(tmp_path):
    # A PF whose header says endpoint, with the multi-function bit set.
    make_pci(tmp_path, "0000:3b:00.0", header=0x80, totalvfs=63)
    make_pci(tmp_path, "0000:3b:10.0", group="77")
    # A bridge header, without the pci-bridge capability in the XML.
    make_pci(tmp_path, "0000:00:1c.0", header=0x01)
    make_pci(tmp_path, "0000:06:00.0")
    return hostdev.Sysfs(str(tmp_path))


@pytest.fixture
def devices(sysfs):
    return hostdev.parse_all(ALL, sysfs)


def params(devices, name):
    return hostdev.select(devices)[name]["params"]


def test_system_has_no_parent(devices):
    assert params(devices, "computer") == {
        "capability": "system", "is_assignable": "true"}


def test_pci_physical_function(devices):
    assert params(devices, "pci_0000_3b_00_0") == {
        "capability": "pci",
        "parent": "computer",
        "driver": "ixgbe",
        "vendor": "Intel Corporation",
        "vendor_id": "0x8086",
        "product": "82599ES 10-Gigabit SFI/SFP+ Network",
        "product_id": "0x10fb",
        "address": {"domain": "0", "bus": "59", "slot": "0",
                    "function": "0"},
        "iommu_group": "31",
        "numa_node": "1",
        "totalvfs": 63,
        "is_assignable": "true",
    }


def test_pci_virtual_function(devices):
    vf = params(devices, "pci_0000_3b_10_0")
    assert vf["physfn"] == "pci_0000_3b_00_0"
    # Not in the XML: read from the sysfs iommu_group link.
    assert vf["iommu_group"] == "77"
    assert vf["is_assignable"] == "true"
    assert "totalvfs" not in vf
    assert "numa_node" not in vf


def test_pci_bridge_not_assignable(devices):
    bridge = params(devices, "pci_0000_00_1c_0")
    assert bridge["is_assignable"] == "false"
    # No product name in the XML: only the id.
    assert bridge["product_id"] == "0xa110"
    assert "product" not in bridge


def test_pci_bridge_by_header_type_only(sysfs):
    xml = PCI_BRIDGE.replace("<capability type='pci-bridge'/>", "")
    device = hostdev.parse_device(xml, sysfs)
    assert device.params["is_assignable"] == "false"


def test_pci_unreadable_header_not_assignable(tmp_path):
    device = hostdev.parse_device(PCI_PF, hostdev.Sysfs(str(tmp_path)))
    assert device.params["is_assignable"] == "false"
    assert "totalvfs" not in device.params
    # The XML's group does not need sysfs.
    assert device.params["iommu_group"] == "31"


def test_pci_mdev_types(devices):
    gpu = params(devices, "pci_0000_06_00_0")
    # A type without its figures is left out.
    assert gpu["mdev"] == {
        "nvidia-11": {"name": "GRID M60-0B", "available_instances": "16"}}


def test_usb_device(devices):
    assert params(devices, "usb_1_2") == {
        "capability": "usb_device",
        "parent": "usb_usb1",
        "driver": "usb",
        "vendor": "Adomax Technology Co., Ltd",
        "vendor_id": "0x0627",
        "product": "Tablet",
        "product_id": "0x0001",
        "address": {"bus": "1", "device": "2"},
        "is_assignable": "true",
    }


def test_usb_interface(devices):
    assert params(devices, "usb_1_2_1_0") == {
        "capability": "usb", "parent": "usb_1_2", "driver": "usbhid",
        "is_assignable": "true"}


def test_net_interface_name(devices):
    assert params(devices, "net_eth0_52_54_00_12_34_56") == {
        "capability": "net", "parent": "pci_0000_3b_00_0",
        "interface": "eth0", "is_assignable": "true"}


def test_scsi_completed_from_children(devices):
    assert params(devices, "scsi_5_0_1_2") == {
        "capability": "scsi",
        "parent": "scsi_target5_0_1",
        "driver": "sd",
        "address": {"host": "5", "bus": "0", "target": "1", "lun": "2"},
        "vendor": "NETAPP",
        "product": "Storage Array",
        "udev_path": "/dev/sg1",
        "block_path": "/dev/sdb",
        "is_assignable": "true",
    }


def test_scsi_without_children(sysfs):
    devices = hostdev.parse_all([SCSI], sysfs)
    scsi = params(devices, "scsi_5_0_1_2")
    assert not {"vendor", "product", "udev_path", "block_path"} & set(scsi)


def test_storage_and_scsi_generic(devices):
    assert params(devices, "block_sdb_3600a0b80005adb0b0000ab2d4cae9254") == {
        "capability": "storage", "parent": "scsi_5_0_1_2",
        "vendor": "NETAPP", "product": "Storage Array",
        "is_assignable": "true"}
    assert params(devices, "scsi_generic_sg1")["udev_path"] == "/dev/sg1"


def test_every_sample_matches_the_schema(devices):
    strict = schema.Schema(strict=True)
    strict.check_result("Host.hostdevListByCaps", hostdev.select(devices))


def test_select_all_sorted(devices):
    assert list(hostdev.select(devices)) == sorted(
        d.name for d in devices.values())
    assert len(devices) == len(ALL)


@pytest.mark.parametrize("caps, expected", [
    (["pci"], {"pci_0000_3b_00_0", "pci_0000_3b_10_0", "pci_0000_00_1c_0",
               "pci_0000_06_00_0"}),
    (["usb_device", "usb"], {"usb_1_2", "usb_1_2_1_0"}),
    (["scsi", "scsi_generic"], {"scsi_5_0_1_2", "scsi_generic_sg1"}),
    (["system"], {"computer"}),
    # Nested capabilities select their device, as libvirt's flags do.
    (["fc_host"], {"scsi_host5"}),
    (["vports"], {"scsi_host5"}),
    (["mdev_types"], {"pci_0000_06_00_0"}),
    (["net", "no-such-cap"], {"net_eth0_52_54_00_12_34_56"}),
    (["no-such-cap"], set()),
])
def test_select_by_caps(devices, caps, expected):
    assert set(hostdev.select(devices, caps)) == expected


def test_broken_xml_skipped(sysfs):
    devices = hostdev.parse_all(
        [SYSTEM, "<device><name>x", "<device><name>y</name></device>"],
        sysfs)
    assert list(devices) == ["computer"]


@pytest.mark.parametrize("name, address", [
    ("pci_0000_00_1f_2", "0000:00:1f.2"),
    ("pci_0001_3b_10_7", "0001:3b:10.7"),
])
def test_pci_sysfs_address(name, address):
    assert hostdev.pci_sysfs_address(name) == address


def test_pci_name():
    assert hostdev.pci_name({"domain": "0x0000", "bus": "0x3b",
                             "slot": "0x1f", "function": "0x7"}) == \
        "pci_0000_3b_1f_7"


def test_list_by_caps_through_libvirt_test_driver(tmp_path):
    sysfs = hostdev.Sysfs(str(tmp_path))
    devices = hostdev.list_by_caps(uri="test:///default", sysfs=sysfs)
    assert devices["computer"]["params"]["capability"] == "system"
    for name, device in devices.items():
        parent = device["params"].get("parent")
        assert parent is None and name == "computer" or parent in devices
    fc = hostdev.list_by_caps(["fc_host"], uri="test:///default",
                              sysfs=sysfs)
    assert fc and all(d["params"]["capability"] == "scsi_host"
                      for d in fc.values())


def test_libvirt_unreachable_is_a_vdsm_error(tmp_path):
    uri = f"qemu+unix:///system?socket={tmp_path}/no-such-socket"
    with pytest.raises(exception.ResourceUnavailable) as e:
        hostdev.list_by_caps(uri=uri)
    assert "libvirt node devices" in str(e.value)
