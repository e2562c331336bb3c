"""VM.diskSizeExtend on a running guest: real vdsmd, libvirtd, TCG guest
with qemu-ga, a file domain with volumes made by Volume.create (see
storagevm.py). The engine's flow: Volume.extendSize on the SPM (grows a
raw file, leaves a qcow2 leaf alone), then VM.diskSizeExtend on the VM's
host; the guest's /sys/block/vda/size must show the new size at once and
the leaf's metadata capacity follow."""

from __future__ import annotations

import base64
import json
import os
import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest

from fixtures.virt import code_of, wait_for
from storage.api_test import ok, vol_args
from storage.storagefixtures import new_id
from virt.storagevm import MIB, SECTOR, START_TIMEOUT

from vdsm.storage import qemuimg
from vdsm.virt import domxml, metadata
from vdsm.virt.diskextend import RECORD_KEY

pytestmark = [pytest.mark.root, pytest.mark.slow]

BLANK = "00000000-0000-0000-0000-000000000000"


def guest_bytes(vm):
    out = vm.agent_exec("cat /sys/block/vda/size")
    assert out["exitcode"] == 0, out
    return int(base64.b64decode(out["out-data"])) * SECTOR


def capacity(vm, vol):
    return int(vm.md(vol)["capacity"])


def leaf(vm):
    return os.path.basename(vm.live_source())


def extend(vm, vol, size):
    return vm.cli.VM.diskSizeExtend(vmID=vm.vm_id,
                                    driveSpecs=vm.drive_spec(vol),
                                    newSize=str(size))


def test_disk_size_extend_raw_then_qcow2_leaf(storage_vm):
    vm = storage_vm
    assert guest_bytes(vm) == 64 * MIB
    # Bad input: 58 for a shrink or no number, 13 for a disk the VM
    # lacks, 1 for no such VM; nothing changes.
    for size in (str(32 * MIB), "big", "-1", "0"):
        assert code_of(vm.cli.VM.diskSizeExtend, vmID=vm.vm_id,
                       driveSpecs=vm.drive_spec(vm.base), newSize=size) == 58
    for bad in (dict(vm.drive_spec(vm.base), imageID=new_id()),
                dict(vm.drive_spec(vm.base), volumeID=new_id()),
                dict(vm.drive_spec(vm.base), domainID=new_id()),
                {"poolID": vm.sp}):
        assert code_of(vm.cli.VM.diskSizeExtend, vmID=vm.vm_id,
                       driveSpecs=bad, newSize=str(96 * MIB)) == 13
    assert code_of(vm.cli.VM.diskSizeExtend, vmID=str(uuid.uuid4()),
                   driveSpecs=vm.drive_spec(vm.base),
                   newSize=str(96 * MIB)) == 1
    assert guest_bytes(vm) == 64 * MIB
    assert capacity(vm, vm.base) == 64 * MIB
    assert RECORD_KEY not in vm_md_values(vm)

    # A raw leaf: the SPM grows the file while qemu runs on it, the VM's
    # host tells qemu.
    ok(vm.cli, vm.cli.Volume.extendSize(newSize=str(96 * MIB),
                                        **vol_args(vm.sp, vm.sd, vm.img,
                                                   vm.base)))
    assert capacity(vm, vm.base) == 96 * MIB
    assert guest_bytes(vm) == 64 * MIB
    assert extend(vm, vm.base, 96 * MIB) == str(96 * MIB)
    assert guest_bytes(vm) == 96 * MIB
    vm.guest_write(b"AT-THE-NEW-END", 96 * MIB // SECTOR - 1)
    assert vm.guest_read(96 * MIB // SECTOR - 1, 1)[:14] == \
        b"AT-THE-NEW-END"

    # A qcow2 leaf: Volume.extendSize leaves it (upstream's), qemu grows
    # it; the capacity in its metadata and its qcow2 header follow.
    vm.size = 96 * MIB
    top = vm.new_leaf(vm.base)
    vm.cli.VM.snapshot(vmID=vm.vm_id, snapDrives=[vm.snap_drive(top,
                                                                vm.base)])
    assert leaf(vm) == top
    ok(vm.cli, vm.cli.Volume.extendSize(newSize=str(128 * MIB),
                                        **vol_args(vm.sp, vm.sd, vm.img,
                                                   top)))
    assert capacity(vm, top) == 96 * MIB
    # The base is no longer the disk's leaf: 13.
    assert code_of(vm.cli.VM.diskSizeExtend, vmID=vm.vm_id,
                   driveSpecs=vm.drive_spec(vm.base),
                   newSize=str(128 * MIB)) == 13
    assert extend(vm, top, 128 * MIB) == str(128 * MIB)
    assert guest_bytes(vm) == 128 * MIB
    assert capacity(vm, top) == 128 * MIB
    path = os.path.realpath(vm.prepared_path(top))
    assert qemuimg.info(path, fmt="qcow2")["virtual-size"] == 128 * MIB
    # A size that is no multiple of a sector: qemu's rounding answered.
    assert extend(vm, top, 130 * MIB + 1) == str(130 * MIB + SECTOR)
    assert capacity(vm, top) == 130 * MIB + SECTOR
    assert RECORD_KEY not in vm_md_values(vm)
    assert vm.cli.VM.getStats(vmID=vm.vm_id)[0]["status"] == "Up"


def vm_md_values(vm):
    conn, dom = vm.dom()
    try:
        return domxml.vm_metadata(ET.fromstring(dom.XMLDesc(0))).values
    finally:
        conn.close()


def test_vdsmd_killed_mid_resize_recovers_the_capacity(storage_vm):
    """vdsmd killed after it recorded the resize and libvirt resized the
    disk, before the capacity reached the volume metadata. The kill is
    real; the two steps before it are done here as vdsmd does them (the
    record written with vdsm's own metadata code, blockResize through
    libvirt), as blockResize returns too fast to kill vdsmd inside it."""
    vm = storage_vm
    vm.vdsmd.kill()
    conn, dom = vm.dom()
    try:
        md = domxml.vm_metadata(ET.fromstring(dom.XMLDesc(0)))
        md.values[RECORD_KEY] = json.dumps({
            "disk": "vda", "sd": vm.sd, "img": vm.img, "vol": vm.base,
            "size": 80 * MIB})
        dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                        md.to_plain_xml(), metadata.PREFIX, metadata.NS,
                        libvirt.VIR_DOMAIN_AFFECT_LIVE
                        | libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        dom.blockResize("vda", 80 * MIB,
                        libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
    finally:
        conn.close()
    vm.vdsmd.start()
    vm.vdsmd.wait_ready(timeout=START_TIMEOUT)
    with vm.vdsmd.client() as cli:
        vm.cli = cli
        wait_for(lambda: RECORD_KEY not in vm_md_values(vm), 60,
                 "the resize record to go")
        assert f"RECOVER resize vm={vm.vm_id} disk=vda" in vm.vdsmd.log()
        assert capacity(vm, vm.base) == 80 * MIB
        assert guest_bytes(vm) == 80 * MIB
        assert cli.VM.getStats(vmID=vm.vm_id)[0]["status"] == "Up"
        # The disk grows on afterwards.
        assert extend(vm, vm.base, 88 * MIB) == str(88 * MIB)
        assert capacity(vm, vm.base) == 88 * MIB
