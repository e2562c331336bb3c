"""Volume.create of 100 sparse volumes and of a 100-snapshot chain, and
Image.prepare of a 20-volume chain, beside raw qemu-img in the same run.

    cd tests && sudo PYTHONPATH=../lib /opt/vdsm-venv/bin/python \
        perf/storage_volume_bench.py [--count 100] [--chain 20] [--fs ext4-512]

As root: uses the loop file systems of tests/storage/userstorage.py (made
if missing) and the real sanlock daemon (started if not running). The
storage subsystem runs in-process (Storage): each volume is a task
that writes .meta (ILLEGAL), a sanlock lease, the data file with qemu-img,
links the parent and rewrites .meta LEGAL, every file operation through the
out-of-process helper. Rows:

* ``create sparse``: N qcow2 sparse volumes, each in its own image;
  baseline: N ``qemu-img create -f qcow2`` in the same directory;
* ``snapshots``: a chain of N snapshots on one base; baseline: N
  ``qemu-img create -b <previous>``;
* ``prepare``: Image.prepare of the leaf of a C-volume chain (repeated);
  baseline: ``qemu-img info --backing-chain`` of the same leaf, the least
  work that walks the chain on disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from storage import sanlockd, userstorage  # noqa: E402
from storage.storagefixtures import connect_servers, make_config  # noqa: E402

from vdsm.storage import constants as sc  # noqa: E402
from vdsm.storage.domain import DomainSpec  # noqa: E402
from vdsm.storage.component import Storage  # noqa: E402
from vdsm.storage.volume import VolumeSpec  # noqa: E402

SIZE = 1024 ** 3


def new_id() -> str:
    return str(uuid.uuid4())


def wait(svc: Storage, task_id: str) -> None:
    while True:
        status = svc.tasks.get(task_id).status()
        if status.state == "finished":
            if status.result != "success":
                raise RuntimeError(status)
            svc.tasks.clear(task_id)
            return
        time.sleep(0.001)


def timed(func) -> float:
    start = time.monotonic()
    func()
    return time.monotonic() - start


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def setup(svc: Storage, path: str) -> tuple[str, str]:
    res = connect_servers(svc, sc.LOCALFS,
                          [{"id": "b", "connection": path}])
    assert res == [("b", 0)], res
    sd, sp = new_id(), new_id()
    svc.domains.create(DomainSpec(sd, "bench", sc.LOCALFS, remote_path=path))
    svc.pools.create(sp, "bench", sd, 1, [sd])
    svc.pools.connect(sp, 1, sd, 1)
    wait(svc, svc.pools.spm_start(sp))
    return sp, sd


def create(svc, sp, sd, img, parent=sc.BLANK_UUID) -> str:
    vol = new_id()
    wait(svc, svc.images.create_volume(sd, sp, VolumeSpec(
        img, vol, SIZE, sc.COW_FORMAT, sc.SPARSE, parent_uuid=parent)))
    return vol


def bench_sparse(svc, sp, sd, base_dir, n) -> tuple[float, float]:
    ours = timed(lambda: [create(svc, sp, sd, new_id()) for _ in range(n)])
    base = timed(lambda: [qemu_img("create", "-f", "qcow2",
                                   os.path.join(base_dir, f"v{i}"),
                                   str(SIZE)) for i in range(n)])
    return ours, base


def bench_snapshots(svc, sp, sd, base_dir, n) -> tuple[float, float]:
    img = new_id()
    vols = [create(svc, sp, sd, img)]

    def ours():
        for _ in range(n):
            vols.append(create(svc, sp, sd, img, vols[-1]))

    def base():
        qemu_img("create", "-f", "qcow2", os.path.join(base_dir, "s0"),
                 str(SIZE))
        for i in range(1, n + 1):
            qemu_img("create", "-f", "qcow2", "-u", "-b", f"s{i - 1}",
                     "-F", "qcow2", os.path.join(base_dir, f"s{i}"),
                     str(SIZE))
    return timed(ours), timed(base)


def bench_prepare(svc, sp, sd, chain, rounds) -> tuple[float, float]:
    img = new_id()
    vols = [create(svc, sp, sd, img)]
    for _ in range(chain - 1):
        vols.append(create(svc, sp, sd, img, vols[-1]))
    leaf = svc.images.prepare(sd, img, vols[-1])
    assert len(leaf.chain) == chain
    ours = timed(lambda: [svc.images.prepare(sd, img, vols[-1])
                          for _ in range(rounds)])
    base = timed(lambda: [qemu_img("info", "-U", "--backing-chain",
                                   leaf.path) for _ in range(rounds)])
    return ours, base


def row(name: str, n: int, ours: float, base: float) -> None:
    print(f"{name:<16} n={n:<4} ours={ours / n * 1000:8.2f} ms/op  "
          f"qemu-img={base / n * 1000:8.2f} ms/op  "
          f"ratio={ours / base:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--chain", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--fs", default="ext4-512")
    args = parser.parse_args()
    storages = userstorage.setup()
    work = tempfile.mkdtemp(prefix="storage-bench-")
    daemon = sanlockd.start(work)
    path = os.path.join(storages[args.fs].mountpoint, "bench-" + new_id())
    base_dir = os.path.join(storages[args.fs].mountpoint, "base-" + new_id())
    os.makedirs(path)
    os.makedirs(base_dir)
    svc = Storage.build(make_config(work))
    try:
        sp, sd = setup(svc, path)
        print(f"fs={args.fs} block_size="
              f"{svc.repository.find_domain(sd).block_size}")
        row("create sparse", args.count,
            *bench_sparse(svc, sp, sd, base_dir, args.count))
        row("snapshots", args.count,
            *bench_snapshots(svc, sp, sd, base_dir, args.count))
        row(f"prepare chain={args.chain}", args.rounds,
            *bench_prepare(svc, sp, sd, args.chain, args.rounds))
        svc.pools.spm_stop(sp)
        svc.pools.disconnect(sp, 1)
    finally:
        svc.stop()
        shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(base_dir, ignore_errors=True)
        sanlockd.stop(daemon)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
