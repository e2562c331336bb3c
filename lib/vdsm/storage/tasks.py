"""Storage tasks: long verbs that answer at once with a task id.

Theory of operation
-------------------
A task runs its function in a thread of its own. Before the function
changes anything it records how to undo it (``task.add_rollback(kind,
**args)``); the record is persisted with the task, on the master domain
(``master/tasks/<id>.task``, one JSON file rewritten atomically through the
domain's I/O helper). On failure or ``stop()`` the task is ``recovering``
(``cleaning`` on the wire) while the rollbacks run in reverse order, then
ends ``finished``/``cleanSuccess`` with the error's code (``cleanFailure``
if a rollback failed), as upstream's tasks (recovery policy "auto") end.

If vdsmd dies mid-task, the record stays ``running`` on the master domain.
When this host becomes SPM again, ``recover()`` loads every record: the
unfinished ones get their rollbacks run and end ``finished``/
``cleanSuccess`` (code 411, "task aborted"), so a killed ``Volume.create``
or copy leaves a finished result or a clean rollback, never a half-made
volume marked legal. Finished records stay until ``Task.clear``.

Rollback kinds are named functions registered by the owner of the
operation (``ROLLBACKS``), so a persisted record holds only names and
JSON arguments, never code.
"""

from __future__ import annotations

import enum
import json
import logging
import subprocess
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from vdsm.common.exception import JobExists, VdsmError
from vdsm.storage import errors

log = logging.getLogger("vdsm.storage.tasks")



class TaskState(enum.StrEnum):
    """Where a task is. The values are what a task record holds on the
    master domain (api/storage_wire.py maps them to the wire)."""

    RUNNING = "running"
    ABORTING = "aborting"        # stop() asked; rollbacks to run
    RECOVERING = "recovering"    # adopted unfinished: rollbacks running
    FINISHED = "finished"


class TaskResult(enum.StrEnum):
    """How a finished task ended. The values are the task record's on
    the master domain, which are upstream's result names."""

    NONE = ""                        # not finished
    SUCCESS = "success"
    FAILURE = "failure"              # records of older versions only
    CLEAN_SUCCESS = "cleanSuccess"   # interrupted, rolled back
    CLEAN_FAILURE = "cleanFailure"   # interrupted, rollback failed


RUNNING = TaskState.RUNNING
FINISHED = TaskState.FINISHED
ABORTING = TaskState.ABORTING
RECOVERING = TaskState.RECOVERING

SUCCESS = TaskResult.SUCCESS
FAILURE = TaskResult.FAILURE
CLEAN_SUCCESS = TaskResult.CLEAN_SUCCESS
CLEAN_FAILURE = TaskResult.CLEAN_FAILURE

INTERRUPTED = "task was interrupted and rolled back"

class TaskKind(enum.Enum):
    """What a task does. The value is what its record holds as ``verb``;
    api/storage_wire.py names it as the wire does (Task.getInfo)."""

    SPM_START = "spm_start"
    SWITCH_MASTER = "switch_master"
    CREATE_VOLUME = "create_volume"
    DELETE_VOLUME = "delete_volume"
    EXTEND_VOLUME = "extend_volume"
    DELETE_IMAGE = "delete_image"
    MOVE_IMAGE = "move_image"
    COPY_VOLUME = "copy_volume"
    CLONE_STRUCTURE = "clone_structure"
    SYNC_DATA = "sync_data"
    COPY_DATA = "copy_data"
    UPDATE_VOLUME = "update_volume"
    SPARSIFY_VOLUME = "sparsify_volume"
    AMEND_VOLUME = "amend_volume"
    PREPARE_MERGE = "prepare_merge"
    MERGE_SUBCHAIN = "merge_subchain"          # SDM.merge (a job)
    FINALIZE_MERGE = "finalize_merge"
    STREAM_TO_VOLUME = "stream_to_volume"      # HTTP PUT
    STREAM_FROM_VOLUME = "stream_from_volume"  # HTTP GET
    CREATE_LEASE = "create_lease"
    DELETE_LEASE = "delete_lease"
    REBUILD_LEASES = "rebuild_leases"


Rollback = Callable[..., None]
ROLLBACKS: dict[str, Rollback] = {}


class TaskStore:
    """Where task records live: a directory on the master domain."""

    def __init__(self, io: Any, path: str) -> None:
        self.io = io
        self.path = path

    def save(self, record: dict[str, Any]) -> None:
        self.io.call("makedirs", path=self.path)
        self.io.call("write_text", path=self._file(record["id"]),
                     text=json.dumps(record))

    def remove(self, task_id: str) -> None:
        self.io.call("unlink", path=self._file(task_id))

    def load(self) -> list[dict[str, Any]]:
        try:
            names = self.io.call("listdir", path=self.path)
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            if name.endswith(".task"):
                out.append(json.loads(self.io.call(
                    "read_text", path=f"{self.path}/{name}")))
        return out

    def _file(self, task_id: str) -> str:
        return f"{self.path}/{task_id}.task"


@dataclass(frozen=True)
class TaskStatus:
    id: str
    state: TaskState
    result: TaskResult
    code: int            # 0, or the error's code
    message: str


@dataclass
class Task:
    id: str
    verb: str
    state: TaskState = RUNNING
    result: TaskResult = TaskResult.NONE
    code: int = 0
    message: str = ""
    rollbacks: list[dict[str, Any]] = field(default_factory=list)
    result_value: Any = None
    # Set for SDM jobs (see vdsm.storage.jobs); "" for SPM tasks.
    job_type: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        # Not persisted: live progress (0-100) of a job's qemu-img, and
        # when the task finished (monotonic), for jobs' autodelete.
        self.progress: float | None = None
        self.finished_at: float | None = None
        self._store: TaskStore | None = None
        self._rollbacks: dict[str, Rollback] = ROLLBACKS
        self._stop = threading.Event()
        self._child: subprocess.Popen | None = None
        self._lock = threading.Lock()
        # Held while the final record is written, so clear() cannot
        # remove the file before that write and see it come back.
        self.finish_lock = threading.Lock()

    def record(self) -> dict[str, Any]:
        return asdict(self)

    def persist(self) -> None:
        if self._store is not None:
            self._store.save(self.record())

    def add_rollback(self, kind: str, **args: Any) -> None:
        if kind not in self._rollbacks:
            raise RuntimeError(f"unknown rollback kind {kind}")
        self.rollbacks.append({"kind": kind, "args": args})
        self.persist()

    def drop_rollbacks(self) -> None:
        """The operation is complete: nothing to undo any more."""
        self.rollbacks = []
        self.persist()

    def check_stopped(self) -> None:
        if self._stop.is_set():
            raise errors.TaskAborted(task=self.id)

    def on_child(self, proc: subprocess.Popen) -> None:
        """Remember the running child (qemu-img) so stop() can kill it."""
        with self._lock:
            self._child = proc
            if self._stop.is_set():
                proc.kill()

    def on_progress(self, value: float) -> None:
        """qemu-img's progress (0-100), shown while the job runs."""
        self.progress = value

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._child is not None and self._child.poll() is None:
                self._child.kill()

    def status(self) -> TaskStatus:
        return TaskStatus(self.id, self.state, self.result, self.code,
                          self.message)

    def run_rollbacks(self) -> bool:
        ok = True
        for step in reversed(self.rollbacks):
            try:
                self._rollbacks[step["kind"]](**step["args"])
            except Exception:
                ok = False
                log.exception("ROLLBACK task=%s step=%s failed", self.id,
                              step)
        self.rollbacks = []
        return ok


class TaskManager:
    def __init__(self, rollbacks: dict[str, Rollback] | None = None) -> None:
        self.rollbacks = ROLLBACKS if rollbacks is None else rollbacks
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self.store: TaskStore | None = None
        # Called with a job's task when it starts, is stopped, finishes.
        self.on_job_change: Callable[[Task], None] | None = None

    def start(self, verb: TaskKind | str, func: Callable[[Task], Any],
              task_id: str | None = None, job_type: str = "",
              description: str = "") -> str:
        """verb: the task's kind (a plain string for tests' own)."""
        if isinstance(verb, TaskKind):
            verb = verb.value
        task = Task(task_id or str(uuid.uuid4()), verb, job_type=job_type,
                    description=description)
        task._store = self.store
        task._rollbacks = self.rollbacks
        with self._lock:
            if task.id in self._tasks:
                if job_type:
                    raise JobExists(job=task.id)
                raise errors.InvalidParameter("task id in use", id=task.id)
            self._tasks[task.id] = task
        task.persist()
        log.info("START task=%s verb=%s", task.id, verb)
        self._changed(task)
        threading.Thread(target=self._run, args=(task, func),
                         name=f"task/{task.id[:8]}", daemon=True).start()
        return task.id

    def get(self, task_id: str) -> Task:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None:
            raise errors.UnknownTask(task=task_id)
        return task

    def all(self) -> list[Task]:
        with self._lock:
            return list(self._tasks.values())

    def running(self) -> list[Task]:
        return [t for t in self.all() if t.state != FINISHED]

    def stop(self, task_id: str) -> None:
        task = self.get(task_id)
        if task.state == FINISHED:
            raise errors.TaskNotFinished("task already finished",
                                         task=task_id)
        if task.state == RECOVERING:
            # Already rolling back; upstream ignores the stop too.
            log.info("STOP task=%s ignored: rolling back", task_id)
            return
        task.state = ABORTING
        task.stop()
        self._changed(task)

    def clear(self, task_id: str) -> None:
        task = self.get(task_id)
        with task.finish_lock:
            if task.state != FINISHED:
                raise errors.TaskNotFinished(task=task_id)
            with self._lock:
                self._tasks.pop(task_id, None)
            if task._store is not None:
                task._store.remove(task_id)

    def recover(self, store: TaskStore) -> list[str]:
        """Adopt the records of the master domain; roll back unfinished."""
        self.store = store
        recovered = []
        for rec in store.load():
            task = Task(rec["id"], rec["verb"], TaskState(rec["state"]),
                        TaskResult(rec["result"]),
                        rec["code"], rec["message"], rec["rollbacks"],
                        rec.get("result_value"), rec.get("job_type", ""),
                        rec.get("description", ""))
            task._store = store
            task._rollbacks = self.rollbacks
            with self._lock:
                if task.id in self._tasks:
                    continue
                self._tasks[task.id] = task
            if task.state != FINISHED:
                task.state = RECOVERING
                ok = task.run_rollbacks()
                self._finish(task, CLEAN_SUCCESS if ok else CLEAN_FAILURE,
                             errors.TaskAborted.code, INTERRUPTED)
                recovered.append(task.id)
        log.info("RECOVER tasks=%s", recovered)
        return recovered

    def move_store(self, store: TaskStore) -> None:
        """The master moved (switchMaster): every record is written to
        ``store``, which later changes go to."""
        with self._lock:
            tasks = [t for t in self._tasks.values() if t._store is not None]
            self.store = store
        for task in tasks:
            store.save(task.record())
            task._store = store

    def forget_all(self) -> None:
        """Drop the records in memory (the pool was left); keep on disk."""
        with self._lock:
            self._tasks = {k: t for k, t in self._tasks.items()
                           if t.state != FINISHED and t._store is None}
        self.store = None

    # Helpers.

    def _run(self, task: Task, func: Callable[[Task], Any]) -> None:
        try:
            task.check_stopped()
            task.result_value = func(task)
            task.check_stopped()
        except Exception as e:
            stopped = task.stop_requested
            if isinstance(e, VdsmError) and e.expected:
                log.info("FAIL task=%s error=%s", task.id, e)
            else:
                log.exception("FAIL task=%s", task.id)
            # As upstream (aborting -> racquiring -> recovering): while
            # the rollbacks run the task is recovering, "cleaning" on
            # the wire, whether it failed or was stopped.
            task.state = RECOVERING
            try:
                task.persist()
            except Exception:
                log.exception("PERSIST task=%s failed", task.id)
            ok = task.run_rollbacks()
            if stopped:
                e = errors.TaskAborted(task=task.id)
            code = e.code if isinstance(e, VdsmError) else 100
            self._finish(task, CLEAN_SUCCESS if ok else CLEAN_FAILURE, code,
                         str(e))
            return
        task.rollbacks = []
        self._finish(task, SUCCESS, 0, "1 jobs completed successfully")

    def _finish(self, task: Task, result: TaskResult, code: int,
                message: str) -> None:
        with task.finish_lock:
            task.result = result
            task.code = code
            task.message = message
            task.state = FINISHED
            task.finished_at = time.monotonic()
            try:
                task.persist()
            except Exception:
                log.exception("PERSIST task=%s failed", task.id)
        log.info("END task=%s result=%s code=%s", task.id, result, code)
        self._changed(task)

    def _changed(self, task: Task) -> None:
        if task.job_type and self.on_job_change is not None:
            try:
                self.on_job_change(task)
            except Exception:
                log.exception("NOTIFY job=%s failed", task.id)
