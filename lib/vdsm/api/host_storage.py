"""Host verbs answered by the storage subsystem."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api import storage_wire
from vdsm.api.storage_args import storage, to_int
from vdsm.api.storage_wire import task_status


@verb("Host.getStorageDomains")
def get_storage_domains(ctx: CallContext, storagepoolID: str | None = None,
                        domainClass: Any = None, storageType: Any = None,
                        remotePath: str | None = None) -> list[str]:
    # Both travel as ints or strings of ints ("any" in the schema).
    return storage(ctx).domains.list(
        sp_uuid=storagepoolID,
        dom_class=to_int(domainClass, "domainClass") if domainClass
        else None,
        dom_type=to_int(storageType, "storageType") if storageType
        else None)


@verb("Host.getConnectedStoragePools")
def get_connected_storage_pools(ctx: CallContext) -> list[str]:
    return storage(ctx).pools.connected()


@verb("Host.getStorageRepoStats")
def get_storage_repo_stats(ctx: CallContext,
                           domains: list[str] | None = None
                           ) -> dict[str, Any]:
    health = storage(ctx).monitor.stats()
    if domains:
        health = {sd: v for sd, v in health.items() if sd in domains}
    return storage_wire.repo_stats(health)


@verb("Host.getAllTasksStatuses")
def get_all_tasks_statuses(ctx: CallContext) -> dict[str, Any]:
    return {t.id: task_status(t.status())
            for t in storage(ctx).tasks.all() if not t.job_type}


@verb("Host.getAllTasksInfo")
def get_all_tasks_info(ctx: CallContext) -> dict[str, Any]:
    return {t.id: storage_wire.task_info(t)
            for t in storage(ctx).tasks.all() if not t.job_type}
