"""VM.diskSizeExtend: the engine's driveSpecs and newSize read into typed
values, one call into services.virt.disk_extends (a running VM) or, for
the blank VM id (a disk no VM runs, sent to the SPM), into storage's
images."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api.storage_args import storage, to_int
from vdsm.common import exception
from vdsm.storage import constants as sc
from vdsm.storage.vmdisks import DiskIds
from vdsm.virt.errors import BadDiskResizeParameter


def extend_drive(value: Any) -> DiskIds:
    """driveSpecs: 13 (upstream's imageErr) when it names no volume."""
    if not isinstance(value, dict):
        raise exception.ImageFileNotFound(f"bad driveSpecs {value!r}")
    try:
        return DiskIds(pool_id=str(value["poolID"]),
                       sd_id=str(value["domainID"]),
                       img_id=str(value["imageID"]),
                       vol_id=str(value["volumeID"]))
    except KeyError:
        raise exception.ImageFileNotFound(
            f"bad driveSpecs {value!r}") from None


def resize_bytes(value: Any) -> int:
    """newSize of a running VM's disk: bytes, a number or its string;
    58 otherwise (upstream's resizeErr)."""
    if isinstance(value, bool):
        raise BadDiskResizeParameter(f"newSize {value!r}")
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise BadDiskResizeParameter(f"newSize {value!r}") from None
    if size <= 0:
        raise BadDiskResizeParameter(f"newSize {value!r}")
    return size


@verb("VM.diskSizeExtend")
def disk_size_extend(ctx: CallContext, vmID: str, driveSpecs: Any,
                     newSize: Any) -> str:
    drive = extend_drive(driveSpecs)
    if vmID == sc.BLANK_UUID:
        return str(storage(ctx).images.update_volume_size(
            drive.sd_id, drive.pool_id, drive.img_id, drive.vol_id,
            to_int(newSize, "newSize")))
    vm = ctx.services.virt.vms.get(vmID)
    return str(ctx.services.virt.disk_extends.extend(
        vm, drive, resize_bytes(newSize)))
