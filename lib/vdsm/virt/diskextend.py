"""VM.diskSizeExtend: grow a disk of a running guest.

The manager asks after ``Volume.extendSize`` (SPM), which grew a raw
volume's file and left a qcow2 one alone::

    check     the drive (domainID, imageID, volumeID: the disk's current
              leaf) is a disk of the VM (13 if not); the new size is a
              number not below what the guest sees now (58 if not)
    record    the resize in the VM's metadata (<ovirt-vm:diskResize>,
              JSON: disk, volume, size) before libvirt hears of it
    resize    libvirt blockResize in bytes: qemu grows the leaf (a qcow2
              image's virtual size, a raw file) and the guest sees the
              new capacity at once (virtio-blk's config change)
    capacity  the leaf's metadata capacity is what libvirt reports now
              (qemu rounds a qcow2 size up to a sector); the record is
              dropped; the new size is the answer

A raw leaf goes to the larger of newSize and its file (the SPM may have
grown the file already), as upstream uses the file's size. A failed
blockResize is 56 (UpdateDeviceFailed), the capacity left as libvirt
reports it. A vdsmd killed after the record finds it at recovery
(``recover``): the leaf's capacity becomes what libvirt reports, whether
the resize happened or not, and the record goes.
"""

from __future__ import annotations

import json
import logging
import os
import xml.etree.ElementTree as ET

import libvirt

from vdsm.common import exception
from vdsm.storage import vmdisks
from vdsm.virt import errors
from vdsm.virt.vm import Vm

log = logging.getLogger("vdsm.virt.diskextend")

RECORD_KEY = "diskResize"


class DiskExtends:
    def __init__(self, disks: vmdisks.VmDisks) -> None:
        """disks: storage's VmDisks (volume_info, set_capacity)."""
        self._disks = disks

    def extend(self, vm: Vm, drive: vmdisks.DiskIds, new_size: int) -> int:
        """Grow the disk to new_size bytes; its new capacity."""
        with vm.lock:
            dom = vm.require_running()
            disk = self._find(vm, drive)
            info = self._disks.volume_info(drive.sd_id, drive.img_id,
                                           drive.vol_id)
            current = _capacity(dom, disk)
            if new_size < current:
                raise errors.BadDiskResizeParameter(
                    "the disk cannot shrink", disk=disk, size=new_size,
                    capacity=current)
            target = new_size
            if info.format == "RAW":
                target = max(new_size, info.size.apparent)
            vm.md.values[RECORD_KEY] = json.dumps({
                "disk": disk, "sd": drive.sd_id, "img": drive.img_id,
                "vol": drive.vol_id, "size": target})
            vm.save_metadata(dom)
            log.info("RESIZE vm=%s disk=%s vol=%s from=%d to=%d", vm.id,
                     disk, drive.vol_id, current, target)
            try:
                dom.blockResize(disk, target,
                                libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
            except libvirt.libvirtError as e:
                self._finish(vm, dom, disk, drive.sd_id, drive.img_id,
                             drive.vol_id)
                raise errors.UpdateDeviceFailed(
                    f"blockResize of {disk}: {e}") from None
            return self._finish(vm, dom, disk, drive.sd_id, drive.img_id,
                                drive.vol_id)

    def _find(self, vm: Vm, drive: vmdisks.DiskIds) -> str:
        assert vm.root is not None
        for dev, ids in vmdisks.storage_disks(vm.root):
            if (ids.sd_id, ids.img_id, ids.vol_id) == (
                    drive.sd_id, drive.img_id, drive.vol_id):
                return dev.get("name") or ""
        raise exception.ImageFileNotFound(
            "no such disk in the VM", domainID=drive.sd_id,
            imageID=drive.img_id, volumeID=drive.vol_id)

    def _finish(self, vm: Vm, dom: libvirt.virDomain, disk: str,
                sd_id: str, img_id: str, vol_id: str) -> int:
        """The leaf's capacity as qemu has it now; the record dropped."""
        capacity = _capacity(dom, disk)
        self._disks.set_capacity(sd_id, img_id, vol_id, capacity)
        vm.md.values.pop(RECORD_KEY, None)
        vm.save_metadata(dom)
        vm.refresh(dom)
        log.info("RESIZED vm=%s disk=%s vol=%s capacity=%d", vm.id, disk,
                 vol_id, capacity)
        return capacity

    # Recovery.

    def recover(self, vm: Vm) -> None:
        """Finish a resize a vdsmd restart interrupted."""
        text = vm.md.values.get(RECORD_KEY)
        if not text:
            return
        try:
            rec = json.loads(text)
            disk, sd_id, img_id, vol_id = (rec["disk"], rec["sd"],
                                           rec["img"], rec["vol"])
        except (ValueError, KeyError, TypeError):
            log.warning("RECOVER resize vm=%s: bad record %r", vm.id, text)
            return
        try:
            with vm.lock:
                dom = vm.dom()
                if _source(ET.fromstring(dom.XMLDesc(0)), disk) == vol_id:
                    self._finish(vm, dom, disk, sd_id, img_id, vol_id)
                else:
                    # The disk moved on (a snapshot, a pivot): not ours.
                    vm.md.values.pop(RECORD_KEY, None)
                    vm.save_metadata(dom)
                    vm.refresh(dom)
        except Exception as e:
            log.warning("RECOVER resize vm=%s disk=%s failed: %s", vm.id,
                        disk, e)
            return
        log.info("RECOVER resize vm=%s disk=%s vol=%s", vm.id, disk, vol_id)


def _capacity(dom: libvirt.virDomain, disk: str) -> int:
    try:
        return int(dom.blockInfo(disk, 0)[0])
    except libvirt.libvirtError as e:
        raise errors.UpdateDeviceFailed(f"blockInfo of {disk}: {e}") \
            from None


def _source(root: ET.Element, target: str) -> str | None:
    """The volume id the disk's active layer is."""
    for d in root.findall("devices/disk"):
        t = d.find("target")
        if t is not None and t.get("dev") == target:
            src = d.find("source")
            path = None if src is None else (src.get("file")
                                             or src.get("dev"))
            return os.path.basename(path) if path else None
    return None
