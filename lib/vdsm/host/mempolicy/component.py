"""The memory policy loop: ``MemoryPolicy``, a vdsmd component.

Every ``[mom] policy_interval`` seconds (and at once when the parameters
change) one run of the policy:

1. reads host memory (/proc/meminfo: MemTotal, MemFree + Buffers +
   Cached, averaged over ``[mom] sample_history`` runs) and the KSM state
   (sysfs);
2. decides KSM (``ksm.decide``) and writes what changed through
   supervdsm (``vdsm.supervdsm.api.ksm``);
3. decides each ballooned guest's target (``balloon.target``) and sets it
   through libvirt.

Runs never overlap (one lock). ``status()`` is what Host.getStats
reports as momStatus, as upstream does: ``active`` while the loop runs
and its last run succeeded, ``inactive`` when the last run failed or the
loop is stopped, ``disabled`` with ``[mom] enabled = false``.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import deque
from typing import Protocol

from vdsm.common.config import Config
from vdsm.common.periodic import Periodic
from vdsm.host import procfs
from vdsm.host.mempolicy import balloon, ksm, parameters
from vdsm.host.mempolicy.balloon import BalloonThresholds, GuestBalloon
from vdsm.host.mempolicy.ksm import HostMemory, KsmThresholds, KsmTuning
from vdsm.host.mempolicy.parameters import Parameters
from vdsm.supervdsm import caller
from vdsm.supervdsm.errors import Unavailable
from vdsm.supervdsm.api import ksm as privileged_ksm

log = logging.getLogger("vdsm.host.mempolicy")


class Status(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DISABLED = "disabled"


class GuestSource(Protocol):
    def committed_kib(self) -> int: ...

    def balloons(self) -> list[GuestBalloon]: ...

    def set_target(self, vm_id: str, target_kib: int) -> None: ...


def thresholds(config: Config) -> tuple[KsmThresholds, BalloonThresholds]:
    def f(name: str) -> float:
        return config.getfloat("mom", name)

    def i(name: str) -> int:
        return config.getint("mom", name)

    return (KsmThresholds(
        free_percent=f("ksm_free_percent"),
        pages_boost=i("ksm_pages_boost"), pages_decay=i("ksm_pages_decay"),
        npages_min=i("ksm_npages_min"), npages_max=i("ksm_npages_max"),
        sleep_ms_baseline=i("ksm_sleep_ms_baseline")),
        BalloonThresholds(
            pressure_threshold=f("pressure_threshold"),
            pressure_critical=f("pressure_critical"),
            min_guest_free_percent=f("min_guest_free_percent"),
            max_change_percent=f("max_balloon_change_percent"),
            min_change_percent=f("min_balloon_change_percent")))


def privileged(config: Config) -> caller.Caller:
    if config.get("mom", "privileged") == "direct":
        return caller.in_process(config)
    return caller.over_socket(config)


class MemoryPolicy:
    def __init__(self, config: Config, guests: GuestSource,
                 priv: caller.Caller) -> None:
        self.enabled = config.getboolean("mom", "enabled")
        self._guests = guests
        self._priv = priv
        self._ksm_th, self._balloon_th = thresholds(config)
        self._path = parameters.store_path(config.get("vars", "lib_dir"))
        self._params = parameters.load(self._path)
        self._free = deque[float](maxlen=config.getint("mom",
                                                       "sample_history"))
        self._lock = threading.Lock()
        self._last_ok = False
        self._running = False
        self._periodic = Periodic("mom", config.getfloat(
            "mom", "policy_interval"), self.run_once)

    def start(self) -> None:
        if not self.enabled:
            log.info("DISABLED memory policy")
            return
        log.info("START memory policy params=%s", self._params)
        self._running = True
        self._periodic.start()

    def stop(self) -> None:
        self._running = False
        self._periodic.stop()

    @property
    def parameters(self) -> Parameters:
        return self._params

    def update(self, params: Parameters) -> None:
        """Keep the new parameters (stored) and run the policy now."""
        with self._lock:
            parameters.save(self._path, params)
            self._params = params
        log.info("UPDATE memory policy params=%s", params)
        if self._running:
            try:
                self.run_once()
            except Exception:
                log.exception("FAIL memory policy run")

    def status(self) -> Status:
        if not self.enabled:
            return Status.DISABLED
        if self._running and self._last_ok:
            return Status.ACTIVE
        return Status.INACTIVE

    def run_once(self) -> None:
        with self._lock:
            try:
                memory = self._host_memory()
                self._run_ksm(memory)
                self._run_balloons(memory)
            except Unavailable as e:
                # supervdsmd down (or not yet up): expected, the next run
                # retries; one line, not a traceback every interval.
                self._last_ok = False
                log.warning("FAIL memory policy run: supervdsm "
                            "unavailable: %s", e)
                return
            except Exception:
                self._last_ok = False
                raise
            self._last_ok = True

    def _host_memory(self) -> HostMemory:
        info = procfs.parse_meminfo(procfs.read("/proc/meminfo"))
        self._free.append(info.get("MemFree", 0) + info.get("Buffers", 0)
                          + info.get("Cached", 0))
        return HostMemory(total_kib=info["MemTotal"],
                          free_kib=sum(self._free) / len(self._free))

    def _run_ksm(self, memory: HostMemory) -> None:
        state = ksm.read_state()
        if state is None:
            return
        tuning = ksm.decide(self._params.ksm_enabled,
                            self._params.ksm_merge_across_nodes, state,
                            memory, self._guests.committed_kib(),
                            self._ksm_th)
        change = ksm.changes(tuning, state)
        if change is not None:
            log.info("KSM %s", change)
            self._write_ksm(change, state.run)

    def _write_ksm(self, change: KsmTuning, run_before: int) -> None:
        # merge_across_nodes first: it needs no shared pages, which a
        # KSM just started could create.
        if change.merge_across_nodes is not None:
            self._priv(privileged_ksm.set_merge_across_nodes,
                       change.merge_across_nodes)
        if (change.pages_to_scan is not None
                or change.sleep_millisecs is not None):
            state = ksm.read_state()
            assert state is not None
            pages = change.pages_to_scan
            sleep = change.sleep_millisecs
            self._priv(privileged_ksm.set_scan,
                       state.pages_to_scan if pages is None else pages,
                       state.sleep_millisecs if sleep is None else sleep)
        if change.run != run_before:
            self._priv(privileged_ksm.set_run, change.run)

    def _run_balloons(self, memory: HostMemory) -> None:
        if memory.total_kib <= 0:
            return
        host_free = memory.free_kib / memory.total_kib
        for guest in self._guests.balloons():
            target = balloon.target(guest, host_free,
                                    self._params.balloon_enabled,
                                    self._balloon_th)
            if target is None:
                continue
            try:
                self._guests.set_target(guest.vm_id, target)
            except Exception as e:
                # One guest going away must not stop the others.
                log.warning("FAIL balloon vm=%s target_kib=%d error=%s",
                            guest.vm_id, target, e)
