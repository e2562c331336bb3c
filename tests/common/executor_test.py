"""The bounded executor: results, errors, a full queue, stuck workers."""

from __future__ import annotations

import threading

import pytest

from vdsm.common import exception
from vdsm.common.executor import Executor


@pytest.fixture
def executor():
    ex = Executor("test", workers=2, max_queue=4, timeout=30)
    ex.start()
    yield ex
    ex.stop()


def test_result(executor):
    assert executor.submit(lambda a, b: a + b, 1, 2).result(5) == 3


def test_exception(executor):
    def fail():
        raise ValueError("boom")
    with pytest.raises(ValueError, match="boom"):
        executor.submit(fail).result(5)


def test_full_queue_refused(executor):
    release = threading.Event()
    running = threading.Semaphore(0)

    def block():
        running.release()
        release.wait()
    futures = [executor.submit(block) for _ in range(2)]
    for _ in range(2):
        assert running.acquire(timeout=5)
    futures += [executor.submit(release.wait) for _ in range(4)]
    with pytest.raises(exception.ResourceUnavailable):
        executor.submit(release.wait)
    release.set()
    for f in futures:
        f.result(5)


def test_stuck_call_times_out_and_worker_is_replaced(executor):
    release = threading.Event()
    stuck = [executor.submit(release.wait, timeout=0.5) for _ in range(2)]
    for f in stuck:
        with pytest.raises(exception.CallTimeout):
            f.result(10)
    # Both original workers are stuck, yet new calls run.
    assert executor.submit(lambda: "alive").result(10) == "alive"
    release.set()
