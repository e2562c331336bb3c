"""Cold merge: removing a snapshot of a stopped VM's disk, in three steps
the manager runs one after the other (upstream's flow)::

    StoragePool.prepareMerge   SPM task: base ILLEGAL (no VM may start on
                               the chain meanwhile); base grown to top's
                               capacity when top is larger
    SDM.merge                  storage job (Host.getJobs): qemu-img commit
                               of top into base (its parent); base's
                               generation checked against base_generation
                               first, one higher after
    StoragePool.finalizeMerge  SPM task: top leaves the chain - top's child
                               rebased onto base (qemu-img rebase -u) and
                               its metadata parent is base, or base becomes
                               the LEAF when top was the leaf; top ILLEGAL
                               (for Image.deleteVolumes), base LEGAL again

Each step checks the subchain first (``check``): both volumes exist in the
image (201, 268), top's parent is base (921), neither is a shared
template volume (920). A step that fails leaves top
LEGAL, so the manager can run the flow again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vdsm.storage import constants as sc
from vdsm.storage import errors, jobs, qemuimg
from vdsm.storage import volume as vol_mod
from vdsm.storage.hostpools import HostPools
from vdsm.storage.imageops import ImageOps
from vdsm.storage.qemuimg import OnProgress, OnStart
from vdsm.storage.tasks import Task, TaskKind, TaskManager
from vdsm.storage.volume import Volume

log = logging.getLogger("vdsm.storage.coldmerge")


@dataclass(frozen=True)
class Subchain:
    """Upstream's SubchainInfo: top merged into base, its parent."""

    sd_id: str
    img_id: str
    top_id: str
    base_id: str
    base_generation: int | None = None


def check(base: Volume, top: Volume) -> None:
    """The subchain is one the flow can merge (see the module doc)."""
    if top.parent() != base.vol_uuid:
        raise errors.WrongParentVolume(vol=top.vol_uuid,
                                       parent=base.vol_uuid)
    for vol in (base, top):
        if vol.metadata().get("VOLTYPE") == sc.SHARED:
            raise errors.VolumeIsNotInChain("a shared (template) volume",
                                            vol=vol.vol_uuid)


def prepare(base: Volume, top: Volume) -> None:
    """StoragePool.prepareMerge's work."""
    check(base, top)
    md = base.update(LEGALITY=sc.ILLEGAL)
    top_cap = int(top.metadata()["CAP"])
    if top_cap > int(md["CAP"]):
        vol_mod.extend(base, top_cap)
    log.info("PREPARE merge base=%s top=%s img=%s", base.vol_uuid,
             top.vol_uuid, base.img_uuid)


def merge(base: Volume, top: Volume, generation: int | None,
          on_start: OnStart | None = None,
          on_progress: OnProgress | None = None) -> None:
    """SDM.merge's work: top's data into base."""
    check(base, top)
    md = base.metadata()
    actual = int(md.get("GEN", "0"))
    if generation is not None and generation != actual:
        raise errors.GenerationMismatch(requested=generation, actual=actual)
    qemuimg.commit(top.path, top.qemu_format(), on_start=on_start,
                   on_progress=on_progress)
    md = base.metadata()
    md["GEN"] = str((int(md.get("GEN", "0")) + 1) % (sc.MAX_GENERATION + 1))
    base.write_metadata(md)
    log.info("MERGE base=%s top=%s img=%s generation=%s", base.vol_uuid,
             top.vol_uuid, base.img_uuid, md["GEN"])


def finalize(base: Volume, top: Volume) -> None:
    """StoragePool.finalizeMerge's work: top out of the chain."""
    check(base, top)
    dom, img = base.dom, base.img_uuid
    kids = vol_mod.children(dom, img, top.vol_uuid)
    if len(kids) > 1:
        raise errors.VolumeIsNotInChain("top has more than one child",
                                        vol=top.vol_uuid, children=kids)
    top.update(LEGALITY=sc.ILLEGAL)
    try:
        if kids:
            child = Volume(dom, img, kids[0])
            qemuimg.rebase_unsafe(child.path, base.vol_uuid,
                                  base.qemu_format(), child.qemu_format())
            child.update(PUUID=base.vol_uuid)
            base.update(LEGALITY=sc.LEGAL)
        else:
            base.update(LEGALITY=sc.LEGAL, VOLTYPE=sc.LEAF)
    except Exception:
        # Top LEGAL again: the manager may run the merge again.
        try:
            top.update(LEGALITY=sc.LEGAL)
        except Exception:
            log.exception("FINALIZE top=%s left ILLEGAL", top.vol_uuid)
        raise
    log.info("FINALIZE merge base=%s top=%s img=%s child=%s",
             base.vol_uuid, top.vol_uuid, img, kids)


class ColdMerges:
    """The three verbs: checks answer at once, the work runs as a task."""

    def __init__(self, images: ImageOps, pools: HostPools,
                 tasks: TaskManager) -> None:
        self._images = images
        self._pools = pools
        self._tasks = tasks

    def _volumes(self, sub: Subchain) -> tuple[Volume, Volume]:
        sd = sc.check_uuid(sub.sd_id, "sd_id")
        img = sc.check_uuid(sub.img_id, "img_id")
        base = self._images.volume(sd, img, sc.check_uuid(sub.base_id,
                                                          "base_id"))
        top = self._images.volume(sd, img, sc.check_uuid(sub.top_id,
                                                         "top_id"))
        check(base, top)
        return base, top

    def prepare(self, sp_uuid: str, sub: Subchain) -> str:
        self._pools.spm_pool(sp_uuid).domain(sc.check_uuid(sub.sd_id,
                                                           "sd_id"))
        base, top = self._volumes(sub)
        return self._tasks.start(TaskKind.PREPARE_MERGE,
                                 lambda task: prepare(base, top))

    def merge(self, job_id: str, sub: Subchain) -> str:
        job_id = sc.check_uuid(job_id, "job_id")
        base, top = self._volumes(sub)

        def run(task: Task) -> None:
            merge(base, top, sub.base_generation, on_start=task.on_child,
                  on_progress=task.on_progress)
        return self._tasks.start(
            TaskKind.MERGE_SUBCHAIN, run, task_id=job_id,
            job_type=jobs.STORAGE, description="merge_subchain")

    def finalize(self, sp_uuid: str, sub: Subchain) -> str:
        self._pools.spm_pool(sp_uuid).domain(sc.check_uuid(sub.sd_id,
                                                           "sd_id"))
        base, top = self._volumes(sub)
        return self._tasks.start(TaskKind.FINALIZE_MERGE,
                                 lambda task: finalize(base, top))
