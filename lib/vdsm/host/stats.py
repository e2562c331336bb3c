"""Host.getStats figures, computed from two host samples.

Pure functions of ``HostSample``s: no file is read here, which is what
lets the API answer at once and lets tests feed synthetic samples.

Wire forms follow upstream: ratios and counters that upstream's schema
types as strings are sent as strings (``"12.50"``), memory sizes in MiB
as ints. Cpu figures are percent of the whole host; a NIC's
``rxRate``/``txRate`` is percent of its link speed (1000 Mb/s when the
driver reports none), and ``cpuUserVdsmd``/``ksmCpu`` are percent of one
cpu.
"""

from __future__ import annotations

import os
import time
from typing import Any

from vdsm.host import procfs
from vdsm.host.sampling import HostSample, NicSample

DEFAULT_SPEED = 1000    # Mb/s, as upstream when a NIC reports none
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


def produce(first: HostSample | None, last: HostSample | None,
            elapsed: float) -> dict[str, Any]:
    stats: dict[str, Any] = {"elapsedTime": str(int(elapsed)),
                             "dateTime": date_time(time.time())}
    if last is None:
        stats.update(empty_cpu())
        return stats
    stats.update(memory(last.meminfo))
    stats.update(load_and_pages(last))
    if first is None:
        stats.update(empty_cpu())
        stats["network"] = {}
    else:
        stats.update(cpu(first, last))
        stats.update(network(first, last))
    stats.update(ksm(first, last))
    return stats


def date_time(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S GMT", time.gmtime(now))


def empty_cpu() -> dict[str, Any]:
    return {"cpuUser": "0.00", "cpuSys": "0.00", "cpuIdle": "100.00",
            "cpuUserVdsmd": "0.00", "cpuSysVdsmd": "0.00",
            "cpuStatistics": {}}


def _pct(value: float) -> str:
    return f"{value:.2f}"


def cpu_usage(first: procfs.CpuTimes,
              last: procfs.CpuTimes) -> tuple[float, float, float]:
    """(user, sys, idle) percent between two readings of one cpu line."""
    total = last.total - first.total
    if total <= 0:
        return 0.0, 0.0, 100.0
    user = 100.0 * max(0, last.user_time - first.user_time) / total
    sys = 100.0 * max(0, last.system_time - first.system_time) / total
    return user, sys, max(0.0, 100.0 - user - sys)


def cpu(first: HostSample, last: HostSample) -> dict[str, Any]:
    user, sys, idle = cpu_usage(first.stat.total, last.stat.total)
    interval = last.timestamp - first.timestamp
    return {"cpuUser": _pct(user), "cpuSys": _pct(sys),
            "cpuIdle": _pct(idle),
            "cpuUserVdsmd": _pct(process_pct(
                first.process.utime, last.process.utime, interval)),
            "cpuSysVdsmd": _pct(process_pct(
                first.process.stime, last.process.stime, interval)),
            "cpuStatistics": cpu_statistics(first, last)}


def process_pct(first: int, last: int, interval: float) -> float:
    """Percent of one cpu used between two jiffies readings."""
    if interval <= 0:
        return 0.0
    return 100.0 * max(0, last - first) / CLOCK_TICKS / interval


def cpu_statistics(first: HostSample,
                   last: HostSample) -> dict[str, dict[str, Any]]:
    node_of = {cpu_id: node_id
               for node_id, cpus in last.node_cpus.items()
               for cpu_id in cpus}
    result = {}
    for cpu_id, times in last.stat.cpus.items():
        before = first.stat.cpus.get(cpu_id)
        if before is None:      # came online between the samples
            continue
        user, sys, idle = cpu_usage(before, times)
        result[str(cpu_id)] = {"nodeIndex": node_of.get(cpu_id, 0),
                               "cpuUser": _pct(user), "cpuSys": _pct(sys),
                               "cpuIdle": _pct(idle)}
    return result


def mem_free_kib(meminfo: dict[str, int]) -> int:
    """Memory the host can hand out: free plus reclaimable caches."""
    return (meminfo.get("MemFree", 0) + meminfo.get("Cached", 0)
            + meminfo.get("Buffers", 0) + meminfo.get("SReclaimable", 0))


def memory(meminfo: dict[str, int]) -> dict[str, Any]:
    total = meminfo["MemTotal"]
    free = min(mem_free_kib(meminfo), total)
    used_pct = round(100 - 100.0 * free / total) if total else 0
    return {"memFree": free // 1024,
            "memUsed": str(used_pct),
            "swapTotal": meminfo.get("SwapTotal", 0) // 1024,
            "swapFree": meminfo.get("SwapFree", 0) // 1024,
            "anonHugePages": str(meminfo.get("AnonHugePages", 0) // 1024)}


def load_and_pages(last: HostSample) -> dict[str, Any]:
    stats: dict[str, Any] = {"cpuLoad": f"{last.loadavg[1]:.2f}"}
    if last.stat.boot_time is not None:
        stats["bootTime"] = str(last.stat.boot_time)
    if last.thp_state is not None:
        stats["thpState"] = last.thp_state
    stats["numaNodeMemFree"] = {
        str(node): {"memFree": str(free // 1024),
                    "memPercent": (round(100 - 100.0 * free / total)
                                   if total else 0)}
        for node, (total, free) in last.node_memory.items()}
    stats["diskStats"] = {path: {"free": str(free)}
                          for path, free in last.disk_free.items()}
    return stats


def ksm(first: HostSample | None, last: HostSample) -> dict[str, Any]:
    if last.ksm is None:
        return {}
    k = last.ksm
    ksm_cpu = 0
    before = first.ksm if first is not None else None
    if (first is not None and before is not None
            and before.ksmd_times and k.ksmd_times):
        used = (k.ksmd_times.utime + k.ksmd_times.stime
                - before.ksmd_times.utime - before.ksmd_times.stime)
        ksm_cpu = round(process_pct(0, used,
                                    last.timestamp - first.timestamp))
    return {"ksmState": k.run, "ksmPages": k.pages_to_scan,
            "ksmCpu": ksm_cpu,
            "ksmMergeAcrossNodes": k.merge_across_nodes,
            "memShared": k.pages_sharing * PAGE_SIZE // MIB}


def network(first: HostSample, last: HostSample) -> dict[str, Any]:
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
    return {"network": nics, "rxDropped": str(rx_dropped),
            "txDropped": str(tx_dropped)}


def nic_stats(name: str, first: NicSample, last: NicSample,
              interval: float, sample_time: float) -> dict[str, Any]:
    speed = last.speed or DEFAULT_SPEED
    c = last.counters
    return {"name": name, "state": last.state, "speed": str(speed),
            "rx": str(c.rx_bytes), "tx": str(c.tx_bytes),
            "rxErrors": str(c.rx_errors), "txErrors": str(c.tx_errors),
            "rxDropped": str(c.rx_dropped), "txDropped": str(c.tx_dropped),
            "rxRate": _rate(link_pct(first.counters.rx_bytes, c.rx_bytes,
                                     interval, speed)),
            "txRate": _rate(link_pct(first.counters.tx_bytes, c.tx_bytes,
                                     interval, speed)),
            "sampleTime": sample_time}


def _rate(value: float) -> str:
    return f"{value:.1f}"


def link_pct(first: int, last: int, interval: float, speed: int) -> float:
    """Percent of a speed Mb/s link used by last - first bytes.

    A counter that went down (device re-created, 32-bit wrap) counts as
    no traffic rather than a huge rate.
    """
    if interval <= 0 or last < first:
        return 0.0
    bits_per_second = (last - first) * 8 / interval
    return 100.0 * bits_per_second / (speed * 1_000_000)
