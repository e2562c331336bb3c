"""SDM namespace: storage jobs that need no SPM (copy_data)."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api.storage_args import storage, uuid
from vdsm.storage import errors
from vdsm.storage.volume import VolumeRef


def _endpoint(value: dict[str, Any], name: str) -> VolumeRef:
    if value.get("endpoint_type", "div") != "div":
        raise errors.InvalidParameter(f"{name}: only div endpoints",
                                      endpoint_type=value["endpoint_type"])
    return VolumeRef(uuid(value["sd_id"], "sdUUID"),
                     uuid(value["img_id"], "imgUUID"),
                     uuid(value["vol_id"], "volUUID"))


@verb("SDM.copy_data")
def copy_data(ctx: CallContext, job_id: str, source: dict[str, Any],
              destination: dict[str, Any], **unused: Any) -> None:
    storage(ctx).images.copy_data(job_id, _endpoint(source, "source"),
                                  _endpoint(destination, "destination"))
