"""Fixtures of the storage tests: file systems, sanlock, a storage service.

* ``userstorage``: ext4/xfs on loop devices, 512 and 4096 byte sectors
  (see userstorage.py); made here if needed, removed at the end if made.
* ``sanlock_daemon``: the real sanlock daemon. Started here if not
  running; where setrlimit is not allowed (no CAP_SYS_RESOURCE) through
  the LD_PRELOAD shim built from sanlock_shim.c with gcc.
* ``make_service``: a StorageService over a temporary repository and
  lib_dir, cleaned up after the test (pools disconnected, helpers closed,
  mounts of the test's repository removed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any, Callable, Iterator

import pytest

from storage import userstorage
from storage.storagefixtures import make_config

from vdsm.storage import clusterlock
from vdsm.storage.mount import Mounter
from vdsm.storage.service import StorageService

HERE = os.path.dirname(os.path.abspath(__file__))
SANLOCK_SOCK = "/run/sanlock/sanlock.sock"


def _sanlock_running() -> bool:
    if not os.path.exists(SANLOCK_SOCK):
        return False
    return subprocess.run(["sanlock", "client", "status"],
                          capture_output=True).returncode == 0


def _build_shim(out_dir: str) -> str:
    lib = os.path.join(out_dir, "sanlock_shim.so")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", lib,
                    os.path.join(HERE, "sanlock_shim.c"), "-ldl"],
                   check=True, capture_output=True)
    return lib


def _start_sanlock(env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["sanlock", "daemon", "-D", "-w", "0", "-U", "root", "-G", "root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        if _sanlock_running():
            return proc
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise RuntimeError("sanlock daemon did not start")


@pytest.fixture(scope="session")
def sanlock_daemon(tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[None]:
    if shutil.which("sanlock") is None:
        pytest.skip("sanlock is not installed")
    if os.geteuid() != 0:
        pytest.skip("sanlock tests need root")
    if _sanlock_running():
        yield
        return
    env = dict(os.environ)
    try:
        proc = _start_sanlock(env)
    except RuntimeError:
        # No CAP_SYS_RESOURCE here: sanlock's setrlimit fails.
        env["LD_PRELOAD"] = _build_shim(str(tmp_path_factory.mktemp("shim")))
        proc = _start_sanlock(env)
    # Register this test process once, before fd leak checks start.
    clusterlock._registered()
    yield
    subprocess.run(["sanlock", "client", "shutdown", "-f", "1"],
                   capture_output=True)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session", autouse=True)
def _sanlock_registered(sanlock_daemon: None) -> None:
    clusterlock._registered()


@pytest.fixture(scope="session")
def userstorage_fs() -> Iterator[dict[str, userstorage.Storage]]:
    if os.geteuid() != 0:
        pytest.skip("loop devices need root")
    made = not userstorage.is_ready(userstorage.load())
    storages = userstorage.setup()
    if not storages:
        pytest.skip("cannot make loop devices here")
    yield storages
    if made:
        userstorage.teardown()


def cleanup_service(svc: StorageService) -> None:
    for sp in svc.connected_pools():
        pool = svc.pool(sp)
        if pool.is_spm:
            for task in svc.tasks.running():
                task.stop()
            deadline = time.monotonic() + 30
            while svc.tasks.running() and time.monotonic() < deadline:
                time.sleep(0.1)
            pool.spm_stop()
        svc.disconnect_pool(sp, pool.host_id)
    svc.stop()
    svc.connections.umount_all()


@pytest.fixture
def make_service(tmp_path: Any) -> Iterator[Callable[..., StorageService]]:
    services: list[StorageService] = []

    def make(root: str | None = None, mounter: Mounter | None = None,
             **irs: str) -> StorageService:
        svc = StorageService(make_config(root or str(tmp_path), **irs),
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
        self.services: list[StorageService] = []
        self.dirs: list[str] = []

    def service(self, **irs: str) -> StorageService:
        svc = StorageService(make_config(str(self.tmp_path), **irs))
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
