"""Host jobs: Host.getJobs and the Jobs namespace (SDM jobs, see
``vdsm.storage.jobs``)."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api import storage_wire
from vdsm.api.storage_args import storage


@verb("Host.getJobs")
def get_jobs(ctx: CallContext, job_type: str | None,
             job_ids: list[str]) -> dict[str, Any]:
    jobs = dict(storage(ctx).jobs.info(job_type, job_ids))
    if not job_type or job_type == "virt":
        jobs.update(ctx.services.virt.jobs.info(job_ids))
    return {job_id: storage_wire.job_info(job)
            for job_id, job in jobs.items()}


@verb("Jobs.abort")
def abort(ctx: CallContext, job_id: str) -> None:
    storage(ctx).jobs.abort(job_id)


@verb("Jobs.delete")
def delete(ctx: CallContext, job_id: str) -> None:
    storage(ctx).jobs.delete(job_id)
