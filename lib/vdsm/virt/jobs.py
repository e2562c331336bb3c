"""Virt host jobs: VM operations seen through Host.getJobs.

An asynchronous VM verb (``VM.snapshot`` with ``jobUUID``) runs as a virt
job: ``running`` until it ends ``done`` or ``failed`` (with ``error:
{code, message}``), reported with the same typed values as storage jobs
(``vdsm.storage.jobs.JobInfo``, ``job_type`` ``virt``). Jobs live in
memory; one that a vdsmd restart interrupted is recreated by the recovery
of its VM (its id is in the VM's metadata), ended as recovery found it.
Ended jobs are forgotten ``autodelete_delay`` seconds after they end.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from vdsm.common import exception
from vdsm.storage.jobs import JobError, JobInfo, JobStatus

log = logging.getLogger("vdsm.virt.jobs")

VIRT = "virt"


@dataclass
class _Job:
    id: str
    description: str
    status: JobStatus = JobStatus.RUNNING
    error: JobError | None = None
    ended_at: float | None = None


class VirtJobs:
    def __init__(self, autodelete_delay: float = 3600) -> None:
        self._delay = autodelete_delay
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}

    def add(self, job_id: str, description: str) -> None:
        with self._lock:
            old = self._jobs.get(job_id)
            if old is not None and old.status is JobStatus.RUNNING:
                raise exception.JobExists(job=job_id)
            self._jobs[job_id] = _Job(job_id, description)
        log.info("START job=%s %s", job_id, description)

    def done(self, job_id: str) -> None:
        self._end(job_id, JobStatus.DONE, None)

    def failed(self, job_id: str, error: Exception) -> None:
        code = getattr(error, "code", exception.GeneralError.code)
        self._end(job_id, JobStatus.FAILED, JobError(int(code), str(error)))

    def _end(self, job_id: str, status: JobStatus,
             error: JobError | None) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            job.status, job.error = status, error
            job.ended_at = time.monotonic()
        log.info("END job=%s status=%s error=%s", job_id, status.value,
                 error)

    def info(self, job_ids: list[str] | None = None) -> dict[str, JobInfo]:
        wanted = set(job_ids or ())
        now = time.monotonic()
        with self._lock:
            for job_id, job in list(self._jobs.items()):
                if (job.ended_at is not None and self._delay >= 0
                        and now - job.ended_at >= self._delay):
                    del self._jobs[job_id]
            return {j.id: JobInfo(id=j.id, status=j.status,
                                  description=j.description, job_type=VIRT,
                                  progress=None, error=j.error)
                    for j in self._jobs.values()
                    if not wanted or j.id in wanted}
