"""Live merge: VM.merge commits a layer of a running disk into its base.

::

    check     the drive (domainID, imageID, and volumeID when given: its
              current leaf) is a disk of the VM (13 if not); base and top
              are in its chain, base below top; no other merge on that
              disk; bandwidth a non-negative integer (52 if not)
    record    the job in the VM's metadata (<ovirt-vm:mergeJobs>, JSON
              by job id) before libvirt hears of it
    commit    libvirt blockCommit base <- top, relative backing names;
              the active layer (top is the leaf) with ACTIVE, two phases
    monitor   every second: blockJobInfo gives cur/end for vmJobs; once an
              active commit is ready, blockJobAbort PIVOT moves qemu onto
              the base; when libvirt no longer reports the job, the live
              XML says whether top left the chain
    cleanup   volume metadata follows the new chain (the child of top now
              names base, base is LEAF after an active commit), top is
              ILLEGAL for the manager to delete (Image.deleteVolumes); the
              disk's volumeChain (and volumeID) drop top; the job leaves
              the metadata and vmJobs, which tells the engine to go on
              (Image.reconcileVolumeChain)

A vdsmd restart finds the recorded jobs (``recover``) and monitors them
again: a libvirt job still running (or ready to pivot) is followed as
before, one that ended meanwhile is cleaned up from the live XML. A merge
libvirt ended without removing top (aborted, failed) is dropped, the chain
left as it is.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from typing import Any

import libvirt

from vdsm.common import exception
from vdsm.storage import vmdisks
from vdsm.virt import domxml
from vdsm.virt.guestinfo import BlockJob, BlockJobKind
from vdsm.virt.vm import Vm

log = logging.getLogger("vdsm.virt.livemerge")

JOBS_KEY = "mergeJobs"
INTERVAL = 1.0
# The first looks come sooner (doubling up to INTERVAL): a small merge
# ends long before a second.
FIRST_INTERVAL = 0.05


@dataclass(frozen=True)
class MergeDrive:
    """The engine's drive (DriveSpecVolume): vol_id "" when not given."""

    sd_id: str
    img_id: str
    vol_id: str


@dataclass
class MergeJob:
    id: str
    disk: str           # target (vda)
    sd_id: str
    img_id: str
    base: str
    top: str
    bandwidth: int      # MiB/s, 0 unlimited
    active: bool        # top is the leaf: active commit with pivot
    cur: int = 0
    end: int = 0

    def record(self) -> dict[str, Any]:
        d = asdict(self)
        del d["cur"], d["end"]
        return d


class Merges:
    def __init__(self, disks: vmdisks.VmDisks,
                 interval: float = INTERVAL) -> None:
        """disks: storage's VmDisks (sync_chain)."""
        self._disks = disks
        self._interval = interval
        self._lock = threading.Lock()
        self._jobs: dict[str, dict[str, MergeJob]] = {}   # vm id -> jobs
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    # Views.

    def block_jobs(self, vm_id: str) -> list[BlockJob]:
        """The merges of a VM as vmJobs reports them (engine's keys)."""
        with self._lock:
            jobs = list(self._jobs.get(vm_id, {}).values())
        return [BlockJob(id=j.id, disk=j.disk, kind=BlockJobKind.COMMIT,
                         cur=j.cur, end=j.end, bandwidth=j.bandwidth,
                         image_id=j.img_id) for j in jobs]

    # VM.merge.

    def merge(self, vm: Vm, drive: MergeDrive, base: str, top: str,
              bandwidth: Any, job_id: str) -> None:
        try:
            bw = int(bandwidth or 0)
        except (TypeError, ValueError):
            raise exception.MergeFailed("bad bandwidth",
                                        bandwidth=bandwidth) from None
        if bw < 0:
            raise exception.MergeFailed("bad bandwidth", bandwidth=bw)
        with vm.lock:
            dom = vm.require_running()
            assert vm.root is not None
            found = [(dev, ids) for dev, ids in vmdisks.storage_disks(vm.root)
                     if ids.img_id == drive.img_id
                     and ids.sd_id == drive.sd_id
                     and drive.vol_id in ("", ids.vol_id)]
            if not found:
                raise exception.ImageFileNotFound(
                    "no such disk in the VM", domainID=drive.sd_id,
                    imageID=drive.img_id, volumeID=drive.vol_id,
                    job=job_id)
            dev, ids = found[0]
            disk = dev.get("name") or ""
            chain = vmdisks.chain_of(dev)
            if base not in chain or top not in chain:
                raise exception.MergeFailed(
                    "base or top not in the disk's chain", base=base,
                    top=top, chain=chain, job=job_id)
            if chain.index(base) >= chain.index(top):
                raise exception.MergeFailed(
                    "base is not below top", base=base, top=top,
                    chain=chain, job=job_id)
            with self._lock:
                running = self._jobs.setdefault(vm.id, {})
                if job_id in running or any(
                        j.disk == disk for j in running.values()):
                    raise exception.MergeFailed(
                        "a merge runs on this disk already", disk=disk,
                        job=job_id)
                job = MergeJob(job_id, disk, ids.sd_id, ids.img_id, base,
                               top, bw,
                               active=top == chain[-1])
                running[job_id] = job
            try:
                live = domxml.parse(dom.XMLDesc(0))
                base_target = _target(live, disk, base)
                top_target = disk if job.active else _target(live, disk, top)
                self._persist(vm, dom)
                flags = libvirt.VIR_DOMAIN_BLOCK_COMMIT_RELATIVE
                if job.active:
                    flags |= libvirt.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE
                log.info("MERGE vm=%s job=%s disk=%s base=%s top=%s "
                         "active=%s bandwidth=%d", vm.id, job_id, disk,
                         base_target, top_target, job.active, bw)
                dom.blockCommit(disk, base_target, top_target, bw, flags)
            except (libvirt.libvirtError, exception.MergeFailed) as e:
                self._untrack(vm.id, job_id)
                try:
                    self._persist(vm, dom)
                except libvirt.libvirtError as e2:
                    log.warning("METADATA vm=%s: %s", vm.id, e2)
                if isinstance(e, exception.MergeFailed):
                    raise
                raise exception.MergeFailed(str(e), job=job_id) from None
        self._monitor(vm, job)

    # Recovery.

    def recover(self, vm: Vm) -> None:
        text = vm.md.values.get(JOBS_KEY)
        if not text:
            return
        try:
            records = json.loads(text)
            jobs = [MergeJob(**r) for r in records.values()]
        except (ValueError, TypeError, AttributeError):
            log.warning("RECOVER merge vm=%s: bad record %r", vm.id, text)
            return
        with self._lock:
            running = self._jobs.setdefault(vm.id, {})
            for job in jobs:
                running.setdefault(job.id, job)
        for job in jobs:
            log.info("RECOVER merge vm=%s job=%s", vm.id, job.id)
            self._monitor(vm, job)

    # Helpers.

    def _persist(self, vm: Vm, dom: libvirt.virDomain) -> None:
        with self._lock:
            jobs = {j.id: j.record()
                    for j in self._jobs.get(vm.id, {}).values()}
        if jobs:
            vm.md.values[JOBS_KEY] = json.dumps(jobs)
        else:
            vm.md.values.pop(JOBS_KEY, None)
        vm.save_metadata(dom)

    def _untrack(self, vm_id: str, job_id: str) -> None:
        with self._lock:
            running = self._jobs.get(vm_id, {})
            running.pop(job_id, None)
            if not running:
                self._jobs.pop(vm_id, None)

    def _monitor(self, vm: Vm, job: MergeJob) -> None:
        threading.Thread(target=self._follow, args=(vm, job), daemon=True,
                         name=f"virt/merge/{job.id[:8]}").start()

    def _follow(self, vm: Vm, job: MergeJob) -> None:
        wait = min(FIRST_INTERVAL, self._interval)
        while not self._stop.is_set():
            try:
                if self._step(vm, job):
                    return
            except exception.NoSuchVM:
                log.info("MERGE vm=%s gone, job=%s stays recorded", vm.id,
                         job.id)
                self._untrack(vm.id, job.id)
                return
            except Exception:
                log.exception("MERGE vm=%s job=%s step failed", vm.id,
                              job.id)
            self._stop.wait(wait)
            wait = min(wait * 2, self._interval)

    def _step(self, vm: Vm, job: MergeJob) -> bool:
        """One look at the job; True once it is over."""
        dom = vm.dom()
        info = dom.blockJobInfo(job.disk, 0)
        if info:
            job.cur, job.end = int(info.get("cur", 0)), int(
                info.get("end", 0))
            if job.active and job.end and job.cur == job.end:
                try:
                    dom.blockJobAbort(
                        job.disk, libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
                    log.info("PIVOT vm=%s job=%s", vm.id, job.id)
                except libvirt.libvirtError as e:
                    # Not ready yet: the next look tries again.
                    log.debug("PIVOT vm=%s job=%s not yet: %s", vm.id,
                              job.id, e)
                    return False
                # The pivot returns once done: clean up now if libvirt
                # agrees the job is over.
                if dom.blockJobInfo(job.disk, 0):
                    return False
            else:
                return False
        with vm.lock:
            live = domxml.parse(dom.XMLDesc(0))
            chain = _live_chain(live, job.disk)
            if job.top in chain or not chain:
                log.warning("MERGE vm=%s job=%s ended with top still in "
                            "the chain %s: dropped", vm.id, job.id, chain)
            else:
                self._cleanup(vm, dom, job, chain)
            self._untrack(vm.id, job.id)
            self._persist(vm, dom)
            vm.refresh(dom)
        return True

    def _cleanup(self, vm: Vm, dom: libvirt.virDomain, job: MergeJob,
                 chain: list[str]) -> None:
        self._disks.sync_chain(job.sd_id, job.img_id, chain, [job.top])
        for dev in vm.md.devices:
            if dev.get("devtype") == "disk" and dev.get("name") == job.disk:
                vmdisks.drop_from_chain(dev, job.top, chain[-1])
        log.info("MERGED vm=%s job=%s chain=%s", vm.id, job.id, chain)


def _disk(root: ET.Element, target: str) -> ET.Element | None:
    for disk in root.findall("devices/disk"):
        t = disk.find("target")
        if t is not None and t.get("dev") == target:
            return disk
    return None


def _layers(root: ET.Element, target: str) -> list[tuple[str, str | None]]:
    """(volume id, libvirt index) of the disk's layers, leaf first."""
    disk = _disk(root, target)
    out: list[tuple[str, str | None]] = []
    node = disk
    while node is not None:
        src = node.find("source")
        path = None if src is None else (src.get("file") or src.get("dev"))
        if not path:
            break
        index = node.get("index") if node is not disk else (
            src.get("index") if src is not None else None)
        out.append((os.path.basename(path), index))
        node = node.find("backingStore")
    return out


def _live_chain(root: ET.Element, target: str) -> list[str]:
    """The volume ids qemu runs the disk on, base first."""
    return [vol for vol, _ in reversed(_layers(root, target))]


def _target(root: ET.Element, target: str, vol_id: str) -> str:
    for vol, index in _layers(root, target):
        if vol == vol_id:
            if index is None:
                raise exception.MergeFailed(
                    "libvirt gives no index for the volume", volume=vol_id)
            return f"{target}[{index}]"
    raise exception.MergeFailed("volume not in the live chain",
                                volume=vol_id, disk=target)
