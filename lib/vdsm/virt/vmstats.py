"""Turn a VM's status and its last two bulk samples into wire stats.

Values are formatted as upstream sends them (numbers as strings for
percentages and rates). Rates need two samples; until there are two, they
read zero. A VM missing from the last sample, or whose last sample lacks
the parts libvirt skipped (NOWAIT on a busy domain), is reported with
``monitorResponse: "-1"``.
"""

from __future__ import annotations

from typing import Any

from vdsm.common import clock
from vdsm.virt.sampling import Sample
from vdsm.virt.vm import DOWN, Vm

LINK_SPEED_MBPS = 1000


def vm_stats(vm: Vm, prev: Sample | None, last: Sample | None
             ) -> dict[str, Any]:
    stats: dict[str, Any] = {"vmId": vm.id, "vmName": vm.name,
                             "hash": vm.devices_hash}
    stats.update(vm.status_info())
    if vm.status == DOWN:
        return stats
    start = vm.start_time()
    stats["elapsedTime"] = str(int(clock.monotonic() - start)
                               if start is not None else 0)
    stats["monitorResponse"] = "0" if _responsive(prev, last) else "-1"
    stats["clientIp"] = vm.console.client_ip
    if vm.migration is not None and vm.migration.active:
        stats["migrationProgress"] = vm.migration.state.progress
    for kind, key in (("tpm", "tpmHash"), ("nvram", "nvramHash")):
        if vm.external_hashes.get(kind):
            stats[key] = vm.external_hashes[kind]
    stats.update(_cpu(prev, last))
    stats["memUsage"] = _mem_usage(last)
    stats["network"] = _network(prev, last)
    stats["disks"] = _disks(prev, last)
    return stats


def _responsive(prev: Sample | None, last: Sample | None) -> bool:
    # balloon.rss needs the qemu monitor: NOWAIT leaves it out when the
    # VM's job is held by a call stuck on that monitor, but also when the
    # job was busy for a moment. Only two samples in a row without it
    # mean a hung monitor.
    return any(s is not None and "balloon.rss" in s.stats
               for s in (prev, last))


def _delta(prev: Sample | None, last: Sample | None, key: str
           ) -> float | None:
    if prev is None or last is None:
        return None
    if key not in prev.stats or key not in last.stats:
        return None
    return max(0.0, float(last.stats[key] - prev.stats[key]))


def _interval(prev: Sample | None, last: Sample | None) -> float:
    if prev is None or last is None:
        return 0.0
    return last.time - prev.time


def _cpu(prev: Sample | None, last: Sample | None) -> dict[str, str]:
    out = {"cpuUser": "0.00", "cpuSys": "0.00", "cpuUsage": "0",
           "vcpuCount": "0"}
    if last is not None:
        out["cpuUsage"] = str(last.stats.get("cpu.time", 0))
        out["vcpuCount"] = str(last.stats.get("vcpu.current", 0))
    interval_ns = _interval(prev, last) * 1e9
    total = _delta(prev, last, "cpu.time")
    system = _delta(prev, last, "cpu.system")
    if interval_ns > 0 and total is not None:
        system = system or 0.0
        out["cpuSys"] = "%.2f" % (100 * system / interval_ns)
        out["cpuUser"] = "%.2f" % (100 * max(0.0, total - system)
                                   / interval_ns)
    return out


def _mem_usage(last: Sample | None) -> str:
    if last is None:
        return "0"
    s = last.stats
    if s.get("balloon.available") and "balloon.usable" in s:
        used = 1 - s["balloon.usable"] / s["balloon.available"]
    elif s.get("balloon.current") and "balloon.rss" in s:
        used = s["balloon.rss"] / s["balloon.current"]
    else:
        return "0"
    return str(int(min(100, max(0, used * 100))))


def _indexed(sample: Sample | None, kind: str) -> dict[str, int]:
    """Device name -> index in a flat libvirt stats record."""
    if sample is None:
        return {}
    count = sample.stats.get(f"{kind}.count", 0)
    return {sample.stats[f"{kind}.{i}.name"]: i for i in range(count)
            if f"{kind}.{i}.name" in sample.stats}


def _network(prev: Sample | None, last: Sample | None
             ) -> dict[str, dict[str, Any]]:
    out = {}
    before = _indexed(prev, "net")
    interval = _interval(prev, last)
    for name, i in _indexed(last, "net").items():
        s = last.stats if last else {}
        nic = {"name": name, "sampleTime": last.time if last else 0.0,
               "rx": str(s.get(f"net.{i}.rx.bytes", 0)),
               "tx": str(s.get(f"net.{i}.tx.bytes", 0)),
               "rxErrors": str(s.get(f"net.{i}.rx.errs", 0)),
               "txErrors": str(s.get(f"net.{i}.tx.errs", 0)),
               "rxDropped": str(s.get(f"net.{i}.rx.drop", 0)),
               "txDropped": str(s.get(f"net.{i}.tx.drop", 0)),
               "rxRate": "0.0", "txRate": "0.0", "speed": str(
                   LINK_SPEED_MBPS)}
        if name in before and interval > 0 and prev is not None:
            j = before[name]
            for way in ("rx", "tx"):
                delta = (s.get(f"net.{i}.{way}.bytes", 0)
                         - prev.stats.get(f"net.{j}.{way}.bytes", 0))
                rate = max(0, delta) * 8 / interval / (LINK_SPEED_MBPS * 1e6)
                nic[f"{way}Rate"] = "%.1f" % (rate * 100)
        out[name] = nic
    return out


def _disks(prev: Sample | None, last: Sample | None
           ) -> dict[str, dict[str, str]]:
    out = {}
    before = _indexed(prev, "block")
    interval = _interval(prev, last)
    for name, i in _indexed(last, "block").items():
        s = last.stats if last else {}
        disk = {"readOps": str(s.get(f"block.{i}.rd.reqs", 0)),
                "writeOps": str(s.get(f"block.{i}.wr.reqs", 0)),
                "readBytes": str(s.get(f"block.{i}.rd.bytes", 0)),
                "writtenBytes": str(s.get(f"block.{i}.wr.bytes", 0)),
                "apparentsize": str(s.get(f"block.{i}.capacity", 0)),
                "truesize": str(s.get(f"block.{i}.physical", 0)),
                "readRate": "0.0", "writeRate": "0.0",
                "readLatency": "0.00000000", "writeLatency": "0.00000000",
                "flushLatency": "0.00000000"}
        if name in before and interval > 0 and prev is not None:
            disk.update(_disk_rates(prev.stats, before[name], s, i,
                                    interval))
        out[name] = disk
    return out


def _disk_rates(p: dict, j: int, s: dict, i: int, interval: float
                ) -> dict[str, str]:
    def delta(key: str) -> float:
        return max(0, s.get(f"block.{i}.{key}", 0)
                   - p.get(f"block.{j}.{key}", 0))

    def latency(op: str) -> str:
        reqs = delta(f"{op}.reqs")
        return "%.8f" % (delta(f"{op}.times") / reqs / 1e9 if reqs else 0.0)

    return {"readRate": "%.1f" % (delta("rd.bytes") / interval),
            "writeRate": "%.1f" % (delta("wr.bytes") / interval),
            "readLatency": latency("rd"), "writeLatency": latency("wr"),
            "flushLatency": latency("fl")}
