"""Volume.copy: a volume's chain collapsed into one new volume.

What the engine uses to make a template from a VM's disk, or a VM's disk
from a template (upstream's ``copyCollapsed``): the source volume and
every volume under it are read through qemu-img (the guest's view of the
chain) into a new volume of another image, on the same domain or another
one of the pool, with no parent. The copy takes the source's capacity and
disk type, and the format and allocation asked for (the source's when
the request names neither COW/RAW nor PREALLOCATED/SPARSE); volType
SHARED (upstream's 6) makes it a template's volume.

The new volume is made ILLEGAL, its removal recorded as the task's
rollback before it exists, and it becomes LEGAL only after qemu-img is
done: a failure, a Task.stop or a vdsmd killed mid-copy leaves no volume
(the rollback, run again by task recovery after a restart, removes it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vdsm.storage import constants as sc
from vdsm.storage import errors, qemuimg
from vdsm.storage import imagedir as img_mod
from vdsm.storage import volume as vol_mod
from vdsm.storage.domain import FileDomain
from vdsm.storage.qemuimg import OnProgress, OnStart
from vdsm.storage.volume import Volume, VolumeSpec

log = logging.getLogger("vdsm.storage.volumecopy")

# Upstream's volume role numbers (VolumeRole on the wire).
SHARED_ROLE = 6


@dataclass(frozen=True)
class CopyRequest:
    dst_img: str
    dst_vol: str
    description: str
    fmt: int | None          # None: the source's format
    prealloc: int | None     # None: the source's allocation
    shared: bool             # make the copy a template's volume
    force: bool              # replace an existing destination image


def check(src: Volume, dst_dom: FileDomain,
          req: CopyRequest) -> VolumeSpec:
    """Refuse bad input before any change; the spec of the copy."""
    if src.dom.sd_uuid == dst_dom.sd_uuid and src.img_uuid == req.dst_img:
        raise errors.InvalidParameter(
            "the copy must go to another image", dstImgUUID=req.dst_img)
    for vol in img_mod.chain(src.dom, src.img_uuid, src.vol_uuid):
        if not vol.is_legal():
            raise errors.ImageIsNotLegalChain(img=src.img_uuid,
                                              vol=vol.vol_uuid)
    md = src.metadata()
    spec = VolumeSpec(
        img_uuid=req.dst_img, vol_uuid=req.dst_vol, size=int(md["CAP"]),
        fmt=req.fmt if req.fmt is not None else sc.FORMAT_BY_NAME[
            md["FORMAT"]],
        prealloc=req.prealloc if req.prealloc is not None else
        sc.TYPE_BY_NAME[md["TYPE"]],
        disk_type=md["DISKTYPE"], description=req.description, legal=False)
    image_exists = dst_dom.io.call("exists",
                                   path=dst_dom.image_dir(req.dst_img))
    if req.force:
        # Replaced by the copy: check the rest only.
        vol_mod.check_spec(dst_dom, spec, replacing=True)
    else:
        vol_mod.check_spec(dst_dom, spec)
        if image_exists:
            # The copy is a whole image: never a second leaf of another.
            raise errors.VolumeAlreadyExists("destination image exists",
                                             img=req.dst_img)
    return spec


def copy(src: Volume, dst_dom: FileDomain, spec: VolumeSpec,
         req: CopyRequest, on_start: OnStart | None = None,
         on_progress: OnProgress | None = None) -> Volume:
    """Make the copy; the caller recorded its removal as rollback."""
    if req.force and dst_dom.io.call("exists",
                                     path=dst_dom.image_dir(spec.img_uuid)):
        log.info("COPY replaces img=%s sd=%s", spec.img_uuid,
                 dst_dom.sd_uuid)
        img_mod.delete(dst_dom, spec.img_uuid)
    dst = vol_mod.create(dst_dom, spec, on_start=on_start)
    qemuimg.convert(src.path, dst.path, src.qemu_format(),
                    dst.qemu_format(), create=False, on_start=on_start,
                    on_progress=on_progress)
    changes = {"LEGALITY": sc.LEGAL}
    if req.shared:
        changes["VOLTYPE"] = sc.SHARED
    dst.update(**changes)
    log.info("COPY src=%s/%s/%s dst=%s/%s/%s collapsed format=%s shared=%s",
             src.dom.sd_uuid, src.img_uuid, src.vol_uuid, dst_dom.sd_uuid,
             dst.img_uuid, dst.vol_uuid, sc.FORMAT_NAMES[spec.fmt],
             req.shared)
    return dst
