"""A real guest through a real vdsmd: create, verbs, going down.

The guests boot Debian's kernel under TCG (Linux hangs at early boot under
nested KVM on these machines).
"""

from __future__ import annotations

import os
import signal
import uuid

import libvirt
import pytest

from vdsm import client

from fixtures.engine_types import check_status_time
from fixtures.virt import StatusEvents, is_defined, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.root]


def qemu_pid(name: str) -> int:
    with open(f"/run/libvirt/qemu/{name}.pid") as f:
        return int(f.read())


def libvirt_dom(vm_id: str) -> libvirt.virDomain:
    conn = libvirt.open("qemu:///system")
    try:
        return conn.lookupByUUIDString(vm_id)
    finally:
        conn.close()



def create(cli, guests, **kwargs) -> str:
    vm_id = str(uuid.uuid4())
    res = cli.VM.create(vmID=vm_id,
                        vmParams={"xml": guests.xml(vm_id, **kwargs)})
    assert res["vmId"] == vm_id
    assert res["status"] == "WaitForLaunch"
    check_status_time(res["statusTime"])
    return vm_id


def test_full_lifecycle(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = create(cli, guests, metadata=(
            "<ovirt-vm:vm xmlns:ovirt-vm='http://ovirt.org/vm/1.0'>"
            "<ovirt-vm:custom>kept</ovirt-vm:custom></ovirt-vm:vm>"))
        up = events.wait(vm_id, "Up")
        assert events.statuses(vm_id) == ["Powering up", "Up"]
        # Upstream's clocks: statusTime a decimal string, notify_time the
        # same clock as an integer.
        check_status_time(up["statusTime"])
        assert isinstance(up["_notify_time"], int)
        assert up["_notify_time"] >= int(up["statusTime"])
        guests.wait_ready(vm_id)

        # A persistent domain carrying our metadata.
        dom = libvirt_dom(vm_id)
        assert dom.isPersistent()
        md = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                          "http://ovirt.org/vm/1.0", 0)
        assert "<custom>kept</custom>" in md and "startTime" in md

        listed = cli.Host.getVMList()
        assert {"vmId": vm_id, "status": "Up"}.items() <= \
            next(v for v in listed if v["vmId"] == vm_id).items()
        assert next(v for v in listed if v["vmId"] == vm_id)[
            "statusTime"] == up["statusTime"]
        info = cli.VM.getInfo(vmID=vm_id)
        assert vm_id in info["xml"] and info["status"] == "Up"
        check_status_time(info["statusTime"])
        full = cli.Host.getVMFullList(vmList=[vm_id])
        assert [v["vmId"] for v in full] == [vm_id]
        assert full[0]["statusTime"] == up["statusTime"]
        assert vm_id in cli.Host.dumpxmls(vmList=[vm_id])[vm_id]

        stats = wait_for(lambda: _sampled(cli, vm_id), 30, "two samples")
        assert stats["statusTime"] == up["statusTime"]
        assert float(stats["cpuUser"]) >= 0
        assert int(stats["elapsedTime"]) >= 0
        assert stats["hash"]
        all_stats = cli.Host.getAllVmStats()
        assert vm_id in [s["vmId"] for s in all_stats]

        assert cli.VM.pause(vmID=vm_id) == {}
        events.wait(vm_id, "Paused")
        assert cli.VM.cont(vmID=vm_id) == {}
        events.wait(vm_id, "Up")

        assert cli.VM.setTicket(vmID=vm_id, password="s3cret", ttl=120,
                                existingConnAction="disconnect",
                                params={}) is True
        secure = libvirt_dom(vm_id).XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)
        assert "passwd='s3cret'" in secure and "passwdValidTo" in secure

        assert cli.VM.reset(vmID=vm_id) is True
        guests.wait_ready(vm_id, boots=2)

        assert cli.VM.shutdown(vmID=vm_id, timeout=120) is True
        down = events.wait(vm_id, "Down")
        assert (down["exitCode"], down["exitReason"]) == (0, 6)
        assert events.statuses(vm_id) == [
            "Powering up", "Up", "Paused", "Up", "Powering down", "Down"]

        # Down stays listed, with its exit info, until destroy.
        stats = cli.VM.getStats(vmID=vm_id)[0]
        assert stats["status"] == "Down" and stats["exitReason"] == 6
        assert is_defined(vm_id)
        assert cli.VM.destroy(vmID=vm_id) is True
        assert vm_id not in [v["vmId"] for v in cli.Host.getVMList()]
        assert not is_defined(vm_id)
        with pytest.raises(client.ServerError) as e:
            cli.VM.getStats(vmID=vm_id)
        assert e.value.code == 1


def _sampled(cli, vm_id):
    stats = cli.VM.getStats(vmID=vm_id)[0]
    return stats if float(stats.get("cpuUser", "0")) > 0 else None


def test_guest_power_off_is_user_shutdown(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = create(cli, guests, cmdline="vdsm.poweroff=1")
        down = events.wait(vm_id, "Down", timeout=180)
        assert (down["exitCode"], down["exitReason"]) == (0, 7)
        assert "guest" in down["exitMessage"]
        cli.VM.destroy(vmID=vm_id)


def test_killed_qemu_is_lost_connection(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = create(cli, guests)
        events.wait(vm_id, "Up")
        os.kill(qemu_pid(libvirt_dom(vm_id).name()), signal.SIGKILL)
        down = events.wait(vm_id, "Down")
        assert (down["exitCode"], down["exitReason"]) == (1, 2)
        listed = cli.Host.getVMList(vmList=[vm_id])
        assert listed[0]["status"] == "Down"
        cli.VM.destroy(vmID=vm_id)


def test_shutdown_timeout_forces_off(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = str(uuid.uuid4())
        # Only a BIOS waiting for a boot device: nobody answers the power
        # button, so the VM is forced off after the timeout.
        cli.VM.create(vmID=vm_id, vmParams={
            "xml": guests.bios_xml(vm_id, domain_type="qemu")})
        events.wait(vm_id, "Up")
        cli.VM.shutdown(vmID=vm_id, timeout=1)
        down = events.wait(vm_id, "Down", timeout=60)
        assert (down["exitCode"], down["exitReason"]) == (0, 6)
        cli.VM.destroy(vmID=vm_id)


def test_launch_paused(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = str(uuid.uuid4())
        cli.VM.create(vmID=vm_id, vmParams={"xml": guests.xml(vm_id),
                                            "launchPaused": True})
        events.wait(vm_id, "Paused")
        state, _ = libvirt_dom(vm_id).state()
        assert state == libvirt.VIR_DOMAIN_PAUSED
        cli.VM.destroy(vmID=vm_id)


# The <ovirt-vm:vm> oVirt Engine writes: scalars without a type attribute.
ENGINE_METADATA = (
    "<ovirt-vm:vm xmlns:ovirt-vm='http://ovirt.org/vm/1.0'>"
    "<ovirt-vm:minGuaranteedMemoryMb type='int'>64"
    "</ovirt-vm:minGuaranteedMemoryMb>"
    "<ovirt-vm:clusterVersion>4.7</ovirt-vm:clusterVersion>"
    "<ovirt-vm:custom/>"
    "<ovirt-vm:launchPaused>{paused}</ovirt-vm:launchPaused>"
    "<ovirt-vm:resumeBehavior>auto_resume</ovirt-vm:resumeBehavior>"
    "<ovirt-vm:ballooningEnabled>true</ovirt-vm:ballooningEnabled>"
    "</ovirt-vm:vm>")


def test_engine_defined_vm_runs(virt_vdsmd, guests):
    # <launchPaused>false</launchPaused> must start the guest running.
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = create(cli, guests,
                       metadata=ENGINE_METADATA.format(paused="false"))
        events.wait(vm_id, "Up")
        assert events.statuses(vm_id) == ["Powering up", "Up"]
        guests.wait_ready(vm_id)
        state, _ = libvirt_dom(vm_id).state()
        assert state == libvirt.VIR_DOMAIN_RUNNING
        assert cli.VM.getStats(vmID=vm_id)[0]["status"] == "Up"
        cli.VM.destroy(vmID=vm_id)


def test_engine_defined_vm_launch_paused(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = create(cli, guests,
                       metadata=ENGINE_METADATA.format(paused="true"))
        events.wait(vm_id, "Paused")
        state, _ = libvirt_dom(vm_id).state()
        assert state == libvirt.VIR_DOMAIN_PAUSED
        cli.VM.destroy(vmID=vm_id)
