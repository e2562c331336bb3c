"""Storage server connections: LOCALFS links, POSIXFS/NFS mounts."""

from __future__ import annotations

import os
import subprocess

import pytest

from storage.storagefixtures import (connect_servers, disconnect_servers,
                                     new_id)

from vdsm.storage import constants as sc
from vdsm.storage import errors, mount
from vdsm.storage.mount import Mounter
from vdsm.supervdsm.caller import Caller, InProcess

pytestmark = pytest.mark.root


@pytest.fixture
def loop_fs(tmp_path):
    """A fresh ext4 on its own loop device, for mounting by POSIXFS."""
    backing = tmp_path / "posix.img"
    with open(backing, "wb") as f:
        f.truncate(256 * 1024 ** 2)
    dev = subprocess.check_output(["losetup", "--find", "--show",
                                   str(backing)], text=True).strip()
    try:
        subprocess.run(["mkfs.ext4", "-q", "-F", dev], check=True)
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], check=True)


def test_localfs_connect_disconnect(make_service, tmp_path):
    svc = make_service()
    path = str(tmp_path / "data")
    os.mkdir(path)
    res = connect_servers(svc, sc.LOCALFS, [
        {"id": "a", "connection": path},
        {"id": "b", "connection": str(tmp_path / "missing")},
        {"id": "c", "connection": "relative/path"},
        {"id": "d", "connection": path + "/../data"},
    ])
    assert res == [("a", 0), ("b", errors.StorageServerConnectionError.code),
                   ("c", errors.InvalidParameter.code),
                   ("d", errors.InvalidParameter.code)]
    link = os.path.join(svc.repository.connections.mnt_dir,
                        path.replace("_", "__").replace("/", "_"))
    assert os.readlink(link) == path
    assert [c.spec for c in svc.repository.connections.saved()] == [path]
    assert disconnect_servers(
        svc, sc.LOCALFS, [{"id": "a", "connection": path}]) == [("a", 0)]
    assert not os.path.lexists(link)
    assert svc.repository.connections.saved() == []


@pytest.fixture
def mounter(supervdsmd):
    """Mounts through a real supervdsmd, as vdsmd does."""
    client = supervdsmd.client()
    yield Mounter(Caller(client))
    client.close()


def test_posixfs_mount_and_restore_after_restart(make_service, mounter,
                                                 supervdsmd, loop_fs):
    svc = make_service(mounter=mounter, repository=supervdsmd.repository)
    con = {"id": "p", "connection": loop_fs, "vfs_type": "ext4",
           "mnt_options": "noatime"}
    assert connect_servers(svc, sc.POSIXFS, [con]) == [("p", 0)]
    target = os.path.join(svc.repository.connections.mnt_dir,
                          loop_fs.replace("_", "__").replace("/", "_"))
    assert mount.is_mounted(target)
    assert "noatime" in [m for m in mount.mounts()
                         if m.target == target][0].options
    # A domain on it, seen after a "restart" (a new service).
    from storage.storagefixtures import create_domain
    sd = create_domain(svc, loop_fs, dom_type=sc.POSIXFS)
    mounter.umount(target)
    svc.stop()
    svc2 = make_service(mounter=mounter, repository=supervdsmd.repository)
    svc2.start()
    assert mount.is_mounted(target)
    assert svc2.repository.find_domain(sd).info().type == "POSIXFS"
    assert disconnect_servers(svc2, sc.POSIXFS, [con]) == [("p", 0)]
    assert not mount.is_mounted(target)
    assert not os.path.exists(target)


def test_posixfs_mount_failure_has_its_own_code(make_service, mounter,
                                                supervdsmd, tmp_path,
                                                loop_fs):
    svc = make_service(mounter=mounter, repository=supervdsmd.repository)
    res = connect_servers(svc, sc.POSIXFS, [
        # An ext4 device mounted as xfs: mount(8) fails.
        {"id": "x", "connection": loop_fs, "vfs_type": "xfs"},
        {"id": "y", "connection": "/dev/null", "vfs_type": "bad type!"},
        {"id": "z", "connection": str(tmp_path / "nodev"),
         "vfs_type": "ext4"},
        {"id": "w", "connection": loop_fs, "vfs_type": "ext4",
         "mnt_options": "suid"},
        # Mount points that would be the repository's own dirs.
        {"id": "d1", "connection": ".", "vfs_type": "ext4"},
        {"id": "d2", "connection": "..", "vfs_type": "ext4"},
    ])
    assert res == [("x", errors.MountError.code),
                   ("y", errors.InvalidParameter.code),
                   ("z", errors.InvalidParameter.code),
                   ("w", errors.InvalidParameter.code),
                   ("d1", errors.InvalidParameter.code),
                   ("d2", errors.InvalidParameter.code)]
    assert svc.repository.connections.saved() == []
    assert os.listdir(svc.repository.connections.mnt_dir) == []


def _have_nfs() -> bool:
    with open("/proc/filesystems") as f:
        if any(line.split()[-1] == "nfs" for line in f):
            return True
    return subprocess.run(["modprobe", "nfs"],
                          capture_output=True).returncode == 0


def test_nfs_mount(make_service, mounter, supervdsmd):
    if not _have_nfs():
        pytest.skip("no NFS client in this kernel")
    svc = make_service(mounter=mounter, repository=supervdsmd.repository)
    # No NFS server here: a refused mount must still get its own code.
    res = connect_servers(svc, sc.NFS, [
        {"id": "n", "connection": "127.0.0.1:/nonexistent",
         "protocol_version": "4.2", "mnt_options": "timeo=10,retrans=1"}])
    assert res == [("n", errors.MountError.code)]


def test_bad_domain_type(make_service):
    svc = make_service()
    assert connect_servers(
        svc, sc.ISCSI, [{"id": "i", "connection": "x"}]) == \
        [("i", errors.StorageServerConnectionError.code)]
    assert new_id()


def test_mounter_calls_the_declared_functions_through_the_caller(tmp_path):
    """The same checks as supervdsmd's, in-process (this test is root):
    what supervdsm refuses arrives as 1000, nothing is mounted."""
    calls = []

    class Recording:
        def __init__(self):
            self.inner = InProcess()

        def call(self, method, *args, **kwargs):
            calls.append(method)
            return self.inner.call(method, *args, **kwargs)

    mounter = Mounter(Caller(Recording()))
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(errors.InvalidParameter):
        mounter.mount("/dev/null", str(target), "bad type!")
    with pytest.raises(errors.InvalidParameter):
        mounter.mount("/dev/null", str(target), "ext4", "suid")
    assert calls == ["mount.mount", "mount.mount"]
    assert not mount.is_mounted(str(target))
