"""SDM namespace: storage jobs that need no SPM (copy_data, update_volume,
sparsify_volume, amend_volume)."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api.storage_args import storage, uuid
from vdsm.storage import errors
from vdsm.storage.volume import VolumeRef
from vdsm.storage.volumejobs import VolumeAttributes


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


def _vol_info(value: dict[str, Any]) -> tuple[VolumeRef, int | None]:
    """A vol_info: the volume and the generation the caller expects."""
    return (VolumeRef(uuid(value["sd_id"], "sdUUID"),
                      uuid(value["img_id"], "imgUUID"),
                      uuid(value["vol_id"], "volUUID")),
            value.get("generation"))


@verb("SDM.update_volume")
def update_volume(ctx: CallContext, job_id: str, vol_info: dict[str, Any],
                  vol_attr: dict[str, Any]) -> None:
    ref, generation = _vol_info(vol_info)
    attrs = VolumeAttributes(
        generation=vol_attr.get("generation"),
        description=vol_attr.get("description"),
        legality=vol_attr.get("legality"), type=vol_attr.get("type"))
    storage(ctx).images.update_volume(job_id, ref, generation, attrs)


@verb("SDM.sparsify_volume")
def sparsify_volume(ctx: CallContext, job_id: str,
                    vol_info: dict[str, Any]) -> None:
    ref, generation = _vol_info(vol_info)
    storage(ctx).images.sparsify_volume(job_id, ref, generation)


@verb("SDM.amend_volume")
def amend_volume(ctx: CallContext, job_id: str, vol_info: dict[str, Any],
                 qcow2_attr: dict[str, Any]) -> None:
    ref, generation = _vol_info(vol_info)
    storage(ctx).images.amend_volume(job_id, ref, generation,
                                     qcow2_attr.get("compat"))
