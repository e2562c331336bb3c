"""Host.getStats figures, computed from two host samples.

Pure functions of ``HostSample``s: no file is read here, which is what
lets the API answer at once and lets tests feed synthetic samples. The
figures are typed values; ``vdsm.api.host_stats_wire`` maps them to
upstream's wire names and forms (ratios as strings, MiB as ints).

Cpu figures are percent of the whole host; a NIC's rx/tx rate is percent
of its link speed (1000 Mb/s when the driver reports none), and vdsm's
own cpu and ksmd's are percent of one cpu.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from vdsm.host import procfs
from vdsm.host.sampling import HostSample, NicSample

DEFAULT_SPEED = 1000    # Mb/s, as upstream when a NIC reports none
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


@dataclass(frozen=True)
class CpuUsage:
    """Percent of the time between two samples."""
    user: float = 0.0
    sys: float = 0.0
    idle: float = 100.0


@dataclass(frozen=True)
class CpuStats:
    total: CpuUsage = CpuUsage()
    vdsm_user: float = 0.0          # percent of one cpu
    vdsm_sys: float = 0.0
    # cpu id -> (numa node, usage)
    cpus: dict[int, tuple[int, CpuUsage]] = field(default_factory=dict)


@dataclass(frozen=True)
class MemoryStats:
    free_mib: int
    used_pct: int
    swap_total_mib: int
    swap_free_mib: int
    anon_huge_pages_mib: int


@dataclass(frozen=True)
class NodeMemory:
    free_mib: int
    used_pct: int


@dataclass(frozen=True)
class SystemStats:
    load_avg_5min: float
    boot_time: int | None
    thp_state: str | None
    nodes: dict[int, NodeMemory]
    disk_free_mib: dict[str, int]


@dataclass(frozen=True)
class KsmStats:
    running: bool
    pages_to_scan: int
    cpu_pct: int                    # percent of one cpu
    merge_across_nodes: bool
    shared_mib: int


@dataclass(frozen=True)
class NicStats:
    name: str
    state: str
    speed: int                      # Mb/s
    rx_bytes: int
    tx_bytes: int
    rx_errors: int
    tx_errors: int
    rx_dropped: int
    tx_dropped: int
    rx_rate: float                  # percent of the link speed
    tx_rate: float
    sample_time: float


@dataclass(frozen=True)
class NetworkStats:
    nics: dict[str, NicStats]
    rx_dropped: int
    tx_dropped: int


@dataclass(frozen=True)
class HostStats:
    elapsed: float
    now: float                      # seconds since the epoch
    cpu: CpuStats = CpuStats()
    memory: MemoryStats | None = None
    system: SystemStats | None = None
    # None before the second sample (no rates yet).
    network: NetworkStats | None = None
    ksm: KsmStats | None = None


def produce(first: HostSample | None, last: HostSample | None,
            elapsed: float) -> HostStats:
    now = time.time()
    if last is None:
        return HostStats(elapsed, now)
    if first is None:
        return HostStats(elapsed, now, memory=memory(last.meminfo),
                         system=system(last), ksm=ksm(None, last))
    return HostStats(elapsed, now, cpu=cpu(first, last),
                     memory=memory(last.meminfo), system=system(last),
                     network=network(first, last), ksm=ksm(first, last))


def date_time(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S GMT", time.gmtime(now))


def cpu_usage(first: procfs.CpuTimes, last: procfs.CpuTimes) -> CpuUsage:
    """Usage between two readings of one cpu line."""
    total = last.total - first.total
    if total <= 0:
        return CpuUsage()
    user = 100.0 * max(0, last.user_time - first.user_time) / total
    sys = 100.0 * max(0, last.system_time - first.system_time) / total
    return CpuUsage(user, sys, max(0.0, 100.0 - user - sys))


def cpu(first: HostSample, last: HostSample) -> CpuStats:
    interval = last.timestamp - first.timestamp
    return CpuStats(
        total=cpu_usage(first.stat.total, last.stat.total),
        vdsm_user=process_pct(first.process.utime, last.process.utime,
                              interval),
        vdsm_sys=process_pct(first.process.stime, last.process.stime,
                             interval),
        cpus=cpu_statistics(first, last))


def process_pct(first: int, last: int, interval: float) -> float:
    """Percent of one cpu used between two jiffies readings."""
    if interval <= 0:
        return 0.0
    return 100.0 * max(0, last - first) / CLOCK_TICKS / interval


def cpu_statistics(first: HostSample, last: HostSample
                   ) -> dict[int, tuple[int, CpuUsage]]:
    node_of = {cpu_id: node_id
               for node_id, cpus in last.node_cpus.items()
               for cpu_id in cpus}
    result = {}
    for cpu_id, times in last.stat.cpus.items():
        before = first.stat.cpus.get(cpu_id)
        if before is None:      # came online between the samples
            continue
        result[cpu_id] = (node_of.get(cpu_id, 0), cpu_usage(before, times))
    return result


def mem_free_kib(meminfo: dict[str, int]) -> int:
    """Memory the host can hand out: free plus reclaimable caches."""
    return (meminfo.get("MemFree", 0) + meminfo.get("Cached", 0)
            + meminfo.get("Buffers", 0) + meminfo.get("SReclaimable", 0))


def _used_pct(total: int, free: int) -> int:
    return round(100 - 100.0 * free / total) if total else 0


def memory(meminfo: dict[str, int]) -> MemoryStats:
    total = meminfo["MemTotal"]
    free = min(mem_free_kib(meminfo), total)
    return MemoryStats(
        free_mib=free // 1024, used_pct=_used_pct(total, free),
        swap_total_mib=meminfo.get("SwapTotal", 0) // 1024,
        swap_free_mib=meminfo.get("SwapFree", 0) // 1024,
        anon_huge_pages_mib=meminfo.get("AnonHugePages", 0) // 1024)


def system(last: HostSample) -> SystemStats:
    return SystemStats(
        load_avg_5min=last.loadavg[1], boot_time=last.stat.boot_time,
        thp_state=last.thp_state,
        nodes={node: NodeMemory(free // 1024, _used_pct(total, free))
               for node, (total, free) in last.node_memory.items()},
        disk_free_mib=dict(last.disk_free))


def ksm(first: HostSample | None, last: HostSample) -> KsmStats | None:
    if last.ksm is None:
        return None
    k = last.ksm
    ksm_cpu = 0
    before = first.ksm if first is not None else None
    if (first is not None and before is not None
            and before.ksmd_times and k.ksmd_times):
        used = (k.ksmd_times.utime + k.ksmd_times.stime
                - before.ksmd_times.utime - before.ksmd_times.stime)
        ksm_cpu = round(process_pct(0, used,
                                    last.timestamp - first.timestamp))
    return KsmStats(running=k.run, pages_to_scan=k.pages_to_scan,
                    cpu_pct=ksm_cpu,
                    merge_across_nodes=k.merge_across_nodes,
                    shared_mib=k.pages_sharing * PAGE_SIZE // MIB)


def network(first: HostSample, last: HostSample) -> NetworkStats:
    nics = {}
    rx_dropped = tx_dropped = 0
    interval = last.timestamp - first.timestamp
    for name, nic in last.nics.items():
        before = first.nics.get(name)
        if before is None:      # appeared between the samples
            continue
        nics[name] = nic_stats(name, before, nic, interval, last.timestamp)
        rx_dropped += nic.counters.rx_dropped
        tx_dropped += nic.counters.tx_dropped
    return NetworkStats(nics, rx_dropped, tx_dropped)


def nic_stats(name: str, first: NicSample, last: NicSample,
              interval: float, sample_time: float) -> NicStats:
    speed = last.speed or DEFAULT_SPEED
    c = last.counters
    return NicStats(
        name=name, state=last.state, speed=speed,
        rx_bytes=c.rx_bytes, tx_bytes=c.tx_bytes, rx_errors=c.rx_errors,
        tx_errors=c.tx_errors, rx_dropped=c.rx_dropped,
        tx_dropped=c.tx_dropped,
        rx_rate=link_pct(first.counters.rx_bytes, c.rx_bytes, interval,
                         speed),
        tx_rate=link_pct(first.counters.tx_bytes, c.tx_bytes, interval,
                         speed),
        sample_time=sample_time)


def link_pct(first: int, last: int, interval: float, speed: int) -> float:
    """Percent of a speed Mb/s link used by last - first bytes.

    A counter that went down (device re-created, 32-bit wrap) counts as
    no traffic rather than a huge rate.
    """
    if interval <= 0 or last < first:
        return 0.0
    bits_per_second = (last - first) * 8 / interval
    return 100.0 * bits_per_second / (speed * 1_000_000)
