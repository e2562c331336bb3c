"""Shapes shared by the storage API modules: wire <-> subsystem values."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext
from vdsm.storage import errors
from vdsm.storage.component import Storage


def storage(ctx: CallContext) -> Storage:
    return ctx.services.storage


def to_int(value: Any, name: str) -> int:
    """Sizes travel as strings or ints; anything else is 1000."""
    if isinstance(value, bool):
        raise errors.InvalidParameter(f"{name} is not an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.InvalidParameter(f"{name} is not an integer",
                                      value=value) from None


# Task states the engine knows (AsyncTaskStatusEnum): ours are upstream's
# names except the recovery of a task interrupted by a restart, which
# upstream reports as "cleaning" (rollbacks running).
_WIRE_STATE = {"recovering": "cleaning"}


def task_status(status: dict[str, Any]) -> dict[str, Any]:
    state = _WIRE_STATE.get(status["state"], status["state"])
    return {"taskID": status["id"], "taskState": state,
            "taskResult": status["result"], "code": status["code"],
            "message": status["message"]}


def volume_info(info: dict[str, Any], children: list[str]) -> dict[str, Any]:
    return {"uuid": info["uuid"], "image": info["image"],
            "domain": info["domain"], "capacity": str(info["capacity"]),
            "apparentsize": str(info["apparent_size"]),
            "truesize": str(info["true_size"]), "format": info["format"],
            "type": info["type"], "voltype": info["voltype"],
            "disktype": info["disktype"],
            "description": info["description"], "parent": info["parent"],
            "legality": info["legality"],
            "status": "OK" if info["legality"] == "LEGAL" else "ILLEGAL",
            "ctime": info["ctime"], "generation": info["generation"],
            "children": children,
            "lease": {"path": info["lease_path"], "offset": 0}}
