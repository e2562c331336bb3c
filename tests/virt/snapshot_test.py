"""VM.snapshot on a running guest: real vdsmd, libvirtd, TCG guest with
qemu-ga, a file domain with volumes made by Volume.create (see
storagevm.py)."""

from __future__ import annotations

import os
import signal
import uuid

import pytest

from fixtures import hookscripts
from fixtures.virt import code_of, wait_for
from virt.storagevm import SECTOR, START_TIMEOUT, read_file


pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_live_snapshot_switches_the_guest_to_the_new_leaf(storage_vm):
    vm = storage_vm
    vm.guest_write(b"BEFORE-SNAPSHOT", 100)
    top = vm.new_leaf(vm.base)
    job = str(uuid.uuid4())
    assert vm.cli.VM.snapshot(vmID=vm.vm_id, snapDrives=[
        vm.snap_drive(top, vm.base)], frozen=False, jobUUID=job,
        freeze_timeout=8) == {}
    info = vm.job(job)
    assert info == {"id": job, "status": "done", "description": "snapshot",
                    "job_type": "virt"}, info
    assert vm.cli.Host.getJobs(job_type="virt")[job]["status"] == "done"
    assert vm.cli.Host.getJobs(job_type="storage").get(job) is None
    # libvirt and our metadata name the new chain.
    assert os.path.basename(vm.live_source()) == top
    assert vm.chain_md() == [vm.base, top, f"leaf={top}"]
    # New writes land in the new leaf, the base keeps what it had.
    vm.guest_write(b"AFTER-SNAPSHOT", 200)
    base_path = vm.prepared_path(vm.base)
    assert read_file(base_path, 100 * SECTOR, 15) == b"BEFORE-SNAPSHOT"
    assert read_file(base_path, 200 * SECTOR, 14) == bytes(14)
    assert vm.guest_read(200, 1)[:14] == b"AFTER-SNAPSHOT"
    assert vm.guest_read(100, 1)[:15] == b"BEFORE-SNAPSHOT"
    # Synchronous (no jobUUID): a second snapshot on the new leaf.
    top2 = vm.new_leaf(top)
    vm.cli.VM.snapshot(vmID=vm.vm_id, snapDrives=[vm.snap_drive(top2, top)])
    assert os.path.basename(vm.live_source()) == top2
    assert vm.chain_md() == [vm.base, top, top2, f"leaf={top2}"]
    assert vm.cli.VM.getStats(vmID=vm.vm_id)[0]["status"] == "Up"


def test_snapshot_bad_input_leaves_the_vm_on_its_chain(storage_vm):
    vm = storage_vm
    top = vm.new_leaf(vm.base)
    before = (vm.live_source(), vm.chain_md())
    other_image = dict(vm.snap_drive(top, vm.base), imageID=str(uuid.uuid4()))
    not_the_leaf = vm.snap_drive(top, str(uuid.uuid4()))
    for drive in (other_image, not_the_leaf):
        assert code_of(vm.cli.VM.snapshot, vmID=vm.vm_id,
                       snapDrives=[drive], jobUUID=str(uuid.uuid4())) == 13
    # A leaf that does not exist: 48, nothing switched.
    assert code_of(vm.cli.VM.snapshot, vmID=vm.vm_id, snapDrives=[
        vm.snap_drive(str(uuid.uuid4()), vm.base)]) == 48
    # Memory snapshots are not done here.
    assert code_of(vm.cli.VM.snapshot, vmID=vm.vm_id, snapDrives=[
        vm.snap_drive(top, vm.base)], snapMemory="a,b,c,d,e,f") == 48
    # A failed job reports the code too.
    job = str(uuid.uuid4())
    vm.cli.VM.snapshot(vmID=vm.vm_id, jobUUID=job, snapDrives=[
        vm.snap_drive(str(uuid.uuid4()), vm.base)])
    info = vm.job(job)
    assert info["status"] == "failed" and info["error"]["code"] == 48, info
    assert (vm.live_source(), vm.chain_md()) == before
    assert code_of(vm.cli.VM.snapshot, vmID=str(uuid.uuid4()),
                   snapDrives=[vm.snap_drive(top, vm.base)]) == 1
    assert vm.cli.VM.getStats(vmID=vm.vm_id)[0]["status"] == "Up"
    # The volume the engine made is still usable afterwards.
    vm.cli.VM.snapshot(vmID=vm.vm_id, snapDrives=[vm.snap_drive(top,
                                                                vm.base)])
    assert vm.chain_md() == [vm.base, top, f"leaf={top}"]


def test_vdsmd_killed_after_libvirt_switched_recovers_the_chain(
        storage_vm, tmp_path):
    """Killed between the libvirt call and the metadata update (held
    there by an after_vm_snapshot hook): the restarted vdsmd finishes the
    metadata from the job it recorded."""
    vm = storage_vm
    marker = tmp_path / "hook.pid"
    hook = hookscripts.script(vm.extra["hooks_dir"], "after_vm_snapshot",
                              "hold", f"echo $$ > {marker}\nsleep 55\n")
    top = vm.new_leaf(vm.base)
    job = str(uuid.uuid4())
    vm.cli.VM.snapshot(vmID=vm.vm_id, jobUUID=job,
                       snapDrives=[vm.snap_drive(top, vm.base)])
    wait_for(lambda: marker.exists() and marker.read_text().strip(), 60,
             "the snapshot hook")
    # libvirt switched already; our metadata does not name the leaf yet.
    assert os.path.basename(vm.live_source()) == top
    assert vm.chain_md() == [vm.base, f"leaf={vm.base}"]
    vm.vdsmd.kill()
    os.kill(int(marker.read_text()), signal.SIGKILL)
    os.unlink(hook)
    vm.vdsmd.start()
    vm.vdsmd.wait_ready(timeout=START_TIMEOUT)
    with vm.vdsmd.client() as cli:
        vm.cli = cli
        info = vm.job(job)
        assert info["status"] == "done", info
        assert vm.chain_md() == [vm.base, top, f"leaf={top}"]
        assert os.path.basename(vm.live_source()) == top
        assert cli.VM.getStats(vmID=vm.vm_id)[0]["status"] == "Up"
        vm.guest_write(b"AFTER-RESTART", 300)
        assert read_file(vm.prepared_path(vm.base), 300 * SECTOR, 13) \
            == bytes(13)
