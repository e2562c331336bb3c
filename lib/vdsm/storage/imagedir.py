"""An image directory on a domain: its volumes, their chain, copy, removal.

An image is a chain of volumes sharing the directory
``images/<imgUUID>`` of a domain.

``chain()`` walks from a leaf to the base through each volume's PUUID; the
qcow2 backing files name the parent by its UUID, relative to the image
directory, so a chain stays valid when the directory moves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vdsm.storage import constants as sc
from vdsm.storage import errors, qemuimg
from vdsm.storage import volume as vol_mod
from vdsm.storage.domain import FileDomain
from vdsm.storage.qemuimg import OnStart
from vdsm.storage.volume import Volume

log = logging.getLogger("vdsm.storage.imagedir")

MAX_CHAIN = 256


@dataclass(frozen=True)
class ChainEntry:
    """One volume of a prepared chain."""

    sd_id: str
    img_id: str
    vol_id: str
    path: str
    lease_path: str
    lease_offset: int


@dataclass(frozen=True)
class Drive:
    """A prepared disk, all the virt side needs to know."""

    path: str
    format: str               # "raw" or "qcow2"
    chain: list[ChainEntry]   # base first
    sd_id: str
    img_id: str
    vol_id: str


def volumes(dom: FileDomain, img_uuid: str) -> list[str]:
    try:
        names = dom.io.call("listdir", path=dom.image_dir(img_uuid))
    except FileNotFoundError:
        raise errors.ImageDoesNotExistInDomain(
            img=img_uuid, sd=dom.sd_uuid) from None
    return [n[:-len(sc.META_FILEEXT)] for n in names
            if n.endswith(sc.META_FILEEXT)]


def chain(dom: FileDomain, img_uuid: str, leaf_uuid: str) -> list[Volume]:
    """The volumes from base to leaf; raise if a link is missing."""
    out: list[Volume] = []
    current = leaf_uuid
    while current != sc.BLANK_UUID:
        if len(out) > MAX_CHAIN:
            raise errors.ImagePathError("chain too long or looped",
                                        img=img_uuid)
        vol = Volume(dom, img_uuid, current)
        md = vol.metadata()
        if md.get("IMAGE", img_uuid) != img_uuid:
            raise errors.ImagePathError("volume of another image",
                                        vol=current)
        out.append(vol)
        current = md.get("PUUID", sc.BLANK_UUID)
    out.reverse()
    return out


def leaf(dom: FileDomain, img_uuid: str) -> str:
    leaves = [v for v in volumes(dom, img_uuid)
              if Volume(dom, img_uuid, v).metadata().get("VOLTYPE")
              == sc.LEAF]
    if len(leaves) != 1:
        raise errors.ImagePathError("image has no single leaf",
                                    img=img_uuid, leaves=len(leaves))
    return leaves[0]


def prepare(dom: FileDomain, img_uuid: str, vol_uuid: str) -> Drive:
    if not dom.io.call("exists", path=dom.image_dir(img_uuid)):
        raise errors.ImageDoesNotExistInDomain(img=img_uuid,
                                               sd=dom.sd_uuid)
    vols = chain(dom, img_uuid, vol_uuid)
    for vol in vols:
        if not vol.is_legal():
            raise errors.VolumeIsIllegal(vol=vol.vol_uuid)
    top = vols[-1]
    entries = [ChainEntry(sd_id=dom.sd_uuid, img_id=img_uuid,
                          vol_id=v.vol_uuid, path=v.path,
                          lease_path=v.lease_path, lease_offset=0)
               for v in vols]
    log.info("PREPARE img=%s vol=%s sd=%s chain=%d", img_uuid, vol_uuid,
             dom.sd_uuid, len(vols))
    return Drive(path=top.path, format=top.qemu_format(), chain=entries,
                 sd_id=dom.sd_uuid, img_id=img_uuid, vol_id=vol_uuid)


def sync_chain(dom: FileDomain, img_uuid: str, vols: list[str],
               removed: list[str]) -> None:
    """Volume metadata to match the chain qemu uses (vols, base first):
    each volume's parent, LEAF for the last, INTERNAL for the others;
    removed volumes (merged away) become ILLEGAL, for the manager to
    delete (upstream's syncVolumeChain)."""
    parent = sc.BLANK_UUID
    for i, vol_uuid in enumerate(vols):
        vol = Volume(dom, img_uuid, vol_uuid)
        voltype = sc.LEAF if i == len(vols) - 1 else sc.INTERNAL
        md = vol.metadata()
        if md.get("PUUID") != parent or md.get("VOLTYPE") != voltype:
            vol.update(PUUID=parent, VOLTYPE=voltype)
        parent = vol_uuid
    for vol_uuid in removed:
        vol = Volume(dom, img_uuid, vol_uuid)
        if vol.exists():
            vol.update(LEGALITY=sc.ILLEGAL)
    log.info("SYNC img=%s chain=%s removed=%s", img_uuid, vols, removed)


def actual_chain(dom: FileDomain, img_uuid: str, leaf_uuid: str) -> list[str]:
    """The chain as the qcow2 files name it (qemu-img), base first."""
    out: list[str] = []
    current = leaf_uuid
    while current:
        if len(out) > MAX_CHAIN or current in out:
            raise errors.ImagePathError("chain too long or looped",
                                        img=img_uuid)
        vol = Volume(dom, img_uuid, current)
        if not vol.exists():
            raise errors.VolumeDoesNotExist(vol=current)
        out.append(current)
        info = qemuimg.info(vol.path)
        backing = info.get("backing-filename") or ""
        current = backing.rsplit("/", 1)[-1]
    out.reverse()
    return out


def reconcile(dom: FileDomain, img_uuid: str, leaf_uuid: str) -> list[str]:
    """Make the metadata follow the actual chain of leaf_uuid; volumes the
    metadata chain had and the actual one lacks become ILLEGAL."""
    vols = actual_chain(dom, img_uuid, leaf_uuid)
    try:
        recorded = [v.vol_uuid for v in chain(dom, img_uuid, leaf_uuid)]
    except errors.StorageError:
        recorded = []
    sync_chain(dom, img_uuid, vols, [v for v in recorded if v not in vols])
    return vols


def delete(dom: FileDomain, img_uuid: str) -> None:
    """Remove every volume of the image, leaves first, then its dir."""
    path = dom.image_dir(img_uuid)
    if not dom.io.call("exists", path=path):
        raise errors.ImageDoesNotExistInDomain(img=img_uuid,
                                               sd=dom.sd_uuid)
    for vol_uuid in volumes(dom, img_uuid):
        vol = Volume(dom, img_uuid, vol_uuid)
        for p in (vol.path, vol.lease_path, vol.meta_path):
            dom.io.call("unlink", path=p)
    dom.io.call("rmtree", path=path)
    log.info("DELETE img=%s sd=%s", img_uuid, dom.sd_uuid)


def copy_volume(src: Volume, dst: Volume,
                on_start: OnStart | None = None,
                on_progress: qemuimg.OnProgress | None = None) -> None:
    """Copy src's data into the existing volume dst (one layer).

    dst is illegal while data moves and legal only after qemu-img is done.
    """
    smd = src.metadata()
    if smd["LEGALITY"] != sc.LEGAL:
        raise errors.VolumeIsIllegal(vol=src.vol_uuid)
    dmd = dst.update(LEGALITY=sc.ILLEGAL)
    if int(dmd["CAP"]) < int(smd["CAP"]):
        raise errors.InvalidParameter("destination is smaller than source",
                                      src=smd["CAP"], dst=dmd["CAP"])
    backing = backing_fmt = None
    parent = dmd.get("PUUID", sc.BLANK_UUID)
    if parent != sc.BLANK_UUID:
        backing = parent
        backing_fmt = Volume(dst.dom, dst.img_uuid, parent).qemu_format()
    qemuimg.convert(src.path, dst.path, src.qemu_format(),
                    dst.qemu_format(), backing=backing,
                    backing_fmt=backing_fmt, create=False,
                    on_start=on_start, on_progress=on_progress)
    dmd["LEGALITY"] = sc.LEGAL
    dmd["GEN"] = str(int(dmd.get("GEN", "0")) + 1)
    dst.write_metadata(dmd)
    log.info("COPY src=%s/%s/%s dst=%s/%s/%s", src.dom.sd_uuid,
             src.img_uuid, src.vol_uuid, dst.dom.sd_uuid, dst.img_uuid,
             dst.vol_uuid)


def clone_spec(vol: Volume) -> vol_mod.VolumeSpec:
    """The spec making an empty copy of vol (same ids) elsewhere."""
    md = vol.metadata()
    return vol_mod.VolumeSpec(
        img_uuid=vol.img_uuid, vol_uuid=vol.vol_uuid, size=int(md["CAP"]),
        fmt=sc.FORMAT_BY_NAME[md["FORMAT"]],
        prealloc=sc.TYPE_BY_NAME[md["TYPE"]], disk_type=md["DISKTYPE"],
        description=md.get("DESCRIPTION", ""),
        parent_uuid=md.get("PUUID", sc.BLANK_UUID))
