"""Bulk VM sampling: one libvirt call for all domains, every interval.

Theory of operation
-------------------
Every ``vm_sample_interval`` seconds one thread calls
``virConnectGetAllDomainStats`` once, for all domains, with
``VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT``: libvirt then skips the parts
that need a domain job it cannot get at once.

A VM whose qemu monitor hangs blocks the first bulk call that queries it
(that call holds the VM's job while it waits). So a tick that finds the
previous run still going does not wait for it: it starts another run (up
to ``MAX_IN_FLIGHT`` at once, then ticks are skipped), and that run,
thanks to NOWAIT, skips the stuck VM's monitor parts and samples every
other VM. Two samples in a row lacking the monitor parts
(``balloon.rss``) mark a VM ``monitorResponse: -1``; one such sample may
be a job busy for a moment. Results are applied newest first; a stuck run
that returns late cannot overwrite a newer sample.

After each sample the guest poller (``guestinfo.py``) may start its
queries, so they rarely hold a domain job while the next sample runs.

The last two samples of each VM are kept; VM.getStats and
Host.getAllVmStats only read them (``vmstats.py`` turns two samples into
rates), never libvirt.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

import libvirt

from vdsm.common import clock
from vdsm.common.libvirtconnection import Connection

log = logging.getLogger("vdsm.virt.sampling")

STATS = (libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
         | libvirt.VIR_DOMAIN_STATS_BALLOON | libvirt.VIR_DOMAIN_STATS_VCPU
         | libvirt.VIR_DOMAIN_STATS_INTERFACE
         | libvirt.VIR_DOMAIN_STATS_BLOCK)
FLAGS = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
MAX_IN_FLIGHT = 3


@dataclass
class Sample:
    time: float                  # monotonic seconds
    stats: dict[str, Any]        # libvirt's flat "cpu.time": value map


class Sampler:
    def __init__(self, conn: Connection, interval: float,
                 after_sample: Callable[[], None] | None = None) -> None:
        """after_sample runs after each applied sample, on the sampling
        thread; it must not block (the guest poller starts its workers
        there, so they do not hold domain jobs while a sample runs)."""
        self.conn = conn
        self.interval = interval
        self.after_sample = after_sample
        self._lock = threading.Lock()
        self._samples: dict[str, tuple[Sample | None, Sample]] = {}
        self._applied = 0.0
        self._in_flight = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._loop, name="virt/sampling",
                         daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._in_flight.acquire(blocking=False):
                threading.Thread(target=self._run, daemon=True,
                                 name="virt/sampling/run").start()
            else:
                log.warning("SKIP sample reason=%d runs stuck",
                            MAX_IN_FLIGHT)
            self._stop.wait(self.interval)

    def _run(self) -> None:
        try:
            self.sample()
        except Exception:
            log.exception("FAIL sample")
        finally:
            self._in_flight.release()

    def sample(self) -> None:
        """Take one bulk sample of all domains."""
        started = clock.monotonic()
        try:
            records = self.conn.get().getAllDomainStats(STATS, FLAGS)
        except libvirt.libvirtError as e:
            if self.conn.is_connection_error(e):
                self.conn.report_broken()
            log.warning("FAIL sample error=%s", str(e))
            return
        now = clock.monotonic()
        fresh = {dom.UUIDString(): Sample(now, stats)
                 for dom, stats in records}
        with self._lock:
            if started < self._applied:
                log.info("DROP sample reason=newer sample applied")
                return
            self._applied = started
            self._samples = {
                vm_id: (self._last(vm_id), sample)
                for vm_id, sample in fresh.items()}
        log.debug("SAMPLED vms=%d seconds=%.3f", len(fresh),
                  now - started)
        if self.after_sample is not None:
            self.after_sample()

    def _last(self, vm_id: str) -> Sample | None:
        pair = self._samples.get(vm_id)
        return pair[1] if pair else None

    def get(self, vm_id: str) -> tuple[Sample | None, Sample | None]:
        """(previous, last) samples of a VM; None where missing."""
        with self._lock:
            pair = self._samples.get(vm_id)
        return pair if pair else (None, None)
