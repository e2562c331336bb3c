"""Fixtures of the storage tests: file systems, sanlock, a storage service.

* ``userstorage``: ext4/xfs on loop devices, 512 and 4096 byte sectors
  (see userstorage.py); made here if needed, removed at the end if made.
* ``sanlock_daemon``: the real sanlock daemon. Started here if not
  running; where setrlimit is not allowed (no CAP_SYS_RESOURCE) through
  the LD_PRELOAD shim built from sanlock_shim.c with gcc.
* ``make_service``: a Storage over a temporary repository and
  lib_dir, cleaned up after the test (pools disconnected, helpers closed,
  mounts of the test's repository removed).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from typing import Any, Callable, Iterator

import pytest

from storage import sanlockd, userstorage
from storage.storagefixtures import make_config

from vdsm.storage import clusterlock
from vdsm.storage.mount import Mounter
from vdsm.storage.component import Storage


LOCK_FILE = "/var/tmp/vdsm-storage-tests.lock"


@pytest.fixture(scope="session")
def machine_lock() -> Iterator[Callable[[], bool]]:
    """Several test sessions may share this machine's loop devices and
    sanlock daemon. Each holds a shared lock while it runs; the one that
    can upgrade to an exclusive lock at its end is the last, and cleans up
    what was made (``last()`` is true for it only)."""
    fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_SH)

    def last() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
    yield last
    os.close(fd)


@pytest.fixture(scope="session")
def sanlock_daemon(tmp_path_factory: pytest.TempPathFactory,
                   machine_lock: Callable[[], bool]) -> Iterator[None]:
    if shutil.which("sanlock") is None:
        pytest.skip("sanlock is not installed")
    if os.geteuid() != 0:
        pytest.skip("sanlock tests need root")
    proc = sanlockd.start(str(tmp_path_factory.mktemp("shim")))
    # Register this test process once, before fd leak checks start.
    clusterlock._registered()
    yield
    if machine_lock():
        sanlockd.stop(proc)


@pytest.fixture(scope="session", autouse=True)
def _sanlock_registered(sanlock_daemon: None) -> None:
    clusterlock._registered()


@pytest.fixture(scope="session")
def userstorage_fs(machine_lock: Callable[[], bool]
                   ) -> Iterator[dict[str, userstorage.Storage]]:
    if os.geteuid() != 0:
        pytest.skip("loop devices need root")
    made = not userstorage.is_ready(userstorage.load())
    storages = userstorage.setup()
    if not storages:
        pytest.skip("cannot make loop devices here")
    yield storages
    if made and machine_lock():
        userstorage.teardown()


def cleanup_service(svc: Storage) -> None:
    for sp in svc.pools.connected():
        pool = svc.pools.get(sp)
        if pool.is_spm:
            for task in svc.tasks.running():
                task.stop()
            deadline = time.monotonic() + 30
            while svc.tasks.running() and time.monotonic() < deadline:
                time.sleep(0.1)
            pool.spm_stop()
        svc.pools.disconnect(sp, pool.host_id)
    svc.stop()
    svc.repository.connections.umount_all()


@pytest.fixture
def make_service(tmp_path: Any) -> Iterator[Callable[..., Storage]]:
    services: list[Storage] = []

    def make(root: str | None = None, mounter: Mounter | None = None,
             **irs: str) -> Storage:
        svc = Storage.build(make_config(root or str(tmp_path), **irs),
                            mounter)
        services.append(svc)
        return svc

    yield make
    for svc in services:
        cleanup_service(svc)


class Env:
    """Services and directories on the loop file systems for one test."""

    def __init__(self, storages: dict[str, userstorage.Storage],
                 tmp_path: Any) -> None:
        self.storages = storages
        self.tmp_path = tmp_path
        self.services: list[Storage] = []
        self.dirs: list[str] = []

    def service(self, **irs: str) -> Storage:
        svc = Storage.build(make_config(str(self.tmp_path), **irs))
        self.services.append(svc)
        return svc

    def dir(self, fs: str = "ext4-512") -> str:
        if fs not in self.storages:
            pytest.skip(f"no {fs} file system on this machine")
        path = os.path.join(self.storages[fs].mountpoint,
                            f"t-{os.getpid()}-{len(self.dirs)}-"
                            f"{os.path.basename(str(self.tmp_path))}")
        os.makedirs(path)
        self.dirs.append(path)
        return path

    def close(self) -> None:
        for svc in self.services:
            cleanup_service(svc)
        for path in self.dirs:
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def env(userstorage_fs: dict[str, userstorage.Storage],
        tmp_path: Any) -> Iterator[Env]:
    e = Env(userstorage_fs, tmp_path)
    yield e
    e.close()
