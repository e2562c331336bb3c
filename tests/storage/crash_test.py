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

from storage.storagefixtures import (MIB, check_task, make_pool, new_id,
                                     wait_task)
from storage.volumecopy_test import second_domain
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


def fill_random(path, mib):
    """Random data, so that qemu-img's copy of it takes a while."""
    with open("/dev/urandom", "rb") as rnd, open(path, "r+b") as out:
        for _ in range(mib):
            out.write(rnd.read(MIB))


def converting(child):
    """True once the child runs qemu-img convert."""
    return lambda: any("convert" in c for c in descendants_cmdlines(
        child.pid))


def wait_started(child, ready, what, interval=0.005):
    """Wait, at most 60 s, until ready() while the child lives."""
    deadline = time.monotonic() + 60
    while not ready():
        assert time.monotonic() < deadline, f"{what} did not start"
        assert child.poll() is None
        time.sleep(interval)


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
    fill_random(src_path, 600)
    svc.pools.spm_stop(sp)
    child = start_child(str(env.tmp_path), "copy", sp, sd, src_img, src,
                        dst_img, dst)
    try:
        wait_started(child, converting(child), "copy")
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
    fill_random(src_path, 600)
    svc.pools.spm_stop(sp)
    dom = svc.repository.find_domain(sd)
    meta = os.path.join(dom.image_dir(dst_img), dst + ".meta")
    child = start_child(str(env.tmp_path), "volcopy", sp, sd, src_img, src,
                        dst_img, dst)
    try:
        wait_started(child, converting(child), "copy")
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


def test_kill_during_clone_structure(env):
    """Image.cloneStructure of a 12-volume chain, vdsm killed once the
    first destination volume exists: after recovery no part of the
    chain is left on the destination."""
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    sd2 = second_domain(env, svc, sp)
    img = new_id()
    vols = [create(svc, sp, sd, img, fmt=sc.COW_FORMAT)]
    for _ in range(11):
        vols.append(create(svc, sp, sd, img, fmt=sc.COW_FORMAT,
                           parent=vols[-1]))
    svc.pools.spm_stop(sp)
    dom2 = svc.repository.find_domain(sd2)
    first = os.path.join(dom2.image_dir(img), vols[0] + ".meta")
    child = start_child(str(env.tmp_path), "clone", sp, sd, img, sd2)
    try:
        wait_started(child, lambda: os.path.exists(first), "clone",
                     interval=0.001)
    finally:
        kill_group(child)
    made = [v for v in vols if Volume(dom2, img, v).exists()]
    assert 0 < len(made) < len(vols), "the kill came too late"
    assert not any(Volume(dom2, img, v).is_legal() for v in made)
    rolled_back = recover(svc, sp)
    assert [t.verb for t in rolled_back] == [
        TaskKind.CLONE_STRUCTURE.value]
    assert img not in dom2.images()
    assert not [v for v in vols if Volume(dom2, img, v).exists()]
    # The source is whole, and a new clone works.
    check_task(svc, svc.images.clone_structure(sp, sd, img, sd2))
    assert all(Volume(dom2, img, v).is_legal() for v in vols)


def test_kill_during_sync_data(env):
    """Image.syncData, vdsm killed while qemu-img copies an internal
    volume: after recovery that volume is ILLEGAL on the destination (the
    image cannot be prepared there), the source untouched."""
    svc = env.service()
    sp, sd = make_pool(svc, env.dir("xfs-512"))
    sd2 = second_domain(env, svc, sp)
    img = new_id()
    base = create(svc, sp, sd, img, size=600 * MIB, prealloc=sc.PREALLOCATED)
    base_path = svc.images.volume_info(sd, img, base).path
    fill_random(base_path, 600)
    top = create(svc, sp, sd, img, size=600 * MIB, fmt=sc.COW_FORMAT,
                 parent=base)
    check_task(svc, svc.images.clone_structure(sp, sd, img, sd2))
    svc.pools.spm_stop(sp)
    child = start_child(str(env.tmp_path), "sync", sp, sd, img, sd2,
                        "INTERNAL")
    try:
        wait_started(child, converting(child), "sync")
    finally:
        kill_group(child)
    rolled_back = recover(svc, sp)
    assert [t.verb for t in rolled_back] == [TaskKind.SYNC_DATA.value]
    assert svc.images.volume_info(sd2, img, base).legality == "ILLEGAL"
    with pytest.raises(errors.VolumeIsIllegal):
        svc.images.prepare(sd2, img, top)
    assert svc.images.volume_info(sd, img, base).legality == "LEGAL"
    assert svc.images.prepare(sd, img, top).vol_id == top
