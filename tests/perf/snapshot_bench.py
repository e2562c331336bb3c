"""Benchmark: a live snapshot and a live merge of a 1 GiB disk through
vdsmd beside the raw libvirt calls, on the same running guest in one run.

    cd tests && sudo PYTHONPATH=../lib /opt/vdsm-venv/bin/python \
        perf/snapshot_bench.py [--rounds 2] [--data-mib 128]

As root; runs itself under pytest for the guest of tests/virt/storagevm.py
(a real vdsmd over a LOCALFS domain on a loop file system, sanlock, a TCG
guest with qemu-ga on a raw 1 GiB base volume). Each round:

* ``snapshot``: API: Volume.create of the qcow2 leaf (not timed), then
  VM.snapshot (synchronous: qemu-ga freeze, snapshotCreateXML, thaw,
  metadata). Raw: ``qemu-img create`` of a leaf file beside it (not
  timed), then fsFreeze, snapshotCreateXML disk-only/reuse-ext/
  no-metadata, fsThaw.
* the guest writes --data-mib MiB of random data into the new leaf (not
  timed);
* ``merge``: API: VM.merge of the active layer into the base until the job
  leaves vmJobs (pivot and metadata done). Raw: blockCommit ACTIVE|RELATIVE,
  blockJobInfo polled every 10 ms until ready, blockJobAbort PIVOT.

Prints the best of the rounds and the API/raw ratios. vdsmd looks at a
merge once a second (livemerge.INTERVAL), which bounds how soon it can
pivot and report the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import libvirt  # noqa: E402
import pytest  # noqa: E402

from fixtures.virt import wait_for  # noqa: E402
from storage.conftest import (  # noqa: E402,F401
    env, machine_lock, sanlock_daemon, userstorage_fs)
from virt.storagevm import MIB, repository, storage_vm  # noqa: E402,F401

from vdsm.virt import snapshot as snapshot_mod  # noqa: E402

GIB = 1024 * MIB
OPTIONS = {"rounds": 2, "data_mib": 128}


@pytest.fixture
def disk_size():
    return GIB


def write_data(vm, mib: int) -> None:
    out = vm.agent_exec(f"dd if=/dev/urandom of=/dev/vda bs=1048576 "
                        f"count={mib} seek=16 conv=fsync,notrunc",
                        timeout=900)
    assert out["exitcode"] == 0, out


def api_round(vm, mib: int) -> tuple[float, float]:
    parent = os.path.basename(vm.live_source())
    top = vm.new_leaf(parent)
    start = time.monotonic()
    vm.cli.VM.snapshot(vmID=vm.vm_id, frozen=False,
                       snapDrives=[vm.snap_drive(top, parent)])
    snap = time.monotonic() - start
    assert os.path.basename(vm.live_source()) == top
    write_data(vm, mib)
    job = str(uuid.uuid4())
    drive = {"poolID": vm.sp, "domainID": vm.sd, "imageID": vm.img,
             "volumeID": top}
    start = time.monotonic()
    vm.cli.VM.merge(vmID=vm.vm_id, drive=drive, baseVolUUID=parent,
                    topVolUUID=top, bandwidth=0, jobUUID=job)
    while job in vm.cli.VM.getStats(vmID=vm.vm_id)[0].get("vmJobs", {}):
        time.sleep(0.01)
    merge = time.monotonic() - start
    assert os.path.basename(vm.live_source()) == parent
    return snap, merge


def raw_round(vm, mib: int) -> tuple[float, float]:
    base_path = vm.live_source()
    image_dir = os.path.dirname(base_path)
    base = os.path.basename(base_path)
    leaf = os.path.join(image_dir, f"rawbench-{uuid.uuid4()}")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base,
                    "-F", "raw", leaf, str(vm.size)], check=True,
                   cwd=image_dir)
    st = os.stat(os.path.realpath(base_path))
    os.chown(leaf, st.st_uid, st.st_gid)
    os.chmod(leaf, 0o660)
    snap_xml = (
        "<domainsnapshot><disks><disk name='vda' snapshot='external' "
        f"type='file'><source file='{leaf}'/><driver type='qcow2'/>"
        "</disk></disks></domainsnapshot>")
    conn, dom = vm.dom()
    try:
        start = time.monotonic()
        dom.fsFreeze(None, 0)
        try:
            dom.snapshotCreateXML(snap_xml, snapshot_mod.FLAGS)
        finally:
            dom.fsThaw(None, 0)
        snap = time.monotonic() - start
        assert vm.live_source() == leaf
        write_data(vm, mib)
        start = time.monotonic()
        dom.blockCommit("vda", base_path, leaf, 0,
                        libvirt.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE
                        | libvirt.VIR_DOMAIN_BLOCK_COMMIT_RELATIVE)
        while True:
            info = dom.blockJobInfo("vda", 0)
            if info and info["end"] and info["cur"] == info["end"]:
                try:
                    dom.blockJobAbort(
                        "vda", libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
                    break
                except libvirt.libvirtError:
                    pass
            time.sleep(0.01)
        merge = time.monotonic() - start
    finally:
        conn.close()
    assert vm.live_source() == base_path
    os.unlink(leaf)
    return snap, merge


def test_snapshot_and_merge_bench(storage_vm):  # noqa: F811
    vm = storage_vm
    rounds, mib = OPTIONS["rounds"], OPTIONS["data_mib"]
    # Data in the base before the first snapshot, as a used disk has.
    write_data(vm, mib)
    api, raw = [], []
    for _ in range(rounds):
        api.append(api_round(vm, mib))
        raw.append(raw_round(vm, mib))
    wait_for(lambda: vm.cli.VM.getStats(vmID=vm.vm_id)[0]["status"] == "Up",
             10, "the guest up")
    api_snap, api_merge = (min(t[i] for t in api) for i in (0, 1))
    raw_snap, raw_merge = (min(t[i] for t in raw) for i in (0, 1))
    print(f"\n1 GiB disk, {mib} MiB merged, best of {rounds}:")
    print("op        api_ms    raw_ms  api/raw")
    print(f"snapshot {api_snap * 1000:7.0f}  {raw_snap * 1000:8.0f}  "
          f"{api_snap / raw_snap:7.2f}")
    print(f"merge    {api_merge * 1000:7.0f}  {raw_merge * 1000:8.0f}  "
          f"{api_merge / raw_merge:7.2f}")
    print(f"all api rounds (snapshot, merge) s: "
          f"{[(round(a, 2), round(b, 2)) for a, b in api]}")
    print(f"all raw rounds (snapshot, merge) s: "
          f"{[(round(a, 2), round(b, 2)) for a, b in raw]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=OPTIONS["rounds"])
    parser.add_argument("--data-mib", type=int, default=OPTIONS["data_mib"])
    args = parser.parse_args()
    os.environ["SNAPSHOT_BENCH"] = f"{args.rounds},{args.data_mib}"
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider",
                          "-o", "timeout=3600",
                          "--rootdir", os.path.dirname(HERE)]))


if "SNAPSHOT_BENCH" in os.environ:
    _r, _m = os.environ["SNAPSHOT_BENCH"].split(",")
    OPTIONS.update(rounds=int(_r), data_mib=int(_m))

if __name__ == "__main__":
    main()
