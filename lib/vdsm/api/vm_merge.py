"""VM.merge: the engine's drive dict read into typed ids, one call into
services.virt.merges."""

from __future__ import annotations

import uuid
from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.common import exception
from vdsm.virt.livemerge import MergeDrive


def merge_drive(value: Any) -> MergeDrive:
    """A DriveSpecVolume: 13 (the disk is not found) when it names none."""
    if not isinstance(value, dict):
        raise exception.ImageFileNotFound(f"bad drive {value!r}")
    try:
        return MergeDrive(sd_id=str(value["domainID"]),
                          img_id=str(value["imageID"]),
                          vol_id=str(value.get("volumeID") or ""))
    except KeyError:
        raise exception.ImageFileNotFound(f"bad drive {value!r}") from None


@verb("VM.merge")
def merge(ctx: CallContext, vmID: str, drive: Any, baseVolUUID: str,
          topVolUUID: str, bandwidth: Any, jobUUID: str | None) -> dict:
    vm = ctx.services.virt.vms.get(vmID)
    ctx.services.virt.merges.merge(
        vm, merge_drive(drive), baseVolUUID, topVolUUID, bandwidth,
        jobUUID or str(uuid.uuid4()))
    return {}
