"""VM stats of a real guest, read with oVirt Engine's reader rules.

A real vdsmd (strict schema) runs the TCG test guest with what an engine
VM has: a vNIC (a tap libvirt creates), a disk with its ovirt-vm device
metadata (imageID), a CD-ROM, a balloon, a VNC display, an RTC offset.
Every key the engine reads (VdsBrokerObjectsBuilder: updateVMDynamicData,
updateVMStatisticsData, buildVmDiskStatistics ...) is checked with the
helper it is read with (fixtures/engine_types.py). Nothing is mocked.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import libvirt
import pytest

from engine import readers
from fixtures import testguest
from fixtures.engine_types import (check_status_time, is_double, is_int,
                                   is_long, is_string)
from fixtures.virt import StatusEvents, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.root]

MAC = "56:6f:1a:2b:00:01"
IMAGE_ID = "8f1e7c2a-6b1d-4c1e-9a55-0c7b3f2d9e11"
DISK_MIB = 8


def engine_metadata(disk: str) -> str:
    return (
        "<ovirt-vm:vm xmlns:ovirt-vm='http://ovirt.org/vm/1.0'>"
        "<ovirt-vm:minGuaranteedMemoryMb type='int'>64"
        "</ovirt-vm:minGuaranteedMemoryMb>"
        "<ovirt-vm:launchPaused>false</ovirt-vm:launchPaused>"
        "<ovirt-vm:ballooningEnabled>true</ovirt-vm:ballooningEnabled>"
        f"<ovirt-vm:device devtype='disk' name='{disk}'>"
        f"<ovirt-vm:imageID>{IMAGE_ID}</ovirt-vm:imageID>"
        "</ovirt-vm:device></ovirt-vm:vm>")


@pytest.fixture
def images(guests):
    disk = os.path.join(guests.tmp_dir, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(DISK_MIB << 20)
    iso = os.path.join(guests.tmp_dir, "media.iso")
    with open(iso, "wb") as f:
        f.write(b"\0" * (1 << 20))
    for path in (disk, iso):
        os.chmod(path, 0o666)
    return disk, iso


def devices(tap: str, disk: str, iso: str) -> str:
    return f"""
    <interface type='ethernet'>
      <mac address='{MAC}'/><target dev='{tap}' managed='yes'/>
      <model type='virtio'/>
    </interface>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/><source file='{disk}'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/><source file='{iso}'/>
      <target dev='hdc' bus='ide'/><readonly/>
    </disk>
    <memballoon model='virtio'/>"""


def _sampled(cli, vm_id):
    stats = next((s for s in cli.Host.getAllVmStats()
                  if s["vmId"] == vm_id), None)
    # Two samples, and the monitor parts in one of the last two (a VM
    # still starting holds its libvirt job; the guest poller must not
    # hold it for good: this times out if it does).
    if stats is None or float(stats.get("cpuUser", "0")) <= 0 \
            or not stats.get("network") \
            or stats.get("monitorResponse") != "0":
        return None
    return stats


def test_running_vm_stats_as_the_engine_reads_them(virt_vdsmd, guests,
                                                   images):
    disk, iso = images
    tap = "vdsmt" + uuid.uuid4().hex[:6]
    vm_id = str(uuid.uuid4())
    xml = guests.xml(vm_id, devices=devices(tap, disk, iso),
                     metadata=engine_metadata("vdb")).replace(
        "<devices>", "<clock offset='variable' adjustment='3600'/>"
        "<devices>")
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        cli.VM.create(vmID=vm_id, vmParams={"xml": xml})
        events.wait(vm_id, "Up")
        stats = wait_for(lambda: _sampled(cli, vm_id), 60,
                         "two samples with the NIC")

        # The engine's readers of a getAllVmStats entry (tests/engine),
        # then each key by hand.
        readers.vm_stats(stats)
        # updateVMDynamicData / updateVMStatisticsData
        check_status_time(stats["statusTime"])
        assert stats["status"] == "Up"
        assert is_string(stats["hash"])
        assert is_double(stats["elapsedTime"])
        assert is_double(stats["cpuUser"]) and is_double(stats["cpuSys"])
        assert is_int(stats["memUsage"])
        assert int(stats["monitorResponse"]) == 0
        assert stats["kvmEnable"] == "false"     # TCG
        assert stats["acpiEnable"] == "true"
        assert stats["session"] == "Unknown"
        assert stats["pauseCode"] == "NOERR"
        # The RTC offset the domain runs with.
        assert stats["timeOffset"] == "3600"
        # The CD-ROM's image (the engine keeps its file name).
        assert stats["cdrom"] == iso

        # displayInfo: (Map<String, String>) casts, ports parsed as ints.
        [display] = stats["displayInfo"]
        assert all(is_string(v) for v in display.values())
        assert display["type"] == "vnc"
        assert display["ipAddress"] == "127.0.0.1"
        assert int(display["port"]) >= 5900
        assert display["tlsPort"] == "-1"
        dom_xml = _dom(vm_id).XMLDesc(0)
        assert f"port='{display['port']}'" in dom_xml

        # network: matched to the vNIC by macAddr.
        nic = stats["network"][tap]
        assert nic["macAddr"] == MAC and nic["name"] == tap
        assert nic["state"] == "up"
        for key in ("rx", "tx", "rxDropped", "txDropped", "rxErrors",
                    "txErrors"):
            assert is_long(nic[key]), key
        assert is_double(nic["rxRate"]) and is_double(nic["txRate"])
        assert isinstance(nic["sampleTime"], float)
        assert is_int(nic["speed"])

        # disks: skipped by the engine without imageID.
        vdb = stats["disks"]["vdb"]
        assert vdb["imageID"] == IMAGE_ID
        assert is_long(vdb["truesize"]) and is_long(vdb["apparentsize"])
        assert int(vdb["apparentsize"]) == DISK_MIB << 20
        for key in ("readRate", "writeRate", "readLatency", "writeLatency",
                    "flushLatency"):
            assert is_double(vdb[key]), key
        for key in ("readOps", "writeOps"):
            assert is_long(vdb[key]), key
        # A disk no manager described has no imageID.
        assert "imageID" not in stats["disks"]["hdc"]

        # balloonInfo: assignLongValue of all four (enabled when all are).
        balloon = stats["balloonInfo"]
        for key in ("balloon_cur", "balloon_max", "balloon_target",
                    "balloon_min"):
            assert is_long(balloon[key]), key
        assert int(balloon["balloon_max"]) == 128 * 1024
        assert int(balloon["balloon_min"]) == 64 * 1024
        assert balloon["ballooning_enabled"] is True
        # memoryStats: the guest's balloon driver reports them; this
        # guest loads none, so there are none (Long.parseLong on each).
        assert all(is_long(v) for v in stats["memoryStats"].values())

        assert stats["vmJobs"] == {}
        # No guest agent in this guest: no guest info.
        assert stats["guestCPUCount"] == -1
        assert stats["netIfaces"] == []
        assert "guestFQDN" not in stats and "guestOsInfo" not in stats

        # A paused VM says why (NOERR: paused by the manager).
        cli.VM.pause(vmID=vm_id)
        events.wait(vm_id, "Paused")
        paused = cli.VM.getStats(vmID=vm_id)[0]
        readers.vm_stats(paused)
        assert paused["status"] == "Paused"
        assert paused["pauseCode"] == "NOERR"
        cli.VM.destroy(vmID=vm_id)


def _dom(vm_id: str) -> libvirt.virDomain:
    conn = libvirt.open("qemu:///system")
    try:
        return conn.lookupByUUIDString(vm_id)
    finally:
        conn.close()


def test_block_job_in_vm_jobs(virt_vdsmd, guests, images):
    """An active commit (the engine's live merge) shows in vmJobs."""
    disk, iso = images
    base = os.path.join(guests.tmp_dir, "base.qcow2")
    top = os.path.join(guests.tmp_dir, "top.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", base,
                    f"{DISK_MIB}M"], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F",
                    "qcow2", "-b", base, top], check=True)
    for path in (base, top):
        os.chmod(path, 0o666)
    vm_id = str(uuid.uuid4())
    chain = f"""
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/><source file='{top}'/>
      <backingStore type='file'><format type='qcow2'/>
        <source file='{base}'/><backingStore/></backingStore>
      <target dev='vdb' bus='virtio'/>
    </disk>"""
    xml = guests.xml(vm_id, devices=chain,
                     metadata=engine_metadata("vdb"))
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        cli.VM.create(vmID=vm_id, vmParams={"xml": xml})
        events.wait(vm_id, "Up")
        dom = _dom(vm_id)
        conn = libvirt.open("qemu:///system")
        try:
            dom = conn.lookupByUUIDString(vm_id)
            # Active commit of an empty top: it stays ready (cur == end)
            # until aborted or pivoted.
            dom.blockCommit("vdb", None, None, 0,
                            libvirt.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE)
            jobs = wait_for(lambda: cli.VM.getStats(vmID=vm_id)[0].get(
                "vmJobs"), 30, "the block job in vmJobs")
            readers.vm_stats(cli.VM.getStats(vmID=vm_id)[0])
            [job] = jobs.values()
            assert job["jobType"] == "block"
            assert job["blockJobType"] == "commit"
            assert job["imgUUID"] == IMAGE_ID
            assert is_string(job["id"]) and jobs == {job["id"]: job}
            for key in ("cur", "end", "bandwidth"):
                assert is_long(job[key]), key
            dom.blockJobAbort("vdb", 0)
            wait_for(lambda: cli.VM.getStats(vmID=vm_id)[0].get(
                "vmJobs") == {}, 30, "the job gone from vmJobs")
        finally:
            conn.close()
        cli.VM.destroy(vmID=vm_id)


@pytest.fixture
def agent_vdsmd(vdsmd_factory, guests):
    """vdsmd asking guest agents every 2 seconds."""
    return vdsmd_factory({"vars": {"vm_sample_interval": "1",
                                   "vm_guest_info_interval": "2"}})


AGENT_DEVICES = """
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <memballoon model='virtio'><stats period='1'/></memballoon>"""


def test_guest_info_from_the_guest_agent(agent_vdsmd, guests):
    """qemu-ga in the test guest (vdsm.virtio=1), through libvirt."""
    if not os.path.exists(testguest.QEMU_GA):
        pytest.skip("qemu-guest-agent is not installed (tests only)")
    vm_id = str(uuid.uuid4())
    xml = guests.xml(vm_id, devices=AGENT_DEVICES, cmdline="vdsm.virtio=1")
    with agent_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        cli.VM.create(vmID=vm_id, vmParams={"xml": xml})
        events.wait(vm_id, "Up")
        guests.wait_ready(vm_id)
        stats = wait_for(lambda: _with(cli, vm_id, "guestOsInfo"), 90,
                         "guest info from the agent")
        readers.vm_stats(stats)
        assert stats["guestName"] == testguest.GUEST_HOSTNAME
        assert stats["guestFQDN"] == testguest.GUEST_HOSTNAME
        os_info = stats["guestOsInfo"]
        assert os_info["type"] == "linux"
        assert os_info["arch"] == "x86_64"
        assert os_info["distribution"] == "Vdsm test guest"
        assert os_info["version"] == "1"
        assert os_info["codename"] == "busybox"
        kernel = testguest.kernel_version()
        assert os_info["kernel"] == kernel == stats["guestOs"]
        assert stats["appsList"] == [f"kernel-{kernel}"]
        assert is_int(stats["guestCPUCount"])
        assert stats["guestCPUCount"] == 1
        tz = stats["guestTimezone"]
        assert is_string(tz["zone"]) and is_int(tz["offset"])
        names = {i["name"] for i in stats["netIfaces"]}
        assert "lo" in names
        lo = next(i for i in stats["netIfaces"] if i["name"] == "lo")
        assert "127.0.0.1" in lo["inet"]
        # The guest's balloon driver reports (stats period 1 s).
        mem = wait_for(lambda: _with(cli, vm_id, "memoryStats", "mem_unused"),
                       60, "guest memory stats")["memoryStats"]
        for key in ("mem_total", "mem_unused", "mem_free"):
            assert is_long(mem[key]), key
        assert 0 < int(mem["mem_unused"]) <= int(mem["mem_total"]) \
            <= 128 * 1024
        cli.VM.destroy(vmID=vm_id)


def _with(cli, vm_id: str, key: str, sub: str | None = None):
    stats = cli.VM.getStats(vmID=vm_id)[0]
    value = stats.get(key)
    if not value or (sub is not None and sub not in value):
        return None
    return stats
