"""Task namespace: status, info, stop and clear of storage tasks."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api.storage_args import storage
from vdsm.api.storage_wire import task_info, task_status


@verb("Task.getStatus")
def get_status(ctx: CallContext, taskID: str) -> dict[str, Any]:
    return task_status(storage(ctx).tasks.get(taskID).status())


@verb("Task.getInfo")
def get_info(ctx: CallContext, taskID: str) -> dict[str, Any]:
    return task_info(storage(ctx).tasks.get(taskID))


@verb("Task.clear")
def clear(ctx: CallContext, taskID: str) -> None:
    storage(ctx).tasks.clear(taskID)


@verb("Task.stop")
def stop(ctx: CallContext, taskID: str) -> None:
    storage(ctx).tasks.stop(taskID)
