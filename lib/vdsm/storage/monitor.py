"""Domain monitor: is each domain readable, how fast, do we hold our id.

Per monitored domain a ``Periodic`` reads the first block of
``dom_md/metadata`` with direct I/O (bypassing the page cache, so the
storage is really asked) every ``[irs] sd_health_check_delay`` seconds,
through the domain's out-of-process helper with a timeout. A hung mount
makes that domain invalid with code 379; it never stalls the caller of
``stats()``, which only reads the last results.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass
from typing import Callable

from vdsm.common import clock
from vdsm.common.exception import VdsmError
from vdsm.common.periodic import Periodic
from vdsm.storage import errors
from vdsm.storage.domain import FileDomain

log = logging.getLogger("vdsm.storage.monitor")


@dataclass
class DomainHealth:
    """A domain's health as its last check found it (one writer: the
    domain's Periodic; ``stats()`` hands out copies)."""

    code: int = 0
    valid: bool = False
    delay: float = 0.0                # seconds the metadata read took
    last_check: float | None = None   # clock.monotonic() of the check
    acquired: bool = False
    version: int = -1
    actual: bool = False              # at least one check done

    def age(self) -> float:
        """Seconds since the last check (0 before the first)."""
        return (clock.monotonic() - self.last_check
                if self.last_check is not None else 0.0)


class DomainMonitor:
    def __init__(self, find: Callable[[str], FileDomain],
                 interval: float) -> None:
        self._find = find
        self.interval = interval
        self._lock = threading.Lock()
        self._monitors: dict[str, tuple[Periodic, DomainHealth]] = {}
        self._host_ids: dict[str, int] = {}

    def start(self, sd_uuid: str, host_id: int | None = None) -> None:
        with self._lock:
            if host_id is not None:
                self._host_ids[sd_uuid] = host_id
            if sd_uuid in self._monitors:
                return
            status = DomainHealth()
            runner = Periodic(f"monitor/{sd_uuid[:8]}", self.interval,
                              lambda: self._check(sd_uuid, status))
            self._monitors[sd_uuid] = (runner, status)
        runner.start()
        log.info("MONITOR_START sd=%s", sd_uuid)

    def stop(self, sd_uuid: str) -> None:
        with self._lock:
            entry = self._monitors.pop(sd_uuid, None)
            self._host_ids.pop(sd_uuid, None)
        if entry is not None:
            entry[0].stop()
            log.info("MONITOR_STOP sd=%s", sd_uuid)

    def stop_all(self) -> None:
        for sd in self.monitored():
            self.stop(sd)

    def monitored(self) -> list[str]:
        with self._lock:
            return list(self._monitors)

    def stats(self) -> dict[str, DomainHealth]:
        with self._lock:
            return {sd: dataclasses.replace(status)
                    for sd, (_, status) in self._monitors.items()}

    def _check(self, sd_uuid: str, status: DomainHealth) -> None:
        try:
            dom = self._find(sd_uuid)
            res = dom.io.call("direct_read", path=dom.md_path("metadata"),
                              size=max(4096, dom.block_size))
            version = int(dom.metadata().get("VERSION", -1))
            host_id = self._host_ids.get(sd_uuid)
            acquired = (host_id is not None and dom.has_host_id(host_id))
            status.code, status.valid = 0, True
            status.delay, status.version = res["delay"], version
            status.acquired = acquired
        except VdsmError as e:
            status.code, status.valid, status.acquired = e.code, False, False
            log.warning("CHECK sd=%s error=%s", sd_uuid, e)
        except OSError as e:
            status.code, status.valid, status.acquired = (
                errors.StorageDomainAccessError.code, False, False)
            log.warning("CHECK sd=%s error=%s", sd_uuid, e)
        status.last_check = clock.monotonic()
        status.actual = True
