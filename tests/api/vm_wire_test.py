"""api/vm_wire: typed VM values -> upstream's wire, with the engine's
reader rules (fixtures/engine_types.py)."""

from __future__ import annotations

from fixtures.engine_types import check_status_time, is_int, is_long
from vdsm.api import vm_wire
from vdsm.common import clock
from vdsm.virt import guestinfo
from vdsm.virt.vm import (ExitInfo, PauseCode, StatusInfo, WatchdogEvent)
from vdsm.virt.vmstats import BalloonInfo, GuestMemory, VmStats

VM_ID = "2c1f3a3e-8f5d-4c62-9d0e-3b1f4cbe2b10"


def running(**kw) -> VmStats:
    return VmStats(vm_id=VM_ID, name="g", devices_hash="1",
                   status=StatusInfo("Up", clock.event_time()), elapsed_s=5,
                   **kw)


def test_status_info_and_down_vm():
    info = StatusInfo("Down", clock.event_time(), ExitInfo(0, 6, "bye"))
    wire = vm_wire.status_info(info)
    check_status_time(wire["statusTime"])
    assert (wire["exitCode"], wire["exitReason"], wire["exitMessage"]) == (
        0, 6, "bye")
    stats = vm_wire.vm_stats(VmStats(vm_id=VM_ID, name="g",
                                     devices_hash="1", status=info))
    assert "cpuUser" not in stats and stats["exitReason"] == 6


def test_pause_code_watchdog_balloon_memory():
    wire = vm_wire.vm_stats(running(
        pause_code=PauseCode.ENOSPC,
        watchdog=WatchdogEvent(1700000000.5, "reset"),
        balloon=BalloonInfo(1024, 2048, 1024, 512, False),
        guest_memory=GuestMemory(total_kib=2000, unused_kib=100,
                                 usable_kib=300, disk_caches_kib=50)))
    assert wire["pauseCode"] == "ENOSPC"
    assert wire["watchdogEvent"] == {"time": 1700000000.5,
                                     "action": "reset"}
    assert wire["balloonInfo"] == {
        "balloon_cur": "1024", "balloon_max": "2048",
        "balloon_target": "1024", "balloon_min": "512",
        "ballooning_enabled": False}
    mem = wire["memoryStats"]
    assert mem == {"mem_total": "2000", "mem_unused": "100",
                   "mem_free": "300", "mem_cached": "50"}
    assert all(is_long(v) for v in mem.values())


def test_guest_info_keys():
    g = guestinfo.parse_guest_info({
        "hostname": "guest1", "os.id": "debian",
        "os.name": "Debian GNU/Linux", "os.version": "12 (bookworm)",
        "os.version-id": "12", "os.kernel-release": "6.1.0",
        "os.machine": "x86_64", "timezone.name": "CET",
        "timezone.offset": 3600, "user.count": 0}, cpu_count=1)
    wire = vm_wire.vm_stats(running(guest=g))
    assert wire["guestName"] == wire["guestFQDN"] == "guest1"
    assert wire["guestOs"] == "6.1.0"
    assert wire["guestOsInfo"] == {
        "type": "linux", "arch": "x86_64", "kernel": "6.1.0",
        "distribution": "Debian GNU/Linux", "version": "12",
        "codename": "bookworm"}
    assert wire["guestTimezone"] == {"zone": "CET", "offset": 60}
    assert is_int(wire["guestCPUCount"]) and wire["guestCPUCount"] == 1
    assert wire["appsList"] == ["kernel-6.1.0"]


def test_console_and_external_data_fields():
    # Filled by the console/external data code when it knows them.
    wire = vm_wire.vm_stats(running())
    assert not {"clientIp", "tpmHash", "nvramHash"} & set(wire)
    wire = vm_wire.vm_stats(running(client_ip="192.0.2.1", tpm_hash="t",
                                    nvram_hash="n"))
    assert (wire["clientIp"], wire["tpmHash"], wire["nvramHash"]) == (
        "192.0.2.1", "t", "n")
