"""SPM failover: the SPM host dies (every process of it SIGKILLed: vdsmd,
sanlock, supervdsmd, libvirtd, its namespaces' holder) in the middle of an
SDM.copy_data; the other host's spmStart meets the dead host's lease
(651) until sanlock deems its id expired (ioOpTimeoutSec 1 of
StoragePool.create: sanlock's 8 of them plus its fixed 60 s watchdog
fire timeout, about 70 s), then becomes SPM and recovers the task the
dead one left on the master domain: rolled back, the half-copied
destination ILLEGAL, never legal; every other volume's metadata as it was.

Real parts: the cluster fixture (two hosts, real sanlock each), qemu-img
convert killed mid-way, the shared ext4 on a loop device through POSIXFS.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Iterator

import pytest

from cluster.sharedpool import BLANK, CONFIG, SharedPool, make_pool, \
    wait_task
from fixtures import cluster as cluster_mod

pytestmark = [pytest.mark.slow, pytest.mark.root]

MIB = 1024 ** 2
RAW, COW = 5, 4
PREALLOCATED, SPARSE = 1, 2


@pytest.fixture(scope="module")
def hosts() -> Iterator[cluster_mod.Cluster]:
    cluster_mod.require()
    with cluster_mod.running(2, CONFIG) as c:
        yield c


def create_volume(pool: SharedPool, cli: Any, img: str, vol: str,
                  size: int, fmt: int, prealloc: int) -> None:
    task = cli.Volume.create(
        storagepoolID=pool.sp, storagedomainID=pool.sd, imageID=img,
        volumeID=vol, size=str(size), volFormat=fmt, preallocate=prealloc,
        diskType="DATA", desc="failover", srcImgUUID=BLANK,
        srcVolUUID=BLANK)
    status = wait_task(cli, task)
    assert status["taskResult"] == "success", status
    cli.Task.clear(taskID=task)


def convert_running(host: cluster_mod.Host) -> bool:
    for pid in host.pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"qemu-img") and b"convert" in argv:
            return True
    return False


def test_spm_dies_mid_copy_another_host_takes_over(hosts):
    h0, h1 = hosts
    pool = make_pool(hosts, [h0, h1])
    assert pool.spm_start(h0)["taskResult"] == "success"
    lver = pool.spm_status(h0)["spmLver"]
    src_img, src = str(uuid.uuid4()), str(uuid.uuid4())
    dst_img, dst = str(uuid.uuid4()), str(uuid.uuid4())
    size = 200 * MIB
    with h0.client() as cli:
        create_volume(pool, cli, src_img, src, size, RAW, PREALLOCATED)
        create_volume(pool, cli, dst_img, dst, size, COW, SPARSE)
    # Data worth copying for a while (random: qcow2 cannot skip it).
    h0.run(["dd", "if=/dev/urandom",
            f"of={pool.domain_dir}/images/{src_img}/{src}", "bs=1M",
            f"count={size // MIB}", "conv=notrunc,fsync", "status=none"])
    before = pool.volume_metadata(h1)
    assert sorted(before) == sorted([f"{src_img}/{src}", f"{dst_img}/{dst}"])
    assert all("LEGALITY=LEGAL" in md for md in before.values())

    job = str(uuid.uuid4())
    with h0.client() as cli:
        cli.SDM.copy_data(
            job_id=job,
            source={"endpoint_type": "div", "sd_id": pool.sd,
                    "img_id": src_img, "vol_id": src},
            destination={"endpoint_type": "div", "sd_id": pool.sd,
                         "img_id": dst_img, "vol_id": dst})
    deadline = time.monotonic() + 60
    while not convert_running(h0):
        assert time.monotonic() < deadline, "the copy did not start"
        time.sleep(0.005)
    h0.crash()
    dead_at = time.monotonic()

    # The dead SPM's lease holds until sanlock deems its id expired:
    # spmStart fails with 651 (the id still renewed, as sanlock last saw
    # it), then waits in sanlock for it to expire, the host Contend.
    attempts = 0
    roles = set()
    with h1.client() as cli:
        while True:
            task = cli.StoragePool.spmStart(
                storagepoolID=pool.sp, prevID=1, prevLver=str(lver),
                enableScsiFencing="false", maxHostID=250)
            attempts += 1
            while True:
                status = cli.Task.getStatus(taskID=task)
                if status["taskState"] == "finished":
                    break
                roles.add(cli.StoragePool.getSpmStatus(
                    storagepoolID=pool.sp)["spmStatus"])
                time.sleep(0.2)
            cli.Task.clear(taskID=task)
            if status["taskResult"] == "success":
                break
            assert status["code"] == 651, status
            assert cli.StoragePool.getSpmStatus(
                storagepoolID=pool.sp)["spmStatus"] == "Free"
            assert time.monotonic() < dead_at + 180, status
            time.sleep(0.5)
    assert "Contend" in roles, roles
    took = time.monotonic() - dead_at
    print(f"failover: SPM on host1 {took:.1f}s after host0 died "
          f"({attempts} spmStart)")
    spm = pool.spm_status(h1)
    assert spm["spmStatus"] == "SPM" and spm["spmId"] == 2
    assert spm["spmLver"] > lver

    # The copy the dead SPM left (an SDM job, recorded on the master
    # domain): recovered by the new SPM, rolled back; the engine finds it
    # failed polling Host.getJobs there.
    with h1.client() as cli:
        jobs = cli.Host.getJobs(job_type="storage", job_ids=[job])
        assert jobs[job]["status"] == "failed", jobs
        assert jobs[job]["error"]["code"] == 411, jobs
        cli.Jobs.delete(job_id=job)
        info = cli.Volume.getInfo(storagepoolID=pool.sp,
                                  storagedomainID=pool.sd,
                                  imageID=dst_img, volumeID=dst)
    assert info["legality"] == "ILLEGAL"
    after = pool.volume_metadata(h1)
    assert sorted(after) == sorted(before)
    # The source untouched; the half copy never legal.
    assert after[f"{src_img}/{src}"] == before[f"{src_img}/{src}"]
    assert "LEGALITY=ILLEGAL" in after[f"{dst_img}/{dst}"]

    # (The dead host booting again would wait in add_lockspace for its
    # old id's delta lease to expire as well: another ~70 s, not here.)
    pool.leave([h1])
