"""Image and volume verbs: create, delete, extend, move and copy.

SPM verbs (create, delete, extend, move) check the SPM role and their
input before they return a task id, so bad input gets its error code at
once and changes nothing; the task then does the work, having recorded
its rollback first (see tasks.py).
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
from typing import Callable

from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage import imagedir as img_mod
from vdsm.storage import jobs
from vdsm.storage import imageclone, volinspect, volumecopy, volumejobs
from vdsm.storage import volume as vol_mod
from vdsm.storage.domain import FileDomain
from vdsm.storage.hostpools import HostPools
from vdsm.storage.imagedir import Drive
from vdsm.storage.links import ImageLinks
from vdsm.storage.qemuimg import Measure
from vdsm.storage.repository import Repository
from vdsm.storage.tasks import Task, TaskKind, TaskManager
from vdsm.storage.volume import (Volume, VolumeInfo, VolumeRef, VolumeSize,
                                 VolumeSpec)

log = logging.getLogger("vdsm.storage.imageops")



class MoveOp(enum.Enum):
    COPY = "copy"        # the image stays on the source too
    MOVE = "move"        # the source's copy is removed at the end


class ImageOps:
    def __init__(self, repository: Repository, pools: HostPools,
                 tasks: TaskManager, links: ImageLinks) -> None:
        self._repo = repository
        self._pools = pools
        self._tasks = tasks
        self._links = links
        tasks.rollbacks["delete_volume"] = self._rollback_delete_volume
        tasks.rollbacks["remove_sparsify_temp"] = self._rollback_sparsify

    # Volumes.

    def create_volume(self, sd_uuid: str, sp_uuid: str,
                      spec: VolumeSpec) -> str:
        pool = self._pools.spm_pool(sp_uuid)
        dom = pool.domain(sc.check_uuid(sd_uuid, "sd_uuid"))
        sc.check_uuid(spec.img_uuid, "img_uuid")
        sc.check_uuid(spec.vol_uuid, "vol_uuid")
        if spec.parent_uuid != sc.BLANK_UUID:
            sc.check_uuid(spec.parent_uuid, "parent_uuid")
        vol_mod.check_spec(dom, spec)

        def run(task: Task) -> None:
            task.add_rollback("delete_volume", sd_uuid=dom.sd_uuid,
                              img_uuid=spec.img_uuid,
                              vol_uuid=spec.vol_uuid)
            vol_mod.create(dom, spec, on_start=task.on_child)
        return self._tasks.start(TaskKind.CREATE_VOLUME, run)

    def volume(self, sd_uuid: str, img_uuid: str, vol_uuid: str) -> Volume:
        dom = self._repo.find_domain(sd_uuid)
        vol = Volume(dom, img_uuid, vol_uuid)
        if not dom.io.call("exists", path=dom.image_dir(img_uuid)):
            raise errors.ImageDoesNotExistInDomain(img=img_uuid,
                                                   sd=sd_uuid)
        if not vol.exists():
            raise errors.VolumeDoesNotExist(vol=vol_uuid)
        return vol

    def volume_info(self, sd_uuid: str, img_uuid: str,
                    vol_uuid: str) -> VolumeInfo:
        """The volume's info, with the volumes whose parent it is."""
        vol = self.volume(sd_uuid, img_uuid, vol_uuid)
        return vol.info(vol_mod.children(vol.dom, img_uuid, vol.vol_uuid))

    def volume_size(self, sd_uuid: str, img_uuid: str,
                    vol_uuid: str) -> VolumeSize:
        return self.volume(sd_uuid, img_uuid, vol_uuid).size()

    def delete_volume(self, sd_uuid: str, sp_uuid: str, img_uuid: str,
                      vol_uuids: list[str], force: bool = False) -> str:
        pool = self._pools.spm_pool(sp_uuid)
        pool.domain(sc.check_uuid(sd_uuid, "sd_uuid"))
        vols = [self.volume(sd_uuid, img_uuid, v) for v in vol_uuids]
        for vol in vols:
            if not force and vol_mod.children(vol.dom, img_uuid,
                                              vol.vol_uuid):
                raise errors.VolumeHasChildren(vol=vol.vol_uuid)

        def run(task: Task) -> None:
            for vol in vols:
                # Illegal first: a kill half-way leaves no legal remnant.
                vol.update(LEGALITY=sc.ILLEGAL)
                vol_mod.delete(vol.dom, img_uuid, vol.vol_uuid, force=force)
        return self._tasks.start(TaskKind.DELETE_VOLUME, run)

    def extend_volume(self, sd_uuid: str, sp_uuid: str, img_uuid: str,
                      vol_uuid: str, new_size: int) -> str:
        self._pools.spm_pool(sp_uuid).domain(sd_uuid)
        vol = self.volume(sd_uuid, img_uuid, vol_uuid)
        cap = int(vol.metadata()["CAP"])
        if new_size < cap or new_size % 512:
            raise errors.InvalidParameter(
                "new size must be a multiple of 512, not below capacity",
                size=new_size, capacity=cap)
        return self._tasks.start(
            TaskKind.EXTEND_VOLUME,
            lambda task: vol_mod.extend_size(vol, new_size))

    def set_capacity(self, sd_uuid: str, img_uuid: str, vol_uuid: str,
                     capacity: int) -> None:
        """A running VM's qemu resized the volume: record its capacity."""
        vol_mod.set_capacity(self.volume(sd_uuid, img_uuid, vol_uuid),
                             capacity)

    def update_volume_size(self, sd_uuid: str, sp_uuid: str,
                           img_uuid: str, vol_uuid: str,
                           new_size: int) -> int:
        """VM.diskSizeExtend of a disk no VM runs (the blank VM id)."""
        if self._pools.connected():
            self._pools.get(sp_uuid).domain(
                sc.check_uuid(sd_uuid, "sd_uuid"))
        if new_size <= 0:
            raise errors.InvalidParameter("bad newSize", size=new_size)
        return vol_mod.update_size(
            self.volume(sd_uuid, img_uuid, vol_uuid), new_size)

    def set_description(self, sd_uuid: str, sp_uuid: str, img_uuid: str,
                        vol_uuid: str, description: str) -> None:
        self._pools.spm_pool(sp_uuid).domain(sd_uuid)
        if "\n" in description or len(description) > 210:
            raise errors.InvalidParameter("bad description")
        self.volume(sd_uuid, img_uuid, vol_uuid).update(
            DESCRIPTION=description)

    def copy_volume(self, sp_uuid: str, src: VolumeRef, dst_sd: str,
                    req: volumecopy.CopyRequest) -> str:
        """Volume.copy (SPM): src's chain collapsed into a new volume."""
        pool = self._pools.spm_pool(sp_uuid)
        pool.domain(sc.check_uuid(src.sd_id, "sd_uuid"))
        dst_dom = pool.domain(sc.check_uuid(dst_sd, "dst_sd_uuid"))
        sc.check_uuid(req.dst_img, "dst_img_uuid")
        sc.check_uuid(req.dst_vol, "dst_vol_uuid")
        src_vol = self.volume(src.sd_id, src.img_id, src.vol_id)
        spec = volumecopy.check(src_vol, dst_dom, req)

        def run(task: Task) -> None:
            task.add_rollback("delete_volume", sd_uuid=dst_dom.sd_uuid,
                              img_uuid=spec.img_uuid,
                              vol_uuid=spec.vol_uuid)
            volumecopy.copy(src_vol, dst_dom, spec, req,
                            on_start=task.on_child,
                            on_progress=task.on_progress)
            task.drop_rollbacks()
        return self._tasks.start(TaskKind.COPY_VOLUME, run)

    def set_legality(self, sd_uuid: str, sp_uuid: str, img_uuid: str,
                     vol_uuid: str, legality: str) -> None:
        """Volume.setLegality (SPM only, as setDescription)."""
        self._pools.spm_pool(sp_uuid).domain(sd_uuid)
        if legality not in (sc.LEGAL, sc.ILLEGAL, sc.FAKE):
            raise errors.InvalidParameter("bad legality", value=legality)
        vol = self.volume(sd_uuid, img_uuid, vol_uuid)
        vol.update(LEGALITY=legality)
        log.info("LEGALITY vol=%s img=%s sd=%s legality=%s", vol_uuid,
                 img_uuid, sd_uuid, legality)

    def qemu_image_info(self, sd_uuid: str, img_uuid: str,
                        vol_uuid: str) -> volinspect.QemuImageInfo:
        return volinspect.image_info(
            self.volume(sd_uuid, img_uuid, vol_uuid))

    def measure(self, sd_uuid: str, img_uuid: str, vol_uuid: str,
                dst_format: int, backing: bool = True,
                base_id: str | None = None) -> Measure:
        return volinspect.measure(self.volume(sd_uuid, img_uuid, vol_uuid),
                                  dst_format, backing, base_id)

    # Images.

    def delete_image(self, sd_uuid: str, sp_uuid: str,
                     img_uuid: str) -> str:
        dom = self._pools.spm_pool(sp_uuid).domain(
            sc.check_uuid(sd_uuid, "sd_uuid"))
        img_mod.volumes(dom, sc.check_uuid(img_uuid, "img_uuid"))

        def run(task: Task) -> None:
            for vol_uuid in img_mod.volumes(dom, img_uuid):
                Volume(dom, img_uuid, vol_uuid).update(LEGALITY=sc.ILLEGAL)
            img_mod.delete(dom, img_uuid)
            self._links.unlink(dom.sd_uuid, img_uuid)
        return self._tasks.start(TaskKind.DELETE_IMAGE, run)

    def sync_chain(self, sd_uuid: str, img_uuid: str, vols: list[str],
                   removed: list[str]) -> None:
        """After a live merge (virt): see imagedir.sync_chain."""
        img_mod.sync_chain(self._repo.find_domain(sd_uuid), img_uuid, vols,
                           removed)

    def reconcile_chain(self, sd_uuid: str, sp_uuid: str, img_uuid: str,
                        leaf_uuid: str) -> list[str]:
        """Image.reconcileVolumeChain: the actual chain, metadata synced."""
        dom = self._repo.find_domain(sc.check_uuid(sd_uuid, "sd_uuid"))
        self.volume(sd_uuid, sc.check_uuid(img_uuid, "img_uuid"),
                    sc.check_uuid(leaf_uuid, "vol_uuid"))
        return img_mod.reconcile(dom, img_uuid, leaf_uuid)

    def prepare(self, sd_uuid: str, img_uuid: str, vol_uuid: str) -> Drive:
        """The chain of vol_uuid, its paths under the image's run link."""
        dom = self._repo.find_domain(sd_uuid)
        drive = img_mod.prepare(dom, sc.check_uuid(img_uuid, "img_uuid"),
                                sc.check_uuid(vol_uuid, "vol_uuid"))
        link = self._links.link(dom.sd_uuid, img_uuid,
                                    dom.image_dir(img_uuid))
        chain = [dataclasses.replace(c, path=os.path.join(link, c.vol_id))
                 for c in drive.chain]
        return dataclasses.replace(drive, path=chain[-1].path, chain=chain)

    def teardown(self, sd_uuid: str, img_uuid: str,
                 vol_uuid: str | None = None) -> None:
        # File volumes need no deactivation; check the ids all the same.
        dom = self._repo.find_domain(sd_uuid)
        if not dom.io.call("exists", path=dom.image_dir(img_uuid)):
            raise errors.ImageDoesNotExistInDomain(img=img_uuid,
                                                   sd=sd_uuid)
        log.info("TEARDOWN img=%s vol=%s sd=%s", img_uuid, vol_uuid,
                 sd_uuid)

    def move_image(self, sp_uuid: str, src_sd: str, dst_sd: str,
                   img_uuid: str, op: MoveOp) -> str:
        pool = self._pools.spm_pool(sp_uuid)
        src = pool.domain(sc.check_uuid(src_sd, "src_sd_uuid"))
        dst = pool.domain(sc.check_uuid(dst_sd, "dst_sd_uuid"))
        if src.sd_uuid == dst.sd_uuid:
            raise errors.InvalidParameter("source and destination are the "
                                          "same domain")
        img_uuid = sc.check_uuid(img_uuid, "img_uuid")
        chain = img_mod.chain(src, img_uuid, img_mod.leaf(src, img_uuid))
        if dst.io.call("exists", path=dst.image_dir(img_uuid)):
            raise errors.VolumeAlreadyExists("image exists on destination",
                                             img=img_uuid)

        def run(task: Task) -> None:
            for vol in chain:
                spec = img_mod.clone_spec(vol)
                task.add_rollback("delete_volume", sd_uuid=dst.sd_uuid,
                                  img_uuid=img_uuid, vol_uuid=vol.vol_uuid)
                vol_mod.create(dst, spec, on_start=task.on_child)
                img_mod.copy_volume(vol, Volume(dst, img_uuid, vol.vol_uuid),
                                    on_start=task.on_child)
                task.check_stopped()
            task.drop_rollbacks()
            if op is MoveOp.MOVE:
                img_mod.delete(src, img_uuid)
        return self._tasks.start(TaskKind.MOVE_IMAGE, run)

    def _two_domains(self, sp_uuid: str, src_sd: str,
                     dst_sd: str) -> tuple[FileDomain, FileDomain]:
        pool = self._pools.spm_pool(sp_uuid)
        return (pool.domain(sc.check_uuid(src_sd, "sd_uuid")),
                pool.domain(sc.check_uuid(dst_sd, "dst_sd_uuid")))

    def clone_structure(self, sp_uuid: str, src_sd: str, img_uuid: str,
                        dst_sd: str) -> str:
        """Image.cloneStructure (SPM): the image's empty chain on dst."""
        src, dst = self._two_domains(sp_uuid, src_sd, dst_sd)
        specs = imageclone.structure(src, dst,
                                     sc.check_uuid(img_uuid, "img_uuid"))

        def run(task: Task) -> None:
            def rollback(img: str, vol: str) -> None:
                task.add_rollback("delete_volume", sd_uuid=dst.sd_uuid,
                                  img_uuid=img, vol_uuid=vol)
            imageclone.clone_structure(dst, specs, rollback,
                                       on_start=task.on_child)
            task.drop_rollbacks()
        return self._tasks.start(TaskKind.CLONE_STRUCTURE, run)

    def sync_data(self, sp_uuid: str, src_sd: str, img_uuid: str,
                  dst_sd: str, sync: imageclone.SyncType) -> str:
        """Image.syncData (SPM): the chain's data into the clone on dst."""
        src, dst = self._two_domains(sp_uuid, src_sd, dst_sd)
        pairs = imageclone.sync_chains(
            src, dst, sc.check_uuid(img_uuid, "img_uuid"), sync)
        return self._tasks.start(
            TaskKind.SYNC_DATA,
            lambda task: imageclone.sync_data(pairs, task.check_stopped,
                                              on_start=task.on_child))

    def copy_data(self, job_id: str, source: VolumeRef,
                  destination: VolumeRef) -> str:
        """SDM.copy_data: copy one volume's data into an existing one."""
        job_id = sc.check_uuid(job_id, "job_id")
        src = self.volume(source.sd_id, source.img_id, source.vol_id)
        dst = self.volume(destination.sd_id, destination.img_id,
                          destination.vol_id)
        if not src.is_legal():
            raise errors.VolumeIsIllegal(vol=src.vol_uuid)
        if src.path == dst.path:
            raise errors.InvalidParameter("source is the destination")
        if int(dst.metadata()["CAP"]) < int(src.metadata()["CAP"]):
            raise errors.InvalidParameter(
                "destination is smaller than source")
        def run(task: Task) -> None:
            img_mod.copy_volume(src, dst, on_start=task.on_child,
                                on_progress=task.on_progress)

        return self._tasks.start(
            TaskKind.COPY_DATA, run, task_id=job_id, job_type=jobs.STORAGE,
            description="copy_data")

    # SDM jobs on one volume (volumejobs.py): the volume must exist when
    # the job is asked for; generation, legality and format are the
    # job's to check, as upstream's (the job fails with their code).

    def _volume_job(self, job_id: str, ref: VolumeRef, kind: TaskKind,
                    func: Callable[[Task, Volume], None]) -> None:
        job_id = sc.check_uuid(job_id, "job_id")
        vol = self.volume(ref.sd_id, ref.img_id, ref.vol_id)
        self._tasks.start(kind, lambda task: func(task, vol),
                          task_id=job_id, job_type=jobs.STORAGE,
                          description=kind.value)

    def update_volume(self, job_id: str, ref: VolumeRef,
                      generation: int | None,
                      attrs: volumejobs.VolumeAttributes) -> None:
        volumejobs.check_generation(generation)
        volumejobs.check_attributes(attrs)
        self._volume_job(
            job_id, ref, TaskKind.UPDATE_VOLUME,
            lambda task, vol: volumejobs.update(vol, generation, attrs))

    def amend_volume(self, job_id: str, ref: VolumeRef,
                     generation: int | None, compat: str | None) -> None:
        volumejobs.check_generation(generation)
        level = volumejobs.check_compat(compat)
        self._volume_job(
            job_id, ref, TaskKind.AMEND_VOLUME,
            lambda task, vol: volumejobs.amend(vol, generation, level,
                                               on_start=task.on_child))

    def sparsify_volume(self, job_id: str, ref: VolumeRef,
                        generation: int | None) -> None:
        volumejobs.check_generation(generation)

        def run(task: Task, vol: Volume) -> None:
            task.add_rollback("remove_sparsify_temp", sd_uuid=vol.dom.sd_uuid,
                              img_uuid=vol.img_uuid, vol_uuid=vol.vol_uuid)
            volumejobs.sparsify(
                vol, generation,
                vol_mod.children(vol.dom, vol.img_uuid, vol.vol_uuid),
                on_start=task.on_child)
        self._volume_job(job_id, ref, TaskKind.SPARSIFY_VOLUME, run)

    # Rollbacks (run from tasks, also after a restart).

    def _rollback_sparsify(self, sd_uuid: str, img_uuid: str,
                           vol_uuid: str) -> None:
        dom = self._repo.find_domain(sd_uuid)
        volumejobs.remove_sparsify_temp(Volume(dom, img_uuid, vol_uuid))

    def _rollback_delete_volume(self, sd_uuid: str, img_uuid: str,
                                vol_uuid: str) -> None:
        dom = self._repo.find_domain(sd_uuid)
        try:
            vol_mod.delete(dom, img_uuid, vol_uuid, force=True)
        except (errors.VolumeDoesNotExist, FileNotFoundError):
            pass
        try:
            if not dom.io.call("listdir", path=dom.image_dir(img_uuid)):
                dom.io.call("rmtree", path=dom.image_dir(img_uuid))
        except FileNotFoundError:
            pass
        log.info("ROLLBACK delete vol=%s img=%s sd=%s", vol_uuid, img_uuid,
                 sd_uuid)
