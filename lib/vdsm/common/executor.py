"""A bounded thread executor with a timeout per call.

Verb handlers are plain blocking functions. They run on a fixed number of
worker threads fed from a bounded queue; a full queue refuses new calls
(code 40). A call running past its timeout fails with ``CallTimeout`` at
once; its worker is discarded (it exits whenever the stuck call returns)
and a fresh worker takes its place, so a hung syscall costs one thread,
never the service.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future, InvalidStateError
from typing import Any, Callable

from vdsm.common import clock, exception

log = logging.getLogger("vdsm.executor")

_STOP = object()


class _Work:
    __slots__ = ("func", "args", "future", "timeout", "name")

    def __init__(self, func: Callable[..., Any], args: tuple,
                 timeout: float, name: str) -> None:
        self.func = func
        self.args = args
        self.future: Future = Future()
        self.timeout = timeout
        self.name = name


class _Worker:
    def __init__(self, executor: Executor, index: int) -> None:
        self.executor = executor
        self.discarded = False
        self.work: _Work | None = None
        self.deadline = 0.0
        self.thread = threading.Thread(
            target=self._run, name=f"{executor.name}/{index}", daemon=True)

    def _run(self) -> None:
        while not self.discarded:
            work = self.executor._queue.get()
            if work is _STOP:
                return
            self.deadline = clock.monotonic() + work.timeout
            self.work = work
            try:
                result = work.func(*work.args)
            except BaseException as e:
                _settle(work.future, exc=e)
            else:
                _settle(work.future, result=result)
            finally:
                self.work = None


def _settle(future: Future, result: Any = None,
            exc: BaseException | None = None) -> None:
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass  # Already failed with a timeout.


class Executor:
    def __init__(self, name: str, workers: int, max_queue: int,
                 timeout: float) -> None:
        self.name = name
        self.timeout = timeout
        self._size = workers
        self._queue: queue.Queue = queue.Queue(max_queue)
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._count = 0
        self._stopped = threading.Event()
        self._watchdog = threading.Thread(
            target=self._watch, name=f"{name}/watchdog", daemon=True)

    def start(self) -> None:
        with self._lock:
            for _ in range(self._size):
                self._add_worker()
        self._watchdog.start()

    def stop(self) -> None:
        self._stopped.set()
        for _ in self._workers:
            try:
                self._queue.put_nowait(_STOP)
            except queue.Full:
                break

    def submit(self, func: Callable[..., Any], *args: Any,
               timeout: float | None = None, name: str = "") -> Future:
        work = _Work(func, args, timeout or self.timeout, name)
        try:
            self._queue.put_nowait(work)
        except queue.Full:
            raise exception.ResourceUnavailable(
                f"executor {self.name} is full")
        return work.future

    def _add_worker(self) -> None:
        self._count += 1
        worker = _Worker(self, self._count)
        self._workers.append(worker)
        worker.thread.start()

    def _watch(self) -> None:
        while not self._stopped.wait(0.5):
            now = clock.monotonic()
            with self._lock:
                for worker in list(self._workers):
                    work = worker.work
                    if work is None or now < worker.deadline:
                        continue
                    self._discard(worker, work)

    def _discard(self, worker: _Worker, work: _Work) -> None:
        log.warning("DISCARD worker=%s call=%s timeout=%s",
                    worker.thread.name, work.name, work.timeout)
        worker.discarded = True
        self._workers.remove(worker)
        _settle(work.future, exc=exception.CallTimeout(
            f"{work.name or 'call'} did not finish in {work.timeout} s"))
        self._add_worker()
