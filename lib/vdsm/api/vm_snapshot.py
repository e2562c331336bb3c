"""VM.snapshot: the engine's snapDrives read into typed drives, one call
into services.virt.snapshots."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.common import exception
from vdsm.virt.snapshot import SnapDrive


def snap_drives(value: Any) -> list[SnapDrive]:
    if not isinstance(value, list):
        raise exception.SnapshotFailed("snapDrives is not a list")
    out = []
    for d in value:
        try:
            out.append(SnapDrive(sd_id=str(d["domainID"]),
                                 img_id=str(d["imageID"]),
                                 vol_id=str(d["volumeID"]),
                                 base_vol_id=str(d["baseVolumeID"])))
        except (KeyError, TypeError):
            raise exception.SnapshotFailed(f"bad snapDrive {d!r}") from None
    return out


def _seconds(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise exception.InvalidParameter(f"freeze_timeout {value!r}")


@verb("VM.snapshot")
def snapshot(ctx: CallContext, vmID: str, snapDrives: Any, snapMemory: Any,
             frozen: Any, jobUUID: str | None, freeze_timeout: Any,
             timeout: Any) -> dict:
    vm = ctx.services.virt.vms.get(vmID)
    ctx.services.virt.snapshots.snapshot(
        vm, snap_drives(snapDrives), frozen in (True, "true"),
        _seconds(freeze_timeout), jobUUID or None,
        memory=bool(snapMemory))
    return {}
