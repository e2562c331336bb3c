"""Typed virt values -> upstream's wire dicts (VM status, info, stats).

The one place the VM names of the wire live (camelCase, the
string-typed numbers upstream sends and oVirt Engine's readers expect):
a Double reader (cpuUser, elapsedTime, statusTime ...) takes a float or a
string, an Integer reader (memUsage, guestCPUCount) an int or a numeric
string, the ``(String)`` casts (pauseCode, cdrom, displayInfo values) a
string. lib/vdsm/virt returns dataclasses (``vm.StatusInfo``,
``vmstats.VmStats``); this module maps them.
"""

from __future__ import annotations

from typing import Any, Callable

from vdsm.services import EventSink
from vdsm.virt.guestinfo import BlockJob, GuestInfo
from vdsm.virt.vm import StatusInfo, Vm
from vdsm.virt.vmstats import (BalloonInfo, DiskStats, GuestMemory,
                               NicStats, VmStats)

STATUS_EVENT = "|virt|VM_status|"
NO_IMAGE = "00000000-0000-0000-0000-000000000000"


def status_info(info: StatusInfo) -> dict[str, Any]:
    """VmStatusInfo: status, statusTime (a string), exit info once Down."""
    out: dict[str, Any] = {"status": info.status,
                           "statusTime": str(info.time)}
    if info.exit is not None:
        out.update(exitCode=info.exit.code, exitReason=info.exit.reason,
                   exitMessage=info.exit.message)
    return out


def status_publisher(events: EventSink) -> Callable[[str, StatusInfo], None]:
    """What virt calls on every status change: a |virt|VM_status| event."""
    def publish(vm_id: str, info: StatusInfo) -> None:
        events.publish(STATUS_EVENT + vm_id, {vm_id: status_info(info)})
    return publish


def vm_info(vm: Vm) -> dict[str, Any]:
    """VmInfo (VM.getInfo, Host.getVMFullList, the device verbs)."""
    info = {"vmId": vm.id, "vmName": vm.name, "xml": vm.xml}
    info.update(status_info(vm.status_info()))
    return info


def list_entry(vm: Vm) -> dict[str, Any]:
    """VmListEntry (Host.getVMList)."""
    return {"vmId": vm.id, "status": vm.status,
            "statusTime": str(vm.status_time)}


def create_result(vm: Vm) -> dict[str, Any]:
    """VmCreateResult: the VM is defined, its start pending."""
    return {"vmId": vm.id, "status": "WaitForLaunch",
            "statusTime": str(vm.status_time), "xml": vm.xml}


def vm_stats(stats: VmStats) -> dict[str, Any]:
    """VmStats (VM.getStats, Host.getAllVmStats)."""
    out: dict[str, Any] = {"vmId": stats.vm_id, "vmName": stats.name,
                           "hash": stats.devices_hash}
    out.update(status_info(stats.status))
    if stats.status.exit is not None or stats.elapsed_s is None:
        return out
    cpu = stats.cpu
    out.update(
        elapsedTime=str(stats.elapsed_s),
        monitorResponse="0" if stats.monitor_responsive else "-1",
        cpuUser="%.2f" % cpu.user_pct, cpuSys="%.2f" % cpu.sys_pct,
        cpuUsage=str(cpu.usage_ns), vcpuCount=str(cpu.vcpus),
        memUsage=str(stats.mem_usage_pct),
        network={n.name: _nic(n) for n in stats.nics},
        disks={d.name: _disk(d) for d in stats.disks},
        displayInfo=[{"type": g.kind, "ipAddress": g.address,
                      "port": _port(g.port), "tlsPort": _port(g.tls_port)}
                     for g in stats.displays],
        balloonInfo=_balloon(stats.balloon),
        memoryStats=_guest_memory(stats.guest_memory),
        vmJobs={j.id: _job(j) for j in stats.jobs},
        pauseCode=stats.pause_code.value,
        timeOffset=str(stats.time_offset_s),
        kvmEnable=_bool(stats.kvm), acpiEnable=_bool(stats.acpi),
        session="UserLoggedOn" if stats.guest and stats.guest.users
        else "Unknown",
        guestCPUCount=stats.guest.cpu_count if stats.guest else -1,
        netIfaces=[], appsList=[])
    if stats.cdrom:
        out["cdrom"] = stats.cdrom
    if stats.watchdog is not None:
        out["watchdogEvent"] = {"time": stats.watchdog.time,
                                "action": stats.watchdog.action}
    if stats.guest is not None:
        out.update(_guest(stats.guest))
    if stats.migration_progress is not None:
        out["migrationProgress"] = stats.migration_progress
    for key, value in (("clientIp", stats.client_ip),
                       ("tpmHash", stats.tpm_hash),
                       ("nvramHash", stats.nvram_hash)):
        if value is not None:
            out[key] = value
    return out


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _port(port: int | None) -> str:
    return str(port) if port is not None else "-1"


def _nic(n: NicStats) -> dict[str, Any]:
    nic: dict[str, Any] = {
        "name": n.name, "state": "up" if n.link_up else "down",
        "sampleTime": n.sample_time, "rx": str(n.rx_bytes),
        "tx": str(n.tx_bytes), "rxErrors": str(n.rx_errors),
        "txErrors": str(n.tx_errors), "rxDropped": str(n.rx_dropped),
        "txDropped": str(n.tx_dropped), "rxRate": "%.1f" % n.rx_rate_pct,
        "txRate": "%.1f" % n.tx_rate_pct, "speed": str(n.speed_mbps)}
    if n.mac:
        nic["macAddr"] = n.mac
    return nic


def _disk(d: DiskStats) -> dict[str, Any]:
    disk: dict[str, Any] = {
        "readOps": str(d.read_ops), "writeOps": str(d.write_ops),
        "readBytes": str(d.read_bytes), "writtenBytes": str(d.written_bytes),
        "apparentsize": str(d.apparent_size), "truesize": str(d.true_size),
        "readRate": "%.1f" % d.read_rate, "writeRate": "%.1f" % d.write_rate,
        # Nanoseconds, as upstream: the engine divides them by 1e9.
        "readLatency": "%d" % round(d.read_latency * 1e9),
        "writeLatency": "%d" % round(d.write_latency * 1e9),
        "flushLatency": "%d" % round(d.flush_latency * 1e9)}
    if d.image_id:
        disk["imageID"] = d.image_id
    return disk


def _balloon(b: BalloonInfo | None) -> dict[str, Any]:
    if b is None:
        return {}
    return {"balloon_cur": str(b.current_kib),
            "balloon_max": str(b.maximum_kib),
            "balloon_target": str(b.target_kib),
            "balloon_min": str(b.minimum_kib),
            "ballooning_enabled": b.enabled}


def _guest_memory(m: GuestMemory | None) -> dict[str, str]:
    if m is None:
        return {}
    free = m.usable_kib if m.usable_kib is not None else m.unused_kib
    pairs = (("mem_total", m.total_kib), ("mem_unused", m.unused_kib),
             ("mem_free", free), ("mem_cached", m.disk_caches_kib),
             ("swap_in", m.swap_in_kib), ("swap_out", m.swap_out_kib),
             ("majflt", m.major_faults), ("minflt", m.minor_faults))
    return {k: str(v) for k, v in pairs if v is not None}


def _job(j: BlockJob) -> dict[str, Any]:
    return {"id": j.id, "jobType": "block", "blockJobType": j.kind.value,
            "cur": j.cur, "end": j.end, "bandwidth": j.bandwidth,
            "imgUUID": j.image_id or NO_IMAGE}


def _guest(g: GuestInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "netIfaces": [{"name": n.name, "hw": n.hw, "inet": list(n.inet),
                       "inet6": list(n.inet6)} for n in g.interfaces],
        "diskMapping": {serial: {"name": dev}
                        for serial, dev in g.disks.items()},
        "disksUsage": [{"path": f.path, "fs": f.fstype,
                        "total": str(f.total_bytes),
                        "used": str(f.used_bytes)} for f in g.filesystems]}
    if g.hostname:
        out["guestName"] = out["guestFQDN"] = g.hostname
    if g.users:
        out["username"] = ", ".join(g.users)
    if g.os is not None:
        os_type = "windows" if g.os.id == "mswindows" else "linux"
        out["guestOs"] = g.os.kernel_release
        out["guestOsInfo"] = {
            "type": os_type, "arch": g.os.machine, "kernel":
            g.os.kernel_release, "distribution": g.os.name,
            "version": g.os.version_id, "codename": _codename(g.os.version)}
        if g.os.kernel_release:
            out["appsList"] = [f"kernel-{g.os.kernel_release}"]
    if g.timezone is not None:
        out["guestTimezone"] = {"zone": g.timezone.name,
                                "offset": g.timezone.offset_min}
    return out


def _codename(version: str) -> str:
    """'12 (bookworm)' -> 'bookworm'"""
    if "(" in version and version.endswith(")"):
        return version[version.index("(") + 1:-1]
    return ""
