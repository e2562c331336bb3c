from __future__ import annotations

from vdsm.api import vm_wire
from vdsm.common import clock
from vdsm.virt import vmstats
from vdsm.virt.sampling import Sample
from vdsm.virt.vm import DOWN, UP, Vm

VM_ID = "2c1f3a3e-8f5d-4c62-9d0e-3b1f4cbe2b10"


def make_vm(status: str = UP) -> Vm:
    # A view only: no libvirt call is made by vm_stats.
    vm = Vm(VM_ID, conn=None, publish=lambda m, p: None,  # type: ignore
            hooks_dir="/nonexistent", status=status)
    vm.md.values["startTime"] = clock.monotonic() - 42
    return vm


def wire_stats(vm, prev, last) -> dict:
    """The typed stats as the wire carries them (api/vm_wire)."""
    return vm_wire.vm_stats(vmstats.vm_stats(vm, prev, last))


def sample(t: float, cpu: int, sys_: int, rx: int, rd: int, rd_ns: int,
           reqs: int) -> Sample:
    return Sample(t, {
        "cpu.time": cpu, "cpu.system": sys_, "vcpu.current": 2,
        "balloon.current": 1000, "balloon.rss": 250,
        "net.count": 1, "net.0.name": "vnet0", "net.0.rx.bytes": rx,
        "net.0.tx.bytes": 0, "net.0.rx.errs": 3,
        "block.count": 1, "block.0.name": "vda", "block.0.rd.bytes": rd,
        "block.0.rd.reqs": reqs, "block.0.rd.times": rd_ns,
        "block.0.capacity": 1 << 20})


def test_rates_from_two_samples():
    prev = sample(100.0, 0, 0, 0, 0, 0, 0)
    last = sample(102.0, 10**9, 2 * 10**8, 25 * 10**6, 4096, 10**6, 4)
    stats = wire_stats(make_vm(), prev, last)
    assert stats["cpuSys"] == "10.00"      # 0.2 s of 2 s
    assert stats["cpuUser"] == "40.00"     # 0.8 s of 2 s
    assert stats["memUsage"] == "25"
    assert stats["vcpuCount"] == "2"
    assert stats["elapsedTime"] in ("42", "43")
    nic = stats["network"]["vnet0"]
    assert nic["rxRate"] == "10.0"         # 100 Mbit/s of 1000
    assert nic["rxErrors"] == "3"
    disk = stats["disks"]["vda"]
    assert disk["readRate"] == "2048.0"
    # 0.25 ms, in nanoseconds as upstream sends it (the engine / 1e9)
    assert disk["readLatency"] == "250000"
    assert disk["apparentsize"] == str(1 << 20)
    assert stats["monitorResponse"] == "0"


def test_one_sample_gives_zero_rates():
    stats = wire_stats(make_vm(), None,
                             sample(1.0, 10, 1, 100, 100, 10, 1))
    assert stats["cpuUser"] == "0.00"
    assert stats["network"]["vnet0"]["rxRate"] == "0.0"


def test_missing_sample_means_unresponsive_monitor():
    stats = wire_stats(make_vm(), None, None)
    assert stats["monitorResponse"] == "-1"
    assert stats["network"] == {} and stats["disks"] == {}


def test_one_sample_without_monitor_parts_is_not_a_hang():
    good = sample(1.0, 10, 1, 100, 100, 10, 1)
    busy = sample(3.0, 20, 2, 200, 200, 20, 2)
    busy.stats.pop("balloon.rss")
    stats = wire_stats(make_vm(), good, busy)
    assert stats["monitorResponse"] == "0"
    stuck = sample(5.0, 20, 2, 200, 200, 20, 2)
    stuck.stats.pop("balloon.rss")
    stats = wire_stats(make_vm(), busy, stuck)
    assert stats["monitorResponse"] == "-1"


def test_down_vm_reports_exit_info():
    vm = make_vm(DOWN)
    vm.md.values.update(exitCode=0, exitReason=7, exitMessage="bye")
    stats = wire_stats(vm, None, None)
    assert stats["status"] == "Down"
    assert (stats["exitCode"], stats["exitReason"]) == (0, 7)
    assert "cpuUser" not in stats


def test_io_error_pause_codes():
    import libvirt
    vm = make_vm()
    vm.set_status = lambda s: setattr(vm, "status", s)  # type: ignore
    for reason, code in (("enospc", "ENOSPC"), ("eio", "EIO"),
                         ("eperm", "EPERM"), ("", "EOTHER")):
        vm.status = UP
        vm.on_io_error("ua-disk", libvirt.VIR_DOMAIN_EVENT_IO_ERROR_PAUSE,
                       reason)
        assert vm.pause_code.value == code
    # An error that does not pause changes nothing.
    vm.status = UP
    vm.pause_code = vmstats.PauseCode.NOERR
    vm.on_io_error("ua-disk", libvirt.VIR_DOMAIN_EVENT_IO_ERROR_REPORT, "eio")
    assert vm.status == UP and vm.pause_code.value == "NOERR"


def test_watchdog_event():
    vm = make_vm()
    vm.on_watchdog(2)
    stats = wire_stats(vm, None, None)
    assert stats["watchdogEvent"]["action"] == "reset"
    assert isinstance(stats["watchdogEvent"]["time"], float)


def test_disk_sizes_of_a_sample_without_them_are_the_previous_ones():
    # A NOWAIT sample that could not take the domain job lacks the sizes.
    prev = sample(100.0, 0, 0, 0, 0, 0, 0)
    last = sample(102.0, 10, 1, 10, 10, 10, 1)
    del last.stats["block.0.capacity"]
    disk = wire_stats(make_vm(), prev, last)["disks"]["vda"]
    assert disk["apparentsize"] == str(1 << 20)
