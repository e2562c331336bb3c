"""SDM jobs on one volume: update_volume, sparsify_volume, amend_volume.

Each runs as a host job (a storage task with a job type, see jobs.py);
the caller names the volume with its generation (``GEN`` in the metadata)
when it wants the job to act only on the volume it saw. As upstream's
``Volume.operation``: the generation is checked first (911 if it is
another), the work done, and the generation then goes one up (wrapping
after 999), so a job that failed or was refused leaves it as it was.
update_volume may set the generation itself instead.

None of them marks the volume illegal while it works (upstream's
``set_illegal=False``): an amend or a sparsify that fails leaves a
usable volume. sparsify rewrites a qcow2 layer into a temporary file
next to it (qemu-img convert over the same backing file: zeroed
clusters are dropped, or kept as zero clusters where they hide the
backing file's data; the guest's data is the same) and renames it over
the volume; a raw volume gets its zeroed ranges punched out in place
(fallocate --dig-holes). upstream runs virt-sparsify (libguestfs),
which also trims the guest's free file system space; that needs a
libguestfs appliance this host does not have.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from typing import Iterator

from vdsm.common import commands
from vdsm.storage import constants as sc
from vdsm.storage import errors, qemuimg
from vdsm.storage.qemuimg import OnStart
from vdsm.storage.volume import Volume

log = logging.getLogger("vdsm.storage.volumejobs")

MAX_GENERATION = 999
QCOW2_COMPAT = ("0.10", "1.1")
SPARSIFY_SUFFIX = ".sparsify"


@dataclass(frozen=True)
class VolumeAttributes:
    """What SDM.update_volume changes (None: unchanged)."""

    generation: int | None = None
    description: str | None = None
    legality: str | None = None
    type: str | None = None          # only SHARED, as upstream


def check_generation(value: object, name: str = "generation") -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not (
            0 <= value <= MAX_GENERATION):
        raise errors.InvalidParameter(
            f"{name} must be 0..{MAX_GENERATION}", value=value)


def check_attributes(attrs: VolumeAttributes) -> None:
    """Upstream's VolumeAttributes rules (1000 for each)."""
    if all(v is None for v in (attrs.generation, attrs.description,
                               attrs.legality, attrs.type)):
        raise errors.InvalidParameter("no attributes to update")
    check_generation(attrs.generation)
    if attrs.type is not None and attrs.type != sc.SHARED:
        raise errors.InvalidParameter("volume type not supported",
                                      type=attrs.type)
    if attrs.legality is not None and attrs.legality not in (
            sc.LEGAL, sc.ILLEGAL):
        raise errors.InvalidParameter("legality not supported",
                                      legality=attrs.legality)
    if attrs.description is not None and (
            "\n" in attrs.description or len(attrs.description) > 210):
        raise errors.InvalidParameter("bad description")


def check_compat(compat: object) -> str:
    if not isinstance(compat, str) or compat not in QCOW2_COMPAT:
        raise errors.InvalidParameter("unsupported qcow2 compat",
                                      compat=compat)
    return compat


@contextlib.contextmanager
def operation(vol: Volume, requested: int | None,
              new_generation: int | None = None) -> Iterator[None]:
    """Check the generation, run the body, then move the generation on
    (to new_generation when given); a failing body leaves it."""
    actual = int(vol.metadata()["GEN"])
    if requested is not None and requested != actual:
        raise errors.GenerationMismatch(requested=requested, actual=actual)
    yield
    gen = (new_generation if new_generation is not None
           else (actual + 1) % (MAX_GENERATION + 1))
    vol.update(GEN=str(gen))


def _require_legal(vol: Volume) -> None:
    if not vol.is_legal():
        raise errors.VolumeIsIllegal(vol=vol.vol_uuid)


def update(vol: Volume, generation: int | None,
           attrs: VolumeAttributes) -> None:
    with operation(vol, generation, attrs.generation):
        changes = {}
        if attrs.type is not None:
            changes["VOLTYPE"] = attrs.type
        if attrs.legality is not None:
            changes["LEGALITY"] = attrs.legality
        if attrs.description is not None:
            changes["DESCRIPTION"] = attrs.description
        if changes:
            vol.update(**changes)
    log.info("UPDATE vol=%s img=%s sd=%s %s", vol.vol_uuid, vol.img_uuid,
             vol.dom.sd_uuid, attrs)


def amend(vol: Volume, generation: int | None, compat: str,
          on_start: OnStart | None = None) -> None:
    with operation(vol, generation):
        md = vol.metadata()
        if md["FORMAT"] != "COW":
            raise errors.IncorrectFormat("volume is not COW format",
                                         vol=vol.vol_uuid)
        if md["VOLTYPE"] == sc.SHARED:
            raise errors.SharedVolumeNonWritable(vol=vol.vol_uuid)
        _require_legal(vol)
        qemuimg.amend(vol.path, compat, on_start=on_start)
    log.info("AMEND vol=%s img=%s sd=%s compat=%s", vol.vol_uuid,
             vol.img_uuid, vol.dom.sd_uuid, compat)


def sparsify_temp(vol: Volume) -> str:
    return vol.path + SPARSIFY_SUFFIX


def sparsify(vol: Volume, generation: int | None,
             children: list[str], on_start: OnStart | None = None) -> None:
    """children: the volumes whose parent vol is (a leaf has none)."""
    with operation(vol, generation):
        if children:
            raise errors.NonLeafVolumeNotWritable(vol=vol.vol_uuid)
        _require_legal(vol)
        before = vol.size().true
        try:
            if vol.qemu_format() == "raw":
                commands.run(["fallocate", "--dig-holes", "--", vol.path],
                             timeout=qemuimg.DEFAULT_TIMEOUT,
                             on_start=on_start)
            else:
                _sparsify_qcow2(vol, on_start)
        except (commands.CommandFailed, commands.CommandTimeout,
                qemuimg.QemuImgError) as e:
            raise errors.CannotSparsifyVolume(str(e),
                                              vol=vol.vol_uuid) from None
    log.info("SPARSIFY vol=%s img=%s sd=%s allocated=%d->%d", vol.vol_uuid,
             vol.img_uuid, vol.dom.sd_uuid, before, vol.size().true)


def _sparsify_qcow2(vol: Volume, on_start: OnStart | None) -> None:
    tmp = sparsify_temp(vol)
    io = vol.dom.io
    io.call("unlink", path=tmp)
    parent = vol.parent()
    backing = backing_fmt = None
    if parent != sc.BLANK_UUID:
        backing = parent
        backing_fmt = Volume(vol.dom, vol.img_uuid, parent).qemu_format()
    data = qemuimg.info(vol.path, fmt="qcow2").get(
        "format-specific", {}).get("data", {})
    compat = data.get("compat", "1.1")
    # qemu-img refuses --bitmaps for a 0.10 image, which has none.
    has_bitmaps = bool(data.get("bitmaps"))
    try:
        # The bitmaps go along: the next incremental backup needs them.
        qemuimg.convert(vol.path, tmp, "qcow2", "qcow2", backing=backing,
                        backing_fmt=backing_fmt, compat=compat,
                        bitmaps=has_bitmaps, on_start=on_start)
        io.call("chmod", path=tmp)
        io.call("rename", src=tmp, dst=vol.path)
    except BaseException:
        io.call("unlink", path=tmp)
        raise


def remove_sparsify_temp(vol: Volume) -> None:
    """Rollback of a sparsify cut short: the temporary copy goes; the
    volume itself was never touched before the rename."""
    tmp = sparsify_temp(vol)
    if os.path.dirname(tmp) == vol.dom.image_dir(vol.img_uuid):
        vol.dom.io.call("unlink", path=tmp)
