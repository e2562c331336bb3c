"""A VM's runtime statistics as typed values, from its view and samples.

``vm_stats()`` reads the VM view (status, cached domain XML, metadata),
its last two bulk samples (``sampling.py``) and what the slow guest poller
last found (``guestinfo.py``); it never calls libvirt, so it answers while
a qemu monitor or a guest agent hangs. ``api/vm_wire.py`` turns the
result into upstream's wire dict.

Rates need two samples; until there are two they read zero. A VM missing
from the last sample, or whose last two samples lack the parts libvirt
skipped (NOWAIT on a busy domain), has ``monitor_responsive`` False.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vdsm.common import clock
from vdsm.virt import domxml
from vdsm.virt.guestinfo import BlockJob, GuestInfo
from vdsm.virt.sampling import Sample
from vdsm.virt.vm import DOWN, PauseCode, StatusInfo, Vm, WatchdogEvent

LINK_SPEED_MBPS = 1000


@dataclass(frozen=True)
class CpuStats:
    user_pct: float = 0.0       # guest time, percent of one host CPU
    sys_pct: float = 0.0        # qemu's own (system) time
    usage_ns: int = 0           # total CPU time since start
    vcpus: int = 0


@dataclass(frozen=True)
class NicStats:
    name: str                   # host side device (vnet0)
    mac: str | None             # the engine matches NICs by it
    link_up: bool
    sample_time: float          # monotonic seconds of the sample
    rx_bytes: int = 0
    tx_bytes: int = 0
    rx_errors: int = 0
    tx_errors: int = 0
    rx_dropped: int = 0
    tx_dropped: int = 0
    rx_rate_pct: float = 0.0    # percent of speed
    tx_rate_pct: float = 0.0
    speed_mbps: int = LINK_SPEED_MBPS


@dataclass(frozen=True)
class DiskStats:
    name: str                   # target (vda)
    image_id: str | None        # from the device metadata (engine disks)
    read_ops: int = 0
    write_ops: int = 0
    read_bytes: int = 0
    written_bytes: int = 0
    apparent_size: int = 0      # bytes the guest sees
    true_size: int = 0          # bytes allocated on the host
    read_rate: float = 0.0      # bytes per second
    write_rate: float = 0.0
    read_latency: float = 0.0   # seconds per request
    write_latency: float = 0.0
    flush_latency: float = 0.0


@dataclass(frozen=True)
class BalloonInfo:
    """The balloon device, in KiB; only when the VM has one."""

    current_kib: int
    maximum_kib: int
    target_kib: int
    minimum_kib: int
    enabled: bool               # the engine's ballooningEnabled


@dataclass(frozen=True)
class GuestMemory:
    """What the guest's balloon driver reports (KiB, counts)."""

    total_kib: int | None = None        # balloon.available
    unused_kib: int | None = None       # balloon.unused
    usable_kib: int | None = None       # balloon.usable
    disk_caches_kib: int | None = None  # balloon.disk_caches
    swap_in_kib: int | None = None
    swap_out_kib: int | None = None
    major_faults: int | None = None
    minor_faults: int | None = None


@dataclass(frozen=True)
class VmStats:
    vm_id: str
    name: str
    status: StatusInfo
    devices_hash: str
    # Below: only for a VM that is not Down.
    elapsed_s: int | None = None
    monitor_responsive: bool = True
    cpu: CpuStats = CpuStats()
    mem_usage_pct: int = 0
    nics: list[NicStats] = field(default_factory=list)
    disks: list[DiskStats] = field(default_factory=list)
    displays: list[domxml.Graphics] = field(default_factory=list)
    balloon: BalloonInfo | None = None
    guest_memory: GuestMemory | None = None
    jobs: list[BlockJob] = field(default_factory=list)
    pause_code: PauseCode = PauseCode.NOERR
    cdrom: str | None = None
    time_offset_s: int = 0
    watchdog: WatchdogEvent | None = None
    guest: GuestInfo | None = None
    kvm: bool = False
    acpi: bool = False
    # From the console (graphics events: '' when no client) and the
    # external data tracker (hashes of the stable TPM/NVRAM data).
    client_ip: str | None = None
    tpm_hash: str | None = None
    nvram_hash: str | None = None
    # Percent of an outgoing migration copied, while one runs.
    migration_progress: int | None = None


def vm_stats(vm: Vm, prev: Sample | None, last: Sample | None,
             guest: GuestInfo | None = None,
             jobs: list[BlockJob] | None = None) -> VmStats:
    base = dict(vm_id=vm.id, name=vm.name, status=vm.status_info(),
                devices_hash=vm.devices_hash)
    if vm.status == DOWN:
        return VmStats(**base)  # type: ignore[arg-type]
    start = vm.start_time()
    root = vm.root
    return VmStats(
        **base,  # type: ignore[arg-type]
        elapsed_s=int(clock.monotonic() - start) if start is not None
        else 0,
        monitor_responsive=_responsive(prev, last),
        cpu=_cpu(prev, last),
        mem_usage_pct=_mem_usage(last),
        nics=_network(prev, last, root),
        disks=_disks(prev, last, vm),
        displays=domxml.graphics(root) if root is not None else [],
        balloon=_balloon(vm, last),
        guest_memory=_guest_memory(last),
        jobs=list(jobs or []),
        pause_code=vm.pause_code,
        cdrom=domxml.cdrom_path(root) if root is not None else None,
        time_offset_s=vm.time_offset(),
        watchdog=vm.watchdog,
        guest=guest,
        kvm=root is not None and root.get("type") == "kvm",
        acpi=root is not None and domxml.acpi(root),
        client_ip=vm.console.client_ip,
        tpm_hash=vm.external_hashes.get("tpm") or None,
        nvram_hash=vm.external_hashes.get("nvram") or None,
        migration_progress=vm.migration.state.progress
        if vm.migration is not None and vm.migration.active else None)


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


def _cpu(prev: Sample | None, last: Sample | None) -> CpuStats:
    usage = vcpus = 0
    if last is not None:
        usage = int(last.stats.get("cpu.time", 0))
        vcpus = int(last.stats.get("vcpu.current", 0))
    interval_ns = _interval(prev, last) * 1e9
    total = _delta(prev, last, "cpu.time")
    system = _delta(prev, last, "cpu.system")
    if interval_ns <= 0 or total is None:
        return CpuStats(usage_ns=usage, vcpus=vcpus)
    system = system or 0.0
    return CpuStats(user_pct=100 * max(0.0, total - system) / interval_ns,
                    sys_pct=100 * system / interval_ns, usage_ns=usage,
                    vcpus=vcpus)


def _mem_usage(last: Sample | None) -> int:
    if last is None:
        return 0
    s = last.stats
    if s.get("balloon.available") and "balloon.usable" in s:
        used = 1 - s["balloon.usable"] / s["balloon.available"]
    elif s.get("balloon.current") and "balloon.rss" in s:
        used = s["balloon.rss"] / s["balloon.current"]
    else:
        return 0
    return int(min(100, max(0, used * 100)))


def _indexed(sample: Sample | None, kind: str) -> dict[str, int]:
    """Device name -> index in a flat libvirt stats record."""
    if sample is None:
        return {}
    count = sample.stats.get(f"{kind}.count", 0)
    return {sample.stats[f"{kind}.{i}.name"]: i for i in range(count)
            if f"{kind}.{i}.name" in sample.stats}


def _network(prev: Sample | None, last: Sample | None,
             root: Any) -> list[NicStats]:
    if last is None:
        return []
    by_target = {n.target: n for n in domxml.nics(root)} \
        if root is not None else {}
    before = _indexed(prev, "net")
    interval = _interval(prev, last)
    s = last.stats
    out = []
    for name, i in _indexed(last, "net").items():
        nic = by_target.get(name)
        rates = {}
        if name in before and interval > 0 and prev is not None:
            j = before[name]
            for way in ("rx", "tx"):
                delta = (s.get(f"net.{i}.{way}.bytes", 0)
                         - prev.stats.get(f"net.{j}.{way}.bytes", 0))
                rate = max(0, delta) * 8 / interval / (LINK_SPEED_MBPS * 1e6)
                rates[f"{way}_rate_pct"] = rate * 100
        out.append(NicStats(
            name=name, mac=nic.mac if nic else None,
            link_up=nic.link_up if nic else True, sample_time=last.time,
            rx_bytes=s.get(f"net.{i}.rx.bytes", 0),
            tx_bytes=s.get(f"net.{i}.tx.bytes", 0),
            rx_errors=s.get(f"net.{i}.rx.errs", 0),
            tx_errors=s.get(f"net.{i}.tx.errs", 0),
            rx_dropped=s.get(f"net.{i}.rx.drop", 0),
            tx_dropped=s.get(f"net.{i}.tx.drop", 0), **rates))
    return out


def _disks(prev: Sample | None, last: Sample | None, vm: Vm
           ) -> list[DiskStats]:
    if last is None:
        return []
    image_ids = {d.get("name"): d.get("imageID")
                 for d in vm.md.devices_info(devtype="disk")}
    before = _indexed(prev, "block")
    interval = _interval(prev, last)
    s = last.stats
    out = []
    for name, i in _indexed(last, "block").items():
        rates: dict[str, float] = {}
        if name in before and interval > 0 and prev is not None:
            rates = _disk_rates(prev.stats, before[name], s, i, interval)
        image = image_ids.get(name)

        def size(key: str, default: int = 0) -> int:
            # Sizes need the domain job: a NOWAIT sample that could not
            # get it lacks them; the previous sample's are as good.
            if f"block.{i}.{key}" in s:
                return s[f"block.{i}.{key}"]
            if prev is not None and name in before:
                return prev.stats.get(f"block.{before[name]}.{key}",
                                      default)
            return default

        out.append(DiskStats(
            name=name, image_id=str(image) if image else None,
            read_ops=s.get(f"block.{i}.rd.reqs", 0),
            write_ops=s.get(f"block.{i}.wr.reqs", 0),
            read_bytes=s.get(f"block.{i}.rd.bytes", 0),
            written_bytes=s.get(f"block.{i}.wr.bytes", 0),
            apparent_size=size("capacity"),
            true_size=size("physical", size("allocation")),
            **rates))
    return out


def _disk_rates(p: dict, j: int, s: dict, i: int, interval: float
                ) -> dict[str, float]:
    def delta(key: str) -> float:
        return max(0, s.get(f"block.{i}.{key}", 0)
                   - p.get(f"block.{j}.{key}", 0))

    def latency(op: str) -> float:
        reqs = delta(f"{op}.reqs")
        return delta(f"{op}.times") / reqs / 1e9 if reqs else 0.0

    return {"read_rate": delta("rd.bytes") / interval,
            "write_rate": delta("wr.bytes") / interval,
            "read_latency": latency("rd"), "write_latency": latency("wr"),
            "flush_latency": latency("fl")}


def _balloon(vm: Vm, last: Sample | None) -> BalloonInfo | None:
    root = vm.root
    if root is None or not domxml.ballooned(root) or last is None \
            or "balloon.current" not in last.stats:
        return None
    s = last.stats
    current = int(s["balloon.current"])
    maximum = int(s.get("balloon.maximum", domxml.memory_mib(root) * 1024))
    return BalloonInfo(
        current_kib=current, maximum_kib=maximum,
        target_kib=vm.md.integer("balloonTarget", current),
        minimum_kib=max(0, vm.md.integer("minGuaranteedMemoryMb")) * 1024,
        enabled=vm.md.flag("ballooningEnabled", True))


_GUEST_MEMORY = {"total_kib": "available", "unused_kib": "unused",
                 "usable_kib": "usable", "disk_caches_kib": "disk_caches",
                 "swap_in_kib": "swap_in", "swap_out_kib": "swap_out",
                 "major_faults": "major_fault",
                 "minor_faults": "minor_fault"}


def _guest_memory(last: Sample | None) -> GuestMemory | None:
    """The guest's own figures; None until its balloon driver reports."""
    if last is None or "balloon.unused" not in last.stats:
        return None
    s = last.stats
    return GuestMemory(**{
        ours: int(s[f"balloon.{theirs}"])
        for ours, theirs in _GUEST_MEMORY.items()
        if f"balloon.{theirs}" in s})
