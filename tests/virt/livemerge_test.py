"""VM.merge on a running guest: real vdsmd, libvirtd, TCG guest with
qemu-ga, a file domain with volumes made by Volume.create (see
storagevm.py). The guest writes after each snapshot; the merges (an
internal layer, then the active one with a pivot) must leave every write
in the raw base volume, read from its file once the VM is down."""

from __future__ import annotations

import os
import uuid

import pytest

from fixtures.virt import code_of, wait_for
from storage.api_test import ok, vol_args
from storage.storagefixtures import new_id
from virt.storagevm import MIB, SECTOR, START_TIMEOUT, read_file


pytestmark = [pytest.mark.root, pytest.mark.slow]

# Sectors of the guest's /dev/vda the tests write at.
BULK_AT = 8 * MIB // SECTOR


def snapshot(vm, parent):
    top = vm.new_leaf(parent)
    vm.cli.VM.snapshot(vmID=vm.vm_id, snapDrives=[vm.snap_drive(top,
                                                                parent)])
    assert os.path.basename(vm.live_source()) == top
    return top


def bulk_write(vm, mib):
    """mib MiB of random data at BULK_AT: something for a merge to copy
    for a while at a 1 MiB/s bandwidth."""
    out = vm.agent_exec(f"dd if=/dev/urandom of=/dev/vda bs=1048576 "
                        f"count={mib} seek=8 conv=fsync,notrunc", timeout=300)
    assert out["exitcode"] == 0, out


def vm_jobs(cli, vm_id):
    return cli.VM.getStats(vmID=vm_id)[0].get("vmJobs", {})


def wait_merged(vm, job, timeout=300):
    wait_for(lambda: job not in vm_jobs(vm.cli, vm.vm_id), timeout,
             f"merge job {job} to leave vmJobs")


def test_live_merge_internal_then_active_keeps_the_data(storage_vm):
    vm = storage_vm
    vm.guest_write(b"IN-THE-BASE", 100)
    top1 = snapshot(vm, vm.base)
    vm.guest_write(b"AFTER-SNAPSHOT-ONE", 200)
    bulk_write(vm, 8)
    top2 = snapshot(vm, top1)
    vm.guest_write(b"AFTER-SNAPSHOT-TWO", 300)
    assert vm.chain_md() == [vm.base, top1, top2, f"leaf={top2}"]
    base_path = os.path.realpath(vm.prepared_path(vm.base))
    assert read_file(base_path, 200 * SECTOR, 18) == bytes(18)

    # Internal layer: top1 into the base at 1 MiB/s, seen in vmJobs.
    job = str(uuid.uuid4())
    assert vm.cli.VM.merge(vmID=vm.vm_id, drive=vm.drive_spec(top2),
                           baseVolUUID=vm.base, topVolUUID=top1,
                           bandwidth=1, jobUUID=job) == {}
    seen = vm_jobs(vm.cli, vm.vm_id).get(job)
    assert seen is not None
    assert {k: seen[k] for k in ("id", "jobType", "blockJobType",
                                 "bandwidth", "imgUUID")} == {
        "id": job, "jobType": "block", "blockJobType": "commit",
        "bandwidth": 1, "imgUUID": vm.img}, seen
    # A second merge on the same disk meanwhile: 52.
    assert code_of(vm.cli.VM.merge, vmID=vm.vm_id, drive=vm.drive_spec(top2),
                   baseVolUUID=vm.base, topVolUUID=top2,
                   jobUUID=str(uuid.uuid4())) == 52
    wait_merged(vm, job)
    assert vm.chain_md() == [vm.base, top2, f"leaf={top2}"]
    assert os.path.basename(vm.live_source()) == top2
    md1, md2 = vm.md(top1), vm.md(top2)
    assert md1["legality"] == "ILLEGAL", md1
    assert (md2["parent"], md2["voltype"]) == (vm.base, "LEAF"), md2
    assert vm.md(vm.base)["voltype"] == "INTERNAL"
    assert read_file(base_path, 200 * SECTOR, 18) == b"AFTER-SNAPSHOT-ONE"
    # The engine asks for the chain; the merged layer is out of it.
    assert vm.cli.Image.reconcileVolumeChain(
        storagepoolID=vm.sp, storagedomainID=vm.sd, imageID=vm.img,
        leafVolID=top2) == [vm.base, top2]

    # Active layer: top2 into the base, libvirt pivots onto the base.
    job = str(uuid.uuid4())
    vm.cli.VM.merge(vmID=vm.vm_id, drive=vm.drive_spec(top2),
                    baseVolUUID=vm.base, topVolUUID=top2, bandwidth="0",
                    jobUUID=job)
    wait_merged(vm, job)
    assert os.path.basename(vm.live_source()) == vm.base
    assert vm.chain_md() == [vm.base, f"leaf={vm.base}"]
    md2, mdb = vm.md(top2), vm.md(vm.base)
    assert md2["legality"] == "ILLEGAL", md2
    assert (mdb["voltype"], mdb["legality"]) == ("LEAF", "LEGAL"), mdb
    vm.guest_write(b"AFTER-THE-PIVOT", 400)
    assert vm.guest_read(300, 1)[:18] == b"AFTER-SNAPSHOT-TWO"
    assert vm.cli.VM.getStats(vmID=vm.vm_id)[0]["status"] == "Up"
    assert vm.cli.Image.reconcileVolumeChain(
        storagepoolID=vm.sp, storagedomainID=vm.sd, imageID=vm.img,
        leafVolID=vm.base) == [vm.base]

    # The manager deletes the merged volumes; an unknown one: 201 at once.
    assert code_of(vm.cli.Image.deleteVolumes, imageID=vm.img,
                   storagepoolID=vm.sp, storagedomainID=vm.sd,
                   volumeList=[top1, new_id()]) == 201
    assert code_of(vm.cli.Image.reconcileVolumeChain, storagepoolID=vm.sp,
                   storagedomainID=vm.sd, imageID=vm.img,
                   leafVolID=new_id()) == 201
    ok(vm.cli, vm.cli.Image.deleteVolumes(
        imageID=vm.img, storagepoolID=vm.sp, storagedomainID=vm.sd,
        volumeList=[top1, top2], postZero="false", force="false"))
    for vol in (top1, top2):
        assert code_of(vm.cli.Volume.getInfo,
                       **vol_args(vm.sp, vm.sd, vm.img, vol)) == 201
    # Every write is in the base once the VM is down.
    vm.cli.VM.destroy(vmID=vm.vm_id)
    for sector, data in ((100, b"IN-THE-BASE"),
                         (200, b"AFTER-SNAPSHOT-ONE"),
                         (300, b"AFTER-SNAPSHOT-TWO"),
                         (400, b"AFTER-THE-PIVOT")):
        assert read_file(base_path, sector * SECTOR, len(data)) == data
    # The bulk data too (it was written to top1 only).
    assert read_file(base_path, BULK_AT * SECTOR, MIB) != bytes(MIB)


def test_merge_bad_input_leaves_the_vm_on_its_chain(storage_vm):
    vm = storage_vm
    top = snapshot(vm, vm.base)
    before = (vm.live_source(), vm.chain_md())
    other_img, other_vol = new_id(), new_id()

    def merge(**changes):
        params = dict(vmID=vm.vm_id, drive=vm.drive_spec(top),
                      baseVolUUID=vm.base, topVolUUID=top,
                      jobUUID=str(uuid.uuid4()))
        params.update(changes)
        return code_of(vm.cli.VM.merge, **params)

    # Top and base out of order, or the same volume.
    assert merge(baseVolUUID=top, topVolUUID=vm.base) == 52
    assert merge(baseVolUUID=top, topVolUUID=top) == 52
    # Volumes of another chain.
    assert merge(baseVolUUID=other_vol) == 52
    assert merge(topVolUUID=other_vol) == 52
    # A drive the VM does not have: another image, not its leaf, another
    # domain, no ids at all.
    assert merge(drive=dict(vm.drive_spec(top), imageID=other_img)) == 13
    assert merge(drive=vm.drive_spec(vm.base)) == 13
    assert merge(drive=dict(vm.drive_spec(top), domainID=new_id())) == 13
    assert merge(drive={}) == 13
    assert merge(bandwidth=-1) == 52
    assert merge(bandwidth="fast") == 52
    assert merge(vmID=str(uuid.uuid4())) == 1
    assert (vm.live_source(), vm.chain_md()) == before
    assert vm_jobs(vm.cli, vm.vm_id) == {}
    assert vm.md(top)["legality"] == "LEGAL"
    assert vm.cli.VM.getStats(vmID=vm.vm_id)[0]["status"] == "Up"
    # The VM still merges afterwards.
    job = str(uuid.uuid4())
    vm.cli.VM.merge(vmID=vm.vm_id, drive=vm.drive_spec(top),
                    baseVolUUID=vm.base, topVolUUID=top, jobUUID=job)
    wait_merged(vm, job)
    assert vm.chain_md() == [vm.base, f"leaf={vm.base}"]


def test_vdsmd_killed_during_an_active_merge_finishes_it(storage_vm):
    """Killed while libvirt commits the active layer at 1 MiB/s: the
    restarted vdsmd finds the job in the VM metadata, reports it in
    vmJobs, pivots and fixes the metadata."""
    vm = storage_vm
    top = snapshot(vm, vm.base)
    vm.guest_write(b"BEFORE-THE-KILL", 100)
    bulk_write(vm, 16)
    job = str(uuid.uuid4())
    vm.cli.VM.merge(vmID=vm.vm_id, drive=vm.drive_spec(top),
                    baseVolUUID=vm.base, topVolUUID=top, bandwidth=1,
                    jobUUID=job)
    assert job in vm_jobs(vm.cli, vm.vm_id)
    vm.vdsmd.kill()
    # libvirt goes on without vdsmd.
    conn, dom = vm.dom()
    try:
        assert dom.blockJobInfo("vda", 0)
    finally:
        conn.close()
    vm.vdsmd.start()
    vm.vdsmd.wait_ready(timeout=START_TIMEOUT)
    with vm.vdsmd.client() as cli:
        vm.cli = cli
        wait_merged(vm, job)
        # Found in the metadata by the new vdsmd, not finished by the old.
        assert f"RECOVER merge vm={vm.vm_id} job={job}" in vm.vdsmd.log()
        assert os.path.basename(vm.live_source()) == vm.base
        assert vm.chain_md() == [vm.base, f"leaf={vm.base}"]
        assert vm.md(top)["legality"] == "ILLEGAL"
        assert vm.md(vm.base)["voltype"] == "LEAF"
        assert cli.VM.getStats(vmID=vm.vm_id)[0]["status"] == "Up"
        base_path = os.path.realpath(vm.prepared_path(vm.base))
        vm.guest_write(b"AFTER-THE-RESTART", 200)
        cli.VM.destroy(vmID=vm.vm_id)
        assert read_file(base_path, 100 * SECTOR, 15) == b"BEFORE-THE-KILL"
        assert read_file(base_path, 200 * SECTOR, 17) == \
            b"AFTER-THE-RESTART"
