"""vdsmd and libvirtd die; the VMs do not, and are managed again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest

from fixtures.virt import StatusEvents, libvirtd_pid, qemu_pid, \
    wait_for, wait_libvirtd

pytestmark = [pytest.mark.slow, pytest.mark.root]

MD = ("<ovirt-vm:vm xmlns:ovirt-vm='http://ovirt.org/vm/1.0'>"
      "<ovirt-vm:custom>{}</ovirt-vm:custom></ovirt-vm:vm>")



def restart(vdsmd) -> None:
    """Start the same daemon (same config and run dir) again."""
    os.rename(vdsmd.log_path, vdsmd.log_path + f".{time.monotonic()}")
    vdsmd.start()
    vdsmd.wait_ready(timeout=120)


def test_recovery_after_vdsmd_sigkill(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        running = []
        for i in range(5):
            vm_id = str(uuid.uuid4())
            cli.VM.create(vmID=vm_id, vmParams={"xml": guests.xml(
                vm_id, memory_mib=96, metadata=MD.format(i))})
            running.append(vm_id)
        for vm_id in running:
            events.wait(vm_id, "Up")
        cli.VM.pause(vmID=running[4])
        events.wait(running[4], "Paused")
        failed = str(uuid.uuid4())
        # qemu cannot allocate 64 TiB: a start failure, Down reason 3.
        cli.VM.create(vmID=failed, vmParams={"xml": guests.xml(
            failed, memory_mib=64 << 20)})
        events.wait(failed, "Down")
        before = {v["vmId"]: v["status"] for v in cli.Host.getVMList()}

    virt_vdsmd.kill()
    restart(virt_vdsmd)

    with virt_vdsmd.client() as cli:
        after = {v["vmId"]: v["status"] for v in cli.Host.getVMList()}
        assert after == before
        assert [after[v] for v in running] == ["Up"] * 4 + ["Paused"]
        assert after[failed] == "Down"
        down = cli.VM.getStats(vmID=failed)[0]
        assert (down["exitCode"], down["exitReason"]) == (1, 3)
        for i, vm_id in enumerate(running):
            info = cli.VM.getInfo(vmID=vm_id)
            assert f"<ovirt-vm:custom>{i}</ovirt-vm:custom>" in info["xml"]
            stats = cli.VM.getStats(vmID=vm_id)[0]
            assert int(stats["elapsedTime"]) >= 0

        # Still managed: verbs work and libvirt events still arrive.
        events = StatusEvents(cli.subscribe())
        assert cli.VM.cont(vmID=running[4]) == {}
        events.wait(running[4], "Up")
        os.kill(qemu_pid(running[0]), signal.SIGKILL)
        lost = events.wait(running[0], "Down")
        assert lost["exitReason"] == 2
        for vm_id in running + [failed]:
            cli.VM.destroy(vmID=vm_id)
        listed = {vm["vmId"] for vm in cli.Host.getVMList()}
        assert not listed & set(running + [failed])


def test_libvirtd_restart(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = str(uuid.uuid4())
        cli.VM.create(vmID=vm_id, vmParams={"xml": guests.xml(vm_id)})
        events.wait(vm_id, "Up")

        pid = libvirtd_pid()
        assert pid is not None
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: libvirtd_pid() is None, 30, "libvirtd to stop")
        subprocess.run(["libvirtd", "-d"], check=True)
        wait_libvirtd()
        wait_for(lambda: virt_vdsmd.log().count("RESYNCED") >= 1, 60,
                 "vdsmd to reconnect")

        listed = cli.Host.getVMList(vmList=[vm_id])
        assert listed[0]["status"] == "Up"
        assert cli.VM.pause(vmID=vm_id) == {}
        events.wait(vm_id, "Paused")
        assert cli.VM.cont(vmID=vm_id) == {}
        events.wait(vm_id, "Up")
        # Events come from the new connection too.
        os.kill(qemu_pid(vm_id), signal.SIGKILL)
        assert events.wait(vm_id, "Down")["exitReason"] == 2
        cli.VM.destroy(vmID=vm_id)
