"""Bulk VM sampling: one libvirt call for all domains, every interval.

Theory of operation
-------------------
Every ``vm_sample_interval`` seconds a ``Periodic`` (which never stacks
runs) calls ``virConnectGetAllDomainStats`` once, for all domains, with
``VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT``: libvirt then skips the parts
that need a domain job it cannot get at once, so a VM whose qemu monitor
hangs comes back with partial stats instead of holding up the call (and,
with it, every other VM). The last two samples of each VM are kept;
VM.getStats and Host.getAllVmStats only read them (``vmstats.py`` turns two
samples into rates), never libvirt.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import libvirt

from vdsm.common import clock
from vdsm.common.libvirtconnection import Connection
from vdsm.common.periodic import Periodic

log = logging.getLogger("vdsm.virt.sampling")

STATS = (libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
         | libvirt.VIR_DOMAIN_STATS_BALLOON | libvirt.VIR_DOMAIN_STATS_VCPU
         | libvirt.VIR_DOMAIN_STATS_INTERFACE
         | libvirt.VIR_DOMAIN_STATS_BLOCK)
FLAGS = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT


@dataclass
class Sample:
    time: float                  # monotonic seconds
    stats: dict[str, Any]        # libvirt's flat "cpu.time": value map


class Sampler:
    def __init__(self, conn: Connection, interval: float) -> None:
        self.conn = conn
        self.interval = interval
        self._lock = threading.Lock()
        self._samples: dict[str, tuple[Sample | None, Sample]] = {}
        self._periodic = Periodic("vm-sampling", interval, self.sample)

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()

    def sample(self) -> None:
        """Take one bulk sample of all domains (the periodic operation)."""
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
            self._samples = {
                vm_id: (self._last(vm_id), sample)
                for vm_id, sample in fresh.items()}
        log.debug("SAMPLED vms=%d", len(fresh))

    def _last(self, vm_id: str) -> Sample | None:
        pair = self._samples.get(vm_id)
        return pair[1] if pair else None

    def get(self, vm_id: str) -> tuple[Sample | None, Sample | None]:
        """(previous, last) samples of a VM; None where missing."""
        with self._lock:
            pair = self._samples.get(vm_id)
        return pair if pair else (None, None)
