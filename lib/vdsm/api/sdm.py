"""SDM namespace: storage jobs that need no SPM (copy_data)."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api.storagewire import storage
from vdsm.storage import errors


def _endpoint(value: dict[str, Any], name: str) -> dict[str, str]:
    if value.get("endpoint_type", "div") != "div":
        raise errors.InvalidParameter(f"{name}: only div endpoints",
                                      endpoint_type=value["endpoint_type"])
    return {"sd_id": value["sd_id"], "img_id": value["img_id"],
            "vol_id": value["vol_id"]}


@verb("SDM.copy_data")
def copy_data(ctx: CallContext, job_id: str, source: dict[str, Any],
              destination: dict[str, Any], **unused: Any) -> None:
    storage(ctx).images.copy_data(job_id, _endpoint(source, "source"),
                                  _endpoint(destination, "destination"))
