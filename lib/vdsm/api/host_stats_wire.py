"""The host's own part of Host.getStats in upstream's wire names and forms.

As the engine reads them (VdsBrokerObjectsBuilder.updateVDSStatisticsData):
cpu ratios are strings (``"12.50"``: its double reader takes a string or a
float, an int reads as null), per-cpu ``nodeIndex`` an int, memory in MiB
as ints, counters upstream types as strings (rx/tx, drops, bootTime) as
strings, NIC ``sampleTime`` a float.
"""

from __future__ import annotations

from typing import Any

from vdsm.host import stats as host_stats
from vdsm.host.stats import (CpuStats, CpuUsage, HostStats, KsmStats,
                             MemoryStats, NetworkStats, NicStats,
                             SystemStats)


def _pct(value: float) -> str:
    return f"{value:.2f}"


def _rate(value: float) -> str:
    return f"{value:.1f}"


def stats(s: HostStats) -> dict[str, Any]:
    wire: dict[str, Any] = {"elapsedTime": str(int(s.elapsed)),
                            "dateTime": host_stats.date_time(s.now)}
    wire.update(cpu(s.cpu))
    if s.memory is not None:
        wire.update(memory(s.memory))
    if s.system is not None:
        wire.update(system(s.system))
        wire.update(network(s.network) if s.network is not None
                    else {"network": {}})
    if s.ksm is not None:
        wire.update(ksm(s.ksm))
    return wire


def usage(u: CpuUsage) -> dict[str, str]:
    return {"cpuUser": _pct(u.user), "cpuSys": _pct(u.sys),
            "cpuIdle": _pct(u.idle)}


def cpu(c: CpuStats) -> dict[str, Any]:
    return {**usage(c.total),
            "cpuUserVdsmd": _pct(c.vdsm_user),
            "cpuSysVdsmd": _pct(c.vdsm_sys),
            "cpuStatistics": {str(cpu_id): {"nodeIndex": node, **usage(u)}
                              for cpu_id, (node, u) in c.cpus.items()}}


def memory(m: MemoryStats) -> dict[str, Any]:
    return {"memFree": m.free_mib, "memUsed": str(m.used_pct),
            "swapTotal": m.swap_total_mib, "swapFree": m.swap_free_mib,
            "anonHugePages": str(m.anon_huge_pages_mib)}


def system(s: SystemStats) -> dict[str, Any]:
    wire: dict[str, Any] = {"cpuLoad": f"{s.load_avg_5min:.2f}"}
    if s.boot_time is not None:
        wire["bootTime"] = str(s.boot_time)
    if s.thp_state is not None:
        wire["thpState"] = s.thp_state
    wire["numaNodeMemFree"] = {
        str(node): {"memFree": str(n.free_mib), "memPercent": n.used_pct}
        for node, n in s.nodes.items()}
    wire["diskStats"] = {path: {"free": str(free)}
                         for path, free in s.disk_free_mib.items()}
    return wire


def ksm(k: KsmStats) -> dict[str, Any]:
    return {"ksmState": k.running, "ksmPages": k.pages_to_scan,
            "ksmCpu": k.cpu_pct, "ksmMergeAcrossNodes": k.merge_across_nodes,
            "memShared": k.shared_mib}


def network(n: NetworkStats) -> dict[str, Any]:
    return {"network": {name: nic(s) for name, s in n.nics.items()},
            "rxDropped": str(n.rx_dropped), "txDropped": str(n.tx_dropped)}


def nic(s: NicStats) -> dict[str, Any]:
    return {"name": s.name, "state": s.state, "speed": str(s.speed),
            "rx": str(s.rx_bytes), "tx": str(s.tx_bytes),
            "rxErrors": str(s.rx_errors), "txErrors": str(s.tx_errors),
            "rxDropped": str(s.rx_dropped), "txDropped": str(s.tx_dropped),
            "rxRate": _rate(s.rx_rate), "txRate": _rate(s.tx_rate),
            "sampleTime": s.sample_time}
