"""Domain monitor, and a frozen mount that must not stall anything else."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from storage.storagefixtures import (connect_localfs, create_domain,
                                     make_pool, new_id)

from vdsm.api import storage_wire
from vdsm.common import clock
from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.pool import SpmRole

pytestmark = pytest.mark.root


def wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.1)


def test_monitor_reports_valid_and_acquired(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    wait_for(lambda: sd in svc.monitor.stats()
             and svc.monitor.stats()[sd].acquired)
    stats = svc.monitor.stats()[sd]
    assert stats.valid is True and stats.code == 0
    assert stats.delay >= 0
    assert stats.age() < 5
    assert stats.version == 5
    # The monitor keeps checking (interval 0.5 s): a later check comes,
    # and finds the same.
    wait_for(lambda: svc.monitor.stats()[sd].last_check > stats.last_check)
    again = svc.monitor.stats()[sd]
    assert (again.valid, again.code, again.acquired, again.version) == \
        (True, 0, True, 5)
    # What the API sends (the string-typed numbers upstream sends).
    wire = storage_wire.repo_stats({sd: stats})[sd]
    assert wire["delay"] == f"{stats.delay:.6f}"
    assert float(wire["lastCheck"]) < 5
    assert wire["valid"] is True and wire["acquired"] is True


@pytest.fixture
def fuse_dir(env, tmp_path):
    """A directory served by bindfs (a FUSE daemon) over a loop fs dir."""
    if shutil.which("bindfs") is None:
        pytest.skip("bindfs is not installed")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse")
    src = env.dir()
    mnt = tmp_path / "fuse"
    mnt.mkdir()
    proc = subprocess.Popen(["bindfs", "-f", src, str(mnt)])
    try:
        wait_for(lambda: os.path.ismount(mnt), 10)
        yield proc, src, str(mnt)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        subprocess.run(["fusermount3", "-u", "-z", str(mnt)])
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_frozen_mount_does_not_block_other_verbs(env, fuse_dir):
    proc, _, fuse_mnt = fuse_dir
    svc = env.service(process_pool_timeout="1")
    sp, master = make_pool(svc, env.dir("xfs-512"))
    connect_localfs(svc, fuse_mnt)
    frozen = create_domain(svc, fuse_mnt)
    svc.pools.attach_domain(frozen, sp)
    svc.pools.activate_domain(frozen, sp)
    wait_for(lambda: frozen in svc.monitor.stats()
             and svc.monitor.stats()[frozen].actual)
    assert svc.monitor.stats()[frozen].valid

    os.kill(proc.pid, signal.SIGSTOP)   # the FUSE server stops answering
    # Verbs on the frozen domain fail with 379 after the I/O timeout ...
    start = clock.monotonic()
    with pytest.raises(errors.StorageDomainAccessError):
        svc.domains.info(frozen)
    assert clock.monotonic() - start < 5
    # ... and the monitor says so, while the other domain stays valid.
    wait_for(lambda: not svc.monitor.stats()[frozen].valid)
    assert svc.monitor.stats()[frozen].code == 379
    # Other verbs answer at once while calls on the frozen mount hang.
    stuck = threading.Thread(target=lambda: _swallow(svc.domains.info,
                                                     frozen))
    stuck.start()
    for _ in range(5):
        t = clock.monotonic()
        assert svc.domains.info(master).uuid == master
        assert svc.monitor.stats()[master].valid
        assert svc.pools.spm_status(sp).role == SpmRole.SPM
        assert clock.monotonic() - t < 1.0
    stuck.join()
    os.kill(proc.pid, signal.SIGCONT)
    wait_for(lambda: svc.monitor.stats()[frozen].valid)
    svc.pools.deactivate_domain(frozen, sp)
    assert new_id() and sc.LOCALFS


def _swallow(func, *args):
    try:
        func(*args)
    except errors.StorageError:
        pass
