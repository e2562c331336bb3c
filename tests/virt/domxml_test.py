from __future__ import annotations

import uuid

import pytest

from vdsm.common import exception
from vdsm.virt import domxml

VM_ID = "2c1f3a3e-8f5d-4c62-9d0e-3b1f4cbe2b10"


def minimal(extra: str = "", uuid_: str = VM_ID, kind: str = "kvm") -> str:
    return (f"<domain type='{kind}'><name>t</name><uuid>{uuid_}</uuid>"
            f"<memory>1024</memory>{extra}<devices/></domain>")


@pytest.mark.parametrize("text", ["", "<domain", "not xml", "<vm/>"])
def test_parse_refuses_non_domains(text):
    with pytest.raises(exception.CannotCreateVM):
        domxml.parse(text)


def test_prepare_refuses_other_uuid():
    root = domxml.parse(minimal(uuid_=str(uuid.uuid4())))
    with pytest.raises(exception.CannotCreateVM, match="differs"):
        domxml.prepare(root, VM_ID, emulate=False)


def test_prepare_refuses_bad_vm_id():
    root = domxml.parse(minimal())
    with pytest.raises(exception.InvalidParameter):
        domxml.prepare(root, "nope", emulate=False)


def test_prepare_sets_missing_uuid_and_name():
    root = domxml.parse("<domain type='kvm'><memory>1</memory></domain>")
    domxml.prepare(root, VM_ID, emulate=False)
    assert root.findtext("uuid") == VM_ID
    assert root.findtext("name") == f"vm-{VM_ID}"


def test_prepare_refuses_other_hypervisors():
    root = domxml.parse(minimal(kind="xen"))
    with pytest.raises(exception.CannotCreateVM, match="xen"):
        domxml.prepare(root, VM_ID, emulate=False)


def test_emulation_turns_kvm_into_tcg():
    root = domxml.parse(minimal("<cpu mode='host-passthrough'/>"))
    domxml.prepare(root, VM_ID, emulate=True)
    assert root.get("type") == "qemu"
    assert root.find("cpu") is None


def test_no_emulation_keeps_kvm():
    root = domxml.parse(minimal("<cpu mode='host-passthrough'/>"))
    domxml.prepare(root, VM_ID, emulate=False)
    assert root.get("type") == "kvm"
    assert root.find("cpu") is not None


def test_missing_disk_file_is_refused(tmp_path):
    disk = (f"<disk type='file' device='disk'><source file='{tmp_path}/no'/>"
            "<target dev='vda'/></disk>")
    root = domxml.parse(minimal().replace("<devices/>",
                                          f"<devices>{disk}</devices>"))
    with pytest.raises(exception.CannotCreateVM, match="does not exist"):
        domxml.prepare(root, VM_ID, emulate=False)


def test_empty_cdrom_is_fine():
    disk = "<disk type='file' device='cdrom'><target dev='hdc'/></disk>"
    root = domxml.parse(minimal().replace("<devices/>",
                                          f"<devices>{disk}</devices>"))
    domxml.prepare(root, VM_ID, emulate=False)


def test_devices_hash_changes_with_devices():
    a = domxml.parse(minimal())
    b = domxml.parse(minimal().replace(
        "<devices/>", "<devices><interface type='user'/></devices>"))
    assert domxml.devices_hash(a) != domxml.devices_hash(b)
    assert domxml.devices_hash(a) == domxml.devices_hash(
        domxml.parse(minimal()))


def test_disks_and_nics():
    root = domxml.parse(minimal().replace("<devices/>", """<devices>
      <disk type='file' device='disk'><source file='/a'/>
        <target dev='vdb'/><alias name='ua-1'/></disk>
      <interface type='ethernet'><mac address='52:54:00:00:00:01'/>
        <target dev='tap9'/></interface></devices>"""))
    assert domxml.disks(root) == [domxml.Disk("vdb", "disk", "/a", "ua-1")]
    assert domxml.nics(root) == [
        domxml.Nic("52:54:00:00:00:01", None, "tap9")]


def test_graphics_locked_until_ticket():
    root = domxml.parse(minimal().replace(
        "<devices/>", "<devices><graphics type='vnc'/>"
        "<graphics type='sdl'/></devices>"))
    domxml.prepare(root, VM_ID, emulate=False)
    vnc, sdl = root.findall("devices/graphics")
    assert vnc.get("passwd") and vnc.get("passwdValidTo").startswith("1970")
    assert "passwd" not in sdl.attrib
