"""File volumes: ``images/<img>/<vol>`` plus ``.meta`` and ``.lease``.

Theory of operation
-------------------
A volume is legal only once everything about it is done. ``create`` writes
the ``.meta`` file first with ``LEGALITY=ILLEGAL``, then the lease, then
the data file (qemu-img), then links the parent, and only then rewrites
``.meta`` with ``LEGALITY=LEGAL`` (an atomic rename). A process killed at
any point leaves at worst an illegal volume, which the task's rollback (or
its recovery after a restart) deletes. Copies work the same way: the
target is marked illegal before data moves and legal after.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from vdsm.storage import clusterlock, metadata, qemuimg
from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.domain import FileDomain, now
from vdsm.storage.qemuimg import OnStart

log = logging.getLogger("vdsm.storage.volume")

LEASE_SIZE = sc.MIB


@dataclass(frozen=True)
class VolumeSpec:
    img_uuid: str
    vol_uuid: str
    size: int
    fmt: int
    prealloc: int
    disk_type: str = "DATA"
    description: str = ""
    parent_uuid: str = sc.BLANK_UUID
    # What upstream's Volume.create also takes: a volume made ILLEGAL
    # (legal=False) stays so until set legal; the sequence number is kept
    # in the metadata (SEQ); add_bitmaps gives a qcow2 snapshot an empty
    # bitmap for each of its parent's; bitmap adds one of that name.
    legal: bool = True
    sequence: int = 0
    add_bitmaps: bool = False
    bitmap: str | None = None


@dataclass(frozen=True)
class VolumeRef:
    """Names a volume: its domain, image and own UUIDs."""

    sd_id: str
    img_id: str
    vol_id: str


@dataclass(frozen=True)
class VolumeSize:
    apparent: int        # bytes of the data file
    true: int            # bytes allocated to it


@dataclass(frozen=True)
class VolumeInfo:
    """A volume's metadata and sizes. ``format``, ``type``, ``voltype``,
    ``disktype`` and ``legality`` are the metadata's own strings."""

    uuid: str
    image: str
    domain: str
    capacity: int
    size: VolumeSize
    format: str
    type: str
    voltype: str
    disktype: str
    description: str
    parent: str
    legality: str
    generation: int
    ctime: str
    path: str
    lease_path: str
    children: list[str] = field(default_factory=list)


class Volume:
    def __init__(self, dom: FileDomain, img_uuid: str, vol_uuid: str):
        self.dom = dom
        self.img_uuid = sc.check_uuid(img_uuid, "img_uuid")
        self.vol_uuid = sc.check_uuid(vol_uuid, "vol_uuid")
        self.path = os.path.join(dom.image_dir(img_uuid), self.vol_uuid)

    @property
    def meta_path(self) -> str:
        return self.path + sc.META_FILEEXT

    @property
    def lease_path(self) -> str:
        return self.path + sc.LEASE_FILEEXT

    def metadata(self) -> dict[str, str]:
        try:
            text = self.dom.io.call("read_text", path=self.meta_path)
        except FileNotFoundError:
            raise errors.VolumeDoesNotExist(vol=self.vol_uuid) from None
        return metadata.parse_volume(text)

    def write_metadata(self, md: dict[str, str]) -> None:
        self.dom.io.call("write_text", path=self.meta_path,
                         text=metadata.dump_volume(md))

    def update(self, **changes: str) -> dict[str, str]:
        md = self.metadata()
        md.update(changes)
        self.write_metadata(md)
        return md

    def exists(self) -> bool:
        return bool(self.dom.io.call("exists", path=self.meta_path))

    def qemu_format(self) -> str:
        return "raw" if self.metadata()["FORMAT"] == "RAW" else "qcow2"

    def parent(self) -> str:
        return self.metadata().get("PUUID", sc.BLANK_UUID)

    def is_legal(self) -> bool:
        return self.metadata().get("LEGALITY") == sc.LEGAL

    def size(self) -> VolumeSize:
        st = self.dom.io.call("stat", path=self.path)
        return VolumeSize(apparent=st["size"], true=st["allocated"])

    def info(self, children: list[str] | None = None) -> VolumeInfo:
        md = self.metadata()
        return VolumeInfo(
            uuid=self.vol_uuid, image=self.img_uuid, domain=self.dom.sd_uuid,
            capacity=int(md["CAP"]), size=self.size(), format=md["FORMAT"],
            type=md["TYPE"], voltype=md["VOLTYPE"],
            disktype=md["DISKTYPE"], description=md.get("DESCRIPTION", ""),
            parent=md.get("PUUID", sc.BLANK_UUID), legality=md["LEGALITY"],
            generation=int(md["GEN"]), ctime=md.get("CTIME", "0"),
            path=self.path, lease_path=self.lease_path,
            children=children or [])


def check_spec(dom: FileDomain, spec: VolumeSpec,
               replacing: bool = False) -> None:
    """Refuse bad input before any change (codes 1000, 201, 205, 212;
    replacing: the volume may exist, the caller replaces it)."""
    if spec.fmt not in sc.FORMAT_NAMES:
        raise errors.InvalidParameter("bad volFormat", value=spec.fmt)
    if spec.prealloc not in sc.TYPE_NAMES:
        raise errors.InvalidParameter("bad preallocate", value=spec.prealloc)
    if spec.fmt == sc.RAW_FORMAT and spec.parent_uuid != sc.BLANK_UUID:
        raise errors.InvalidParameter("a raw volume cannot have a parent")
    if spec.size <= 0 or spec.size % 512:
        raise errors.InvalidParameter(
            "size must be a positive multiple of 512", size=spec.size)
    if spec.disk_type not in sc.DISK_TYPES:
        raise errors.InvalidParameter("bad diskType", value=spec.disk_type)
    if "\n" in spec.description or len(spec.description) > 210:
        raise errors.InvalidParameter("bad description")
    if spec.sequence < 0:
        raise errors.InvalidParameter("negative sequence",
                                      value=spec.sequence)
    _check_bitmaps(spec)
    vol = Volume(dom, spec.img_uuid, spec.vol_uuid)
    if vol.exists() and not replacing:
        raise errors.VolumeAlreadyExists(vol=spec.vol_uuid)
    if spec.parent_uuid != sc.BLANK_UUID:
        parent = Volume(dom, spec.img_uuid, spec.parent_uuid)
        if not parent.exists():
            raise errors.VolumeDoesNotExist(
                "parent is not a volume of this image",
                parent=spec.parent_uuid, image=spec.img_uuid)
        if not parent.is_legal():
            raise errors.VolumeIsIllegal(vol=spec.parent_uuid)
    if spec.prealloc == sc.PREALLOCATED:
        free = dom.space().free
        if spec.size > free:
            raise errors.VolumeCreationError(
                "not enough free space", size=spec.size, free=free)


def create(dom: FileDomain, spec: VolumeSpec,
           on_start: OnStart | None = None) -> Volume:
    """Make the volume; the caller has recorded a rollback (delete)."""
    vol = Volume(dom, spec.img_uuid, spec.vol_uuid)
    dom.io.call("makedirs", path=dom.image_dir(spec.img_uuid))
    md = {"SEQ": str(spec.sequence),"CAP": str(spec.size), "CTIME": now(),
          "DESCRIPTION": spec.description, "DISKTYPE": spec.disk_type,
          "DOMAIN": dom.sd_uuid, "FORMAT": sc.FORMAT_NAMES[spec.fmt],
          "GEN": "0", "IMAGE": spec.img_uuid, "LEGALITY": sc.ILLEGAL,
          "PUUID": spec.parent_uuid, "TYPE": sc.TYPE_NAMES[spec.prealloc],
          "VOLTYPE": sc.LEAF}
    vol.write_metadata(md)
    dom.io.call("truncate", path=vol.lease_path, size=LEASE_SIZE)
    clusterlock.init_resource(dom.sd_uuid, vol.vol_uuid, vol.lease_path, 0,
                              dom.block_size)
    _create_data(vol, spec, on_start)
    _add_bitmaps(vol, spec)
    # qemu-img creates 0644 minus the umask: qemu and sanlock (group kvm)
    # need 0660, as for every file of a domain.
    dom.io.call("chmod", path=vol.path)
    if spec.parent_uuid != sc.BLANK_UUID:
        Volume(dom, spec.img_uuid, spec.parent_uuid).update(
            VOLTYPE=sc.INTERNAL)
    if spec.legal:
        md["LEGALITY"] = sc.LEGAL
        vol.write_metadata(md)
    log.info("CREATE vol=%s img=%s sd=%s size=%s format=%s legality=%s",
             vol.vol_uuid, vol.img_uuid, dom.sd_uuid, spec.size,
             md["FORMAT"], md["LEGALITY"])
    return vol


def _create_data(vol: Volume, spec: VolumeSpec,
                 on_start: OnStart | None) -> None:
    prealloc = spec.prealloc == sc.PREALLOCATED
    if spec.fmt == sc.RAW_FORMAT:
        qemuimg.create(vol.path, spec.size, "raw",
                       preallocation="falloc" if prealloc else None,
                       on_start=on_start)
        return
    backing = backing_fmt = None
    if spec.parent_uuid != sc.BLANK_UUID:
        backing = spec.parent_uuid
        backing_fmt = Volume(vol.dom, spec.img_uuid,
                             spec.parent_uuid).qemu_format()
    qemuimg.create(vol.path, spec.size, "qcow2",
                   preallocation="metadata" if prealloc else None,
                   backing=backing, backing_fmt=backing_fmt,
                   on_start=on_start)


def _check_bitmaps(spec: VolumeSpec) -> None:
    """Bitmaps need qcow2 (upstream's rules: addBitmaps only for a
    snapshot, of a qcow2 parent; bitmap for any new qcow2 volume)."""
    if spec.bitmap is not None:
        sc.check_uuid(spec.bitmap, "bitmap")
        if spec.fmt != sc.COW_FORMAT:
            raise errors.InvalidParameter("a bitmap needs a COW volume",
                                          bitmap=spec.bitmap)
    if spec.add_bitmaps and (spec.fmt != sc.COW_FORMAT
                             or spec.parent_uuid == sc.BLANK_UUID):
        raise errors.InvalidParameter(
            "addBitmaps needs a COW snapshot of a COW parent")


def _add_bitmaps(vol: Volume, spec: VolumeSpec) -> None:
    """As upstream, best effort: a bitmap that cannot be added is logged
    and the volume made all the same (the next backup using it is a
    full one). add_bitmaps copies the parent's valid bitmaps (enabled,
    cleanly saved) with their granularity; bitmap adds one more."""
    wanted: list[tuple[str, int | None]] = []
    if spec.add_bitmaps:
        parent = Volume(vol.dom, spec.img_uuid, spec.parent_uuid)
        try:
            if parent.qemu_format() == "qcow2":
                wanted = [(b.name, b.granularity)
                          for b in qemuimg.bitmaps(parent.path) if b.valid]
        except qemuimg.QemuImgError as e:
            log.warning("BITMAPS vol=%s parent=%s unreadable=%s",
                        vol.vol_uuid, parent.vol_uuid, e)
    if spec.bitmap is not None:
        wanted.append((spec.bitmap, None))
    for name, granularity in wanted:
        try:
            qemuimg.add_bitmap(vol.path, name, granularity)
        except qemuimg.QemuImgError as e:
            log.warning("BITMAP vol=%s name=%r not added: %s", vol.vol_uuid,
                        name, e)


def children(dom: FileDomain, img_uuid: str, vol_uuid: str) -> list[str]:
    out = []
    for name in dom.io.call("listdir", path=dom.image_dir(img_uuid)):
        if name.endswith(sc.META_FILEEXT):
            other = Volume(dom, img_uuid, name[:-len(sc.META_FILEEXT)])
            if other.metadata().get("PUUID") == vol_uuid:
                out.append(other.vol_uuid)
    return out


def delete(dom: FileDomain, img_uuid: str, vol_uuid: str,
           force: bool = False) -> None:
    """Remove the volume's files; its parent becomes a leaf again."""
    vol = Volume(dom, img_uuid, vol_uuid)
    if not dom.io.call("exists", path=vol.meta_path) and \
            not dom.io.call("exists", path=vol.path):
        raise errors.VolumeDoesNotExist(vol=vol_uuid)
    if not force and children(dom, img_uuid, vol_uuid):
        raise errors.VolumeHasChildren(vol=vol_uuid)
    parent = sc.BLANK_UUID
    try:
        parent = vol.parent()
    except errors.VolumeDoesNotExist:
        pass
    for path in (vol.path, vol.lease_path, vol.meta_path):
        dom.io.call("unlink", path=path)
    if parent != sc.BLANK_UUID:
        pvol = Volume(dom, img_uuid, parent)
        if pvol.exists() and not children(dom, img_uuid, parent):
            pvol.update(VOLTYPE=sc.LEAF)
    log.info("DELETE vol=%s img=%s sd=%s", vol_uuid, img_uuid, dom.sd_uuid)


def extend(vol: Volume, new_size: int) -> None:
    md = vol.metadata()
    if new_size % 512 or new_size <= 0:
        raise errors.InvalidParameter("size must be a multiple of 512",
                                      size=new_size)
    if new_size < int(md["CAP"]):
        raise errors.InvalidParameter("cannot shrink a volume",
                                      size=new_size, capacity=md["CAP"])
    if new_size == int(md["CAP"]):
        return
    qemuimg.resize(vol.path, new_size, vol.qemu_format())
    md["CAP"] = str(new_size)
    vol.write_metadata(md)


def extend_size(vol: Volume, new_size: int) -> None:
    """Volume.extendSize's work, as upstream's: a raw volume's file is
    truncated to new_size and its capacity follows; a qcow2 volume is
    left alone (VM.diskSizeExtend grows it: qemu for a running VM,
    update_size otherwise), so the call never touches an image a
    running qemu holds. The file is grown with ftruncate, not
    qemu-img, which the image lock of a running guest would refuse."""
    md = vol.metadata()
    if md.get("VOLTYPE") == sc.SHARED:
        raise errors.SharedVolumeNonWritable(vol=vol.vol_uuid)
    if md["FORMAT"] != sc.FORMAT_NAMES[sc.RAW_FORMAT]:
        log.info("EXTEND skipped vol=%s format=%s (grown by "
                 "VM.diskSizeExtend)", vol.vol_uuid, md["FORMAT"])
        return
    if new_size == int(md["CAP"]):
        return
    vol.dom.io.call("truncate", path=vol.path, size=new_size, create=False)
    md["CAP"] = str(new_size)
    vol.write_metadata(md)
    log.info("EXTEND vol=%s img=%s size=%d", vol.vol_uuid, vol.img_uuid,
             new_size)


def set_capacity(vol: Volume, capacity: int) -> None:
    """The capacity a running qemu gave the volume (VM.diskSizeExtend,
    live merge into a smaller base)."""
    md = vol.metadata()
    if int(md["CAP"]) != capacity:
        md["CAP"] = str(capacity)
        vol.write_metadata(md)
        log.info("CAPACITY vol=%s img=%s capacity=%d", vol.vol_uuid,
                 vol.img_uuid, capacity)


def update_size(vol: Volume, new_size: int) -> int:
    """VM.diskSizeExtend of a disk no VM runs (upstream's
    updateVolumeSize): a qcow2 leaf grown by qemu-img, its capacity
    recorded; a raw volume's size answered as it is (Volume.extendSize
    grew it). The new capacity."""
    md = vol.metadata()
    if md.get("VOLTYPE") != sc.LEAF:
        raise errors.VolumeNonWritable("not the image's leaf",
                                       vol=vol.vol_uuid)
    if md["FORMAT"] == sc.FORMAT_NAMES[sc.RAW_FORMAT]:
        return int(vol.size().apparent)
    current = int(qemuimg.info(vol.path, fmt="qcow2")["virtual-size"])
    if new_size < current:
        raise errors.VolumeResizeValueError(
            "cannot shrink", vol=vol.vol_uuid, size=new_size,
            capacity=current)
    qemuimg.resize(vol.path, new_size, "qcow2")
    capacity = int(qemuimg.info(vol.path, fmt="qcow2")["virtual-size"])
    set_capacity(vol, capacity)
    return capacity
