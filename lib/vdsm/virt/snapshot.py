"""Live disk snapshots: VM.snapshot.

The manager creates each new leaf volume first (``Volume.create`` on the
disk's current leaf); ``VM.snapshot`` then switches the running guest to
them::

    check     every snapDrive names a disk of the VM by domainID, imageID
              and its current leaf (baseVolumeID): else 13, nothing done
    prepare   the new leaves (their chain, paths under the run link)
    record    the plan in the VM's metadata (<ovirt-vm:snapshotJob>, JSON:
              job id, disk -> new volume and path)
    freeze    the guest's file systems through qemu-ga, unless the manager
              froze them (frozen) or the VM has no agent; a timer thaws
              them after freeze_timeout whatever happens
    libvirt   snapshotCreateXML disk-only, reuse-ext, no-metadata: qemu
              writes to the new leaves from now on
    thaw      on every path once frozen here
    hook      after_vm_snapshot (before_vm_snapshot before the freeze)
    metadata  each disk's volumeID and volumeChain name the new leaf; the
              plan is dropped

With ``jobUUID`` the checks answer at once and the rest runs as a virt job
(``Host.getJobs``, ``vdsm.virt.jobs``); without, the verb returns when
done. A failure before libvirt switched the disks tears the new leaves
down and ends with 48 (SnapshotFailed). A vdsmd killed after the plan was
recorded finds it at recovery (``recover``): a disk whose live XML runs on
its new leaf gets its metadata finished, otherwise the plan is dropped; the
job ends done or failed accordingly. Memory snapshots (``snapMemory``) are
not done here: refused with 48.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import libvirt

from vdsm.common import exception
from vdsm.storage import vmdisks
from vdsm.storage.imagedir import Drive
from vdsm.virt import domxml
from vdsm.virt.jobs import VirtJobs
from vdsm.virt.vm import Vm

log = logging.getLogger("vdsm.virt.snapshot")

# The VM metadata scalar holding a snapshot in flight (JSON).
JOB_KEY = "snapshotJob"
DESCRIPTION = "snapshot"

FLAGS = (libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
         | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT
         | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA)

DEFAULT_FREEZE_TIMEOUT = 8.0


@dataclass(frozen=True)
class SnapDrive:
    """One snapDrives entry: the new leaf on top of base_vol_id."""

    sd_id: str
    img_id: str
    vol_id: str
    base_vol_id: str


@dataclass(frozen=True)
class _Planned:
    disk: str            # target (vda)
    pool_id: str
    drive: SnapDrive


class Snapshots:
    def __init__(self, disks: Any, jobs: VirtJobs) -> None:
        """disks: storage's VmDisks (prepare_image, teardown_image)."""
        self._disks = disks
        self._jobs = jobs

    def snapshot(self, vm: Vm, drives: list[SnapDrive], frozen: bool,
                 freeze_timeout: float | None, job_id: str | None,
                 memory: bool = False) -> None:
        if memory:
            raise exception.SnapshotFailed("memory snapshots not supported")
        with vm.lock:
            vm.require_running()
            plan = self._plan(vm, drives)
        if job_id is None:
            self._run(vm, plan, frozen, freeze_timeout, str(uuid.uuid4()))
            return
        self._jobs.add(job_id, DESCRIPTION)

        def run() -> None:
            try:
                self._run(vm, plan, frozen, freeze_timeout, job_id)
            except Exception as e:
                log.warning("FAIL snapshot vm=%s job=%s: %s", vm.id,
                            job_id, e)
                self._jobs.failed(job_id, e)
            else:
                self._jobs.done(job_id)
        threading.Thread(target=run, daemon=True,
                         name=f"virt/snapshot/{vm.id}").start()

    def _plan(self, vm: Vm, drives: list[SnapDrive]) -> list[_Planned]:
        if not drives:
            raise exception.SnapshotFailed("no snapDrives")
        assert vm.root is not None
        disks = {ids.img_id: ids for _, ids in vmdisks.storage_disks(vm.root)}
        names = {ids.img_id: dev.get("name") or ""
                 for dev, ids in vmdisks.storage_disks(vm.root)}
        plan = []
        for d in drives:
            ids = disks.get(d.img_id)
            if (ids is None or ids.sd_id != d.sd_id
                    or ids.vol_id != d.base_vol_id):
                raise exception.ImageFileNotFound(
                    "no such disk in the VM", domainID=d.sd_id,
                    imageID=d.img_id, baseVolumeID=d.base_vol_id)
            if d.vol_id == d.base_vol_id:
                raise exception.SnapshotFailed(
                    "new volume is the base volume", volumeID=d.vol_id)
            plan.append(_Planned(names[d.img_id], ids.pool_id, d))
        if len({p.disk for p in plan}) != len(plan):
            raise exception.SnapshotFailed("a disk named twice")
        return plan

    def _run(self, vm: Vm, plan: list[_Planned], frozen: bool,
             freeze_timeout: float | None, job_id: str) -> None:
        with vm.lock:
            dom = vm.require_running()
            prepared: dict[str, Drive] = {}
            try:
                for p in plan:
                    d = p.drive
                    prepared[p.disk] = self._disks.prepare_image(
                        p.pool_id, d.sd_id, d.img_id, d.vol_id)
            except Exception as e:
                self._teardown(prepared.values())
                raise exception.SnapshotFailed(f"prepare: {e}") from None
            vm.md.values[JOB_KEY] = json.dumps({
                "id": job_id,
                "disks": {disk: {"sd": drv.sd_id, "img": drv.img_id,
                                 "vol": drv.vol_id, "path": drv.path,
                                 "pool": p.pool_id}
                          for p in plan
                          for disk, drv in [(p.disk, prepared[p.disk])]}})
            try:
                vm.save_metadata(dom)
            except libvirt.libvirtError as e:
                vm.md.values.pop(JOB_KEY, None)
                self._teardown(prepared.values())
                raise exception.SnapshotFailed(f"metadata: {e}") from None
            try:
                vm.hook("before_vm_snapshot")
            except exception.VdsmError as e:
                vm.md.values.pop(JOB_KEY, None)
                self._save_quietly(vm, dom)
                self._teardown(prepared.values())
                raise exception.SnapshotFailed(str(e)) from None
            thaw = None
            if not frozen and vm.root is not None \
                    and domxml.has_guest_agent(vm.root):
                thaw = _freeze(dom, freeze_timeout)
            try:
                dom.snapshotCreateXML(snapshot_xml(vm.root, prepared), FLAGS)
            except libvirt.libvirtError as e:
                vm.md.values.pop(JOB_KEY, None)
                self._save_quietly(vm, dom)
                self._teardown(prepared.values())
                raise exception.SnapshotFailed(str(e)) from None
            finally:
                if thaw is not None:
                    thaw()
            log.info("SNAPSHOT vm=%s job=%s disks=%s", vm.id, job_id,
                     {k: v.vol_id for k, v in prepared.items()})
            try:
                vm.hook("after_vm_snapshot", dom.XMLDesc(0))
            except exception.VdsmError as e:
                log.warning("HOOK after_vm_snapshot vm=%s: %s", vm.id, e)
            self._finish(vm, dom, prepared)

    def _finish(self, vm: Vm, dom: libvirt.virDomain,
                drives: dict[str, Drive]) -> None:
        """Name the new leaves in the device metadata, drop the plan."""
        for dev in vm.md.devices:
            if dev.get("devtype") == "disk" and dev.get("name") in drives:
                vmdisks.set_leaf(dev, drives[dev.get("name") or ""])
        vm.md.values.pop(JOB_KEY, None)
        vm.save_metadata(dom)
        vm.refresh(dom)

    def _save_quietly(self, vm: Vm, dom: libvirt.virDomain) -> None:
        try:
            vm.save_metadata(dom)
        except libvirt.libvirtError as e:
            log.warning("METADATA vm=%s: %s", vm.id, e)

    def _teardown(self, drives: Any) -> None:
        for d in drives:
            try:
                self._disks.teardown_image(d.sd_id, d.img_id, d.vol_id)
            except Exception as e:
                log.warning("TEARDOWN img=%s error=%s", d.img_id, e)

    # Recovery.

    def recover(self, vm: Vm) -> None:
        """Finish or drop a snapshot a vdsmd restart interrupted."""
        text = vm.md.values.get(JOB_KEY)
        if not text:
            return
        try:
            job = json.loads(text)
            job_id = job["id"]
            planned = job["disks"]
        except (ValueError, KeyError, TypeError):
            log.warning("RECOVER snapshot vm=%s: bad record %r", vm.id, text)
            return
        self._jobs.add(job_id, DESCRIPTION)
        try:
            with vm.lock:
                dom = vm.dom()
                live = domxml.parse(dom.XMLDesc(0))
                switched: dict[str, Drive] = {}
                for disk, rec in planned.items():
                    if _source(live, disk) == rec["path"]:
                        switched[disk] = self._disks.prepare_image(
                            rec["pool"], rec["sd"], rec["img"], rec["vol"])
                self._finish(vm, dom, switched)
        except Exception as e:
            log.warning("RECOVER snapshot vm=%s job=%s failed: %s", vm.id,
                        job_id, e)
            self._jobs.failed(job_id, exception.SnapshotFailed(str(e)))
            return
        log.info("RECOVER snapshot vm=%s job=%s switched=%s", vm.id, job_id,
                 sorted(switched))
        if switched:
            self._jobs.done(job_id)
        else:
            self._jobs.failed(job_id, exception.SnapshotFailed(
                "interrupted before libvirt switched the disks"))


def snapshot_xml(root: ET.Element | None, drives: dict[str, Drive]) -> str:
    """The disk-only snapshot of drives (target -> new leaf); the VM's
    other disks are left out of it."""
    snap = ET.Element("domainsnapshot")
    disks = ET.SubElement(snap, "disks")
    targets = [] if root is None else [
        d.target for d in domxml.disks(root) if d.device == "disk"
        and d.target]
    for target in targets:
        if target in drives:
            disk = ET.SubElement(disks, "disk", name=target,
                                 snapshot="external", type="file")
            ET.SubElement(disk, "source", file=drives[target].path)
            ET.SubElement(disk, "driver", type="qcow2")
        else:
            ET.SubElement(disks, "disk", name=target, snapshot="no")
    return ET.tostring(snap, encoding="unicode")


def _source(root: ET.Element, target: str) -> str | None:
    for disk in root.findall("devices/disk"):
        t = disk.find("target")
        if t is not None and t.get("dev") == target:
            src = disk.find("source")
            return None if src is None else src.get("file")
    return None


def _freeze(dom: libvirt.virDomain, timeout: float | None) -> Any:
    """Freeze the guest's file systems; return the thaw (idempotent,
    also run by a timer after timeout), or None when the agent could not
    freeze (the snapshot goes on, as upstream's)."""
    try:
        dom.fsFreeze(None, 0)
    except libvirt.libvirtError as e:
        log.warning("FREEZE failed, snapshot not quiesced: %s", e)
        return None
    lock = threading.Lock()
    done = [False]

    def thaw() -> None:
        with lock:
            if done[0]:
                return
            done[0] = True
        timer.cancel()
        try:
            dom.fsThaw(None, 0)
        except libvirt.libvirtError as e:
            log.warning("THAW failed: %s", e)
    timer = threading.Timer(timeout or DEFAULT_FREEZE_TIMEOUT, thaw)
    timer.daemon = True
    timer.start()
    return thaw
