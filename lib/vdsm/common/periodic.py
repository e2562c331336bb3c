"""Periodic operations that never stack and never stall the caller.

Each operation has its own daemon thread. A tick that comes while the
previous run is still going is skipped (logged once per stall), so a hung
call (a libvirt monitor, a dead mount) costs one thread, never a pile-up.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger("vdsm.periodic")


class Periodic:
    def __init__(self, name: str, interval: float,
                 func: Callable[[], None]) -> None:
        self.name = name
        self.interval = interval
        self._func = func
        self._stop = threading.Event()
        self._running = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name=f"periodic/{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._running.acquire(blocking=False):
                threading.Thread(target=self._run, daemon=True,
                                 name=f"periodic/{self.name}/run").start()
            else:
                log.warning("SKIP operation=%s reason=previous run stuck",
                            self.name)
            self._stop.wait(self.interval)

    def _run(self) -> None:
        try:
            self._func()
        except Exception:
            log.exception("FAIL operation=%s", self.name)
        finally:
            self._running.release()
