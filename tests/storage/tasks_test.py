"""Tasks: rollbacks in reverse order, persistence, recovery."""

from __future__ import annotations

import threading
import time

import pytest

from vdsm.api import storage_wire
from vdsm.storage import errors
from vdsm.storage.outofprocess import IOHelper
from vdsm.storage.tasks import TaskManager, TaskStore


@pytest.fixture
def store(tmp_path):
    io = IOHelper("tasks", timeout=5)
    yield TaskStore(io, str(tmp_path / "tasks"))
    io.close()


def wait(mgr, task_id):
    deadline = time.monotonic() + 10
    while mgr.get(task_id).state != "finished":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return mgr.get(task_id).status()


def test_success_and_clear(store):
    mgr = TaskManager({})
    mgr.store = store
    task_id = mgr.start("Test.ok", lambda task: None)
    assert wait(mgr, task_id).result == "success"
    assert [r["id"] for r in store.load()] == [task_id]
    mgr.clear(task_id)
    assert store.load() == []
    with pytest.raises(errors.UnknownTask):
        mgr.get(task_id)


def test_failure_runs_rollbacks_in_reverse(store):
    done = []
    mgr = TaskManager({"undo": lambda name: done.append(name)})
    mgr.store = store

    def work(task):
        task.add_rollback("undo", name="first")
        task.add_rollback("undo", name="second")
        raise errors.VolumeCreationError("boom")
    status = wait(mgr, mgr.start("Test.fail", work))
    assert status.result == "cleanSuccess" and status.code == 205
    assert done == ["second", "first"]


def test_clear_refuses_running_and_stop_aborts(store):
    mgr = TaskManager({"undo": lambda: None})
    release = threading.Event()

    def work(task):
        task.add_rollback("undo")
        while not release.wait(0.01):
            task.check_stopped()
    task_id = mgr.start("Test.slow", work)
    with pytest.raises(errors.TaskNotFinished):
        mgr.clear(task_id)
    mgr.stop(task_id)
    status = wait(mgr, task_id)
    assert status.code == errors.TaskAborted.code
    release.set()


def test_recover_rolls_back_unfinished_records(store):
    done = []
    rollbacks = {"undo": lambda name: done.append(name)}
    crashed = TaskManager(rollbacks)
    crashed.store = store
    started = threading.Event()
    never = threading.Event()

    def work(task):
        task.add_rollback("undo", name="half-made")
        started.set()
        never.wait(5)
    task_id = crashed.start("Test.crash", work)
    started.wait(5)
    # A new manager (a restarted vdsmd) adopts the record.
    fresh = TaskManager(rollbacks)
    assert fresh.recover(store) == [task_id]
    status = fresh.get(task_id).status()
    assert status.state == "finished"
    assert status.result == "cleanSuccess"
    assert done == ["half-made"]
    assert store.load()[0]["state"] == "finished"
    never.set()
    wait(crashed, task_id)


@pytest.mark.parametrize("how", ["fails", "stopped"])
def test_rolling_back_is_cleaning(store, how):
    """Upstream reports "cleaning" while a task's rollbacks run (its
    racquiring/recovering states), after a failure or a stop."""
    undoing, release = threading.Event(), threading.Event()

    def undo():
        undoing.set()
        assert release.wait(10)
    mgr = TaskManager({"undo": undo})
    stop_me = threading.Event()

    def work(task):
        task.add_rollback("undo")
        if how == "fails":
            raise errors.VolumeCreationError("no")
        stop_me.set()
        while True:
            task.check_stopped()
            time.sleep(0.01)
    task_id = mgr.start("Test.undo", work)
    if how == "stopped":
        assert stop_me.wait(10)
        mgr.stop(task_id)
    assert undoing.wait(10)
    wire = storage_wire.task_status(mgr.get(task_id).status())
    assert wire["taskState"] == "cleaning" and wire["taskResult"] == ""
    mgr.stop(task_id)          # ignored while rolling back, as upstream
    release.set()
    status = wait(mgr, task_id)
    wire = storage_wire.task_status(status)
    assert wire["taskState"] == "finished"
    assert wire["code"] == (errors.VolumeCreationError.code
                            if how == "fails" else errors.TaskAborted.code)


def test_failed_rollback_is_clean_failure(store):
    """Upstream's "failed" state: the rollback itself failed."""
    def undo():
        raise OSError("storage gone")
    mgr = TaskManager({"undo": undo})

    def work(task):
        task.add_rollback("undo")
        raise errors.VolumeCreationError("no")
    status = wait(mgr, mgr.start("Test.undo", work))
    assert status.result == "cleanFailure"
    assert status.code == errors.VolumeCreationError.code
