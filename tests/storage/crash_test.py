"""kill -9 in the middle of Volume.create and of a copy, then recover.

A child process (crash_child.py) is the SPM and runs the operation; the
test kills it with SIGKILL mid-way, becomes SPM itself and checks that task
recovery left no legal half volume.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from storage.storagefixtures import MIB, make_pool, new_id, wait_task
from storage.volume_test import create

from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.tasks import INTERRUPTED, TaskKind
from vdsm.storage.volume import Volume

pytestmark = [pytest.mark.root, pytest.mark.slow]

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_child(root, *args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [TESTS, os.path.join(os.path.dirname(TESTS), "lib")])
    return subprocess.Popen(
        [sys.executable, "-m", "storage.crash_child", root] + list(args),
        cwd=TESTS, env=env, stdout=subprocess.PIPE, text=True,
        start_new_session=True)


def kill_group(proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()


def descendants_cmdlines(pid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                with open(f"/proc/{name}/cmdline") as f:
                    out.append(f.read().replace("\0", " "))
        except (OSError, IndexError):
            pass
    return out


def recover(svc, sp):
    # sanlock frees the dead child's SPM lease once it notices the death.
    deadline = time.monotonic() + 30
    while True:
        status = wait_task(svc, svc.pools.spm_start(sp))
        if status.result == "success":
            break
        assert status.code == errors.AcquireLockFailure.code, status
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    # The tasks recovery rolled back (a failed spmStart attempt above is
    # cleanSuccess too, as upstream's failed tasks are).
    return [t for t in svc.tasks.all()
            if t.result == "cleanSuccess" and t.message == INTERRUPTED]


def test_kill_during_volume_create(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    svc.pools.spm_stop(sp)
    dom = svc.repository.find_domain(sd)
    img, vol = new_id(), new_id()
    meta = os.path.join(dom.image_dir(img), vol + ".meta")
    child = start_child(str(env.tmp_path), "create", sp, sd, img, vol,
                        str(1024 * MIB))
    try:
        deadline = time.monotonic() + 60
        seen = ""
        while time.monotonic() < deadline:
            try:
                with open(meta) as f:
                    seen = f.read()
            except FileNotFoundError:
                continue
            if seen:
                break
        assert "LEGALITY=ILLEGAL" in seen
    finally:
        kill_group(child)
    rolled_back = recover(svc, sp)
    vol_obj = Volume(dom, img, vol)
    if rolled_back:
        assert not vol_obj.exists()
        assert not os.path.exists(vol_obj.path)
        assert img not in dom.images()
    else:
        # The child finished before the kill landed: a whole volume.
        assert vol_obj.is_legal()


def test_kill_during_copy(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir("xfs-512"))
    src_img, dst_img = new_id(), new_id()
    src = create(svc, sp, sd, src_img, size=600 * MIB,
                 prealloc=sc.PREALLOCATED)
    dst = create(svc, sp, sd, dst_img, size=600 * MIB, fmt=sc.COW_FORMAT)
    src_path = svc.images.volume_info(sd, src_img, src).path
    with open("/dev/urandom", "rb") as rnd, open(src_path, "r+b") as out:
        for _ in range(600):
            out.write(rnd.read(MIB))
    svc.pools.spm_stop(sp)
    child = start_child(str(env.tmp_path), "copy", sp, sd, src_img, src,
                        dst_img, dst)
    try:
        deadline = time.monotonic() + 60
        while not any("convert" in c for c in descendants_cmdlines(
                child.pid)):
            assert time.monotonic() < deadline, "copy did not start"
            assert child.poll() is None
            time.sleep(0.005)
    finally:
        kill_group(child)
    rolled_back = recover(svc, sp)
    assert [t.verb for t in rolled_back] == [TaskKind.COPY_DATA.value]
    info = svc.images.volume_info(sd, dst_img, dst)
    assert info.legality == "ILLEGAL"
    with pytest.raises(errors.VolumeIsIllegal):
        svc.images.prepare(sd, dst_img, dst)


def test_kill_during_volume_copy(env):
    """Volume.copy into a new image, vdsm killed while qemu-img runs:
    after recovery the half-made copy is gone, never left legal."""
    svc = env.service()
    sp, sd = make_pool(svc, env.dir("xfs-512"))
    src_img, dst_img, dst = new_id(), new_id(), new_id()
    src = create(svc, sp, sd, src_img, size=600 * MIB,
                 prealloc=sc.PREALLOCATED)
    src_path = svc.images.volume_info(sd, src_img, src).path
    with open("/dev/urandom", "rb") as rnd, open(src_path, "r+b") as out:
        for _ in range(600):
            out.write(rnd.read(MIB))
    svc.pools.spm_stop(sp)
    dom = svc.repository.find_domain(sd)
    meta = os.path.join(dom.image_dir(dst_img), dst + ".meta")
    child = start_child(str(env.tmp_path), "volcopy", sp, sd, src_img, src,
                        dst_img, dst)
    try:
        deadline = time.monotonic() + 60
        while not any("convert" in c for c in descendants_cmdlines(
                child.pid)):
            assert time.monotonic() < deadline, "copy did not start"
            assert child.poll() is None
            time.sleep(0.005)
        # Mid-copy the copy exists, illegal.
        with open(meta) as f:
            assert "LEGALITY=ILLEGAL\n" in f.read()
    finally:
        kill_group(child)
    rolled_back = recover(svc, sp)
    assert [t.verb for t in rolled_back] == [TaskKind.COPY_VOLUME.value]
    assert not Volume(dom, dst_img, dst).exists()
    assert dst_img not in dom.images()
    assert svc.images.volume_info(sd, src_img, src).legality == "LEGAL"
