"""SDM jobs: storage tasks seen through upstream's host jobs API.

``SDM.copy_data`` and friends run as storage tasks (``vdsm.storage.tasks``:
persisted on the master domain, rolled back on failure or restart) marked
with a ``job_type``. The manager tracks them with ``Host.getJobs``,
``Jobs.abort`` and ``Jobs.delete``, and gets a ``|jobs|status|<id>`` event
whenever one starts, begins aborting or ends. Job tasks stay out of the
SPM task verbs' listings (``Host.getAllTasksStatuses``).

Status, as upstream: ``running``, ``aborting``, then ``done``, ``aborted``
or ``failed`` (with ``error: {code, message}``); ``progress`` (0-100) while
qemu-img reports it. A job interrupted by a vdsmd restart is rolled back
and reports ``failed`` with the task-aborted code (411). Ended jobs are
deleted ``[jobs] autodelete_delay`` seconds after they end (upstream's
default: one hour; negative keeps them until ``Jobs.delete``).
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass

from vdsm.common.exception import JobNotActive, JobNotDone, NoSuchJob
from vdsm.storage import errors
from vdsm.storage.tasks import (ABORTING, FINISHED, INTERRUPTED, SUCCESS,
                                Task, TaskManager)

log = logging.getLogger("vdsm.storage.jobs")

STORAGE = "storage"


class JobStatus(enum.Enum):
    RUNNING = "running"
    ABORTING = "aborting"
    DONE = "done"
    ABORTED = "aborted"
    FAILED = "failed"


@dataclass(frozen=True)
class JobError:
    code: int
    message: str


@dataclass(frozen=True)
class JobInfo:
    id: str
    status: JobStatus
    description: str
    job_type: str
    progress: float | None       # 0-100 while qemu-img reports it
    error: JobError | None       # only when FAILED


def status(task: Task) -> JobStatus:
    if task.state != FINISHED:
        # A stopped job rolling back is still aborting.
        return (JobStatus.ABORTING
                if task.state == ABORTING or task.stop_requested
                else JobStatus.RUNNING)
    if task.result == SUCCESS:
        return JobStatus.DONE
    # A stopped job ends with the task-aborted code; one rolled back after
    # a restart also carries it, but nobody asked for that: failed.
    if task.code == errors.TaskAborted.code and task.message != INTERRUPTED:
        return JobStatus.ABORTED
    return JobStatus.FAILED


def info(task: Task) -> JobInfo:
    st = status(task)
    return JobInfo(
        id=task.id, status=st, description=task.description,
        job_type=task.job_type,
        progress=(None if task.progress is None
                  else round(task.progress, 2)),
        error=(JobError(task.code, task.message)
               if st is JobStatus.FAILED else None))


class Jobs:
    def __init__(self, tasks: TaskManager, autodelete_delay: float) -> None:
        self._tasks = tasks
        self._delay = autodelete_delay

    def info(self, job_type: str | None = None,
             job_ids: list[str] | None = None) -> dict[str, JobInfo]:
        self._autodelete()
        wanted = set(job_ids or ())
        return {t.id: info(t) for t in self._jobs()
                if (not job_type or t.job_type == job_type)
                and (not wanted or t.id in wanted)}

    def abort(self, job_id: str) -> None:
        task = self._get(job_id)
        if task.state == FINISHED:
            raise JobNotActive(job=job_id, status=status(task).value)
        log.info("ABORT job=%s", job_id)
        self._tasks.stop(job_id)

    def delete(self, job_id: str) -> None:
        task = self._get(job_id)
        if task.state != FINISHED:
            raise JobNotDone(job=job_id, status=status(task).value)
        self._tasks.clear(job_id)
        log.info("DELETE job=%s", job_id)

    # Helpers.

    def _jobs(self) -> list[Task]:
        return [t for t in self._tasks.all() if t.job_type]

    def _get(self, job_id: str) -> Task:
        for task in self._jobs():
            if task.id == job_id:
                return task
        raise NoSuchJob(job=job_id)

    def _autodelete(self) -> None:
        if self._delay < 0:
            return
        now = time.monotonic()
        for task in self._jobs():
            if task.state != FINISHED:
                continue
            if task.finished_at is None:
                # Ended before this vdsmd started: count from now.
                task.finished_at = now
            if now - task.finished_at >= self._delay:
                try:
                    self._tasks.clear(task.id)
                    log.info("AUTODELETE job=%s", task.id)
                except Exception:
                    log.exception("AUTODELETE job=%s failed", task.id)
