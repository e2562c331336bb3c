"""The LOCALFS flow end to end with vdsmd as the vdsm user, as in production.

vdsmd starts as root with ``[vars] drop_privileges`` and drops to vdsm:kvm
before it serves; root work goes to a real supervdsmd (as root); leases go
to a private sanlock daemon running as user sanlock (``sanlockd.Private``),
which reaches the domain's files only through group kvm. The host is laid
out as ``vdsm-tool configure`` leaves it: the repository and its ``mnt``,
run, lib and log dirs owned by vdsm:kvm 0755; the LOCALFS directory is
vdsm:kvm 0755 on a loop file system of the storage tests.

Whatever vdsmd creates on the domain must end up vdsm:kvm, files 0660
(qemu and sanlock, both in group kvm, open them) and dirs 0755.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import tempfile
from typing import Any, Iterator

import pytest

from fixtures import vdsm_user
from fixtures.vdsmd import Vdsmd
from storage import sanlockd
from storage.api_test import (BLANK, LOCALFS, POSIXFS, create_volume, ok,
                              setup_pool, teardown_pool, vol_args)
from storage.storagefixtures import MIB, new_id
from vdsm import pki
from vdsm.common.config import Config
from vdsm.tool import accounts
from vdsm.tool.target import Target

pytestmark = [pytest.mark.root, pytest.mark.slow]

FILE_MODE = 0o660
DIR_MODE = 0o755


def _ids(user: str = "vdsm", group: str = "kvm") -> tuple[int, int]:
    try:
        return pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
    except KeyError as e:
        pytest.skip(f"no {e.args[0]} account on this host")


def _own(path: str, uid: int, gid: int, mode: int) -> None:
    os.chown(path, uid, gid)
    os.chmod(path, mode)


class Host:
    """A vdsmd as vdsm, its supervdsmd and sanlock, under one root dir."""

    def __init__(self, root: str, uid: int, gid: int) -> None:
        self.root = root
        self.uid = uid
        self.gid = gid
        self.repository = os.path.join(root, "data-center")
        self.sanlock = sanlockd.Private(os.path.join(root, "sanlock-run"),
                                        root)
        self.vdsmd: Vdsmd | None = None

    def layout(self, host_pki: pki.Paths) -> pki.Paths:
        """The dirs vdsm-tool configure makes; the daemon's own PKI."""
        return vdsm_user.layout(
            self.root, host_pki, self.uid, self.gid,
            ("data-center", "data-center/mnt") + vdsm_user.DAEMON_DIRS)

    def start(self, host_pki: pki.Paths, supervdsm_socket: str) -> Vdsmd:
        own_pki = self.layout(host_pki)
        self.sanlock.start()
        self.vdsmd = Vdsmd(self.root, host_pki, {
            "vars": {"drop_privileges": "true", "user": "vdsm",
                     "group": "kvm"},
            "pki": {"pki_dir": own_pki.root},
            "supervdsm": {"socket": supervdsm_socket},
            "irs": {"repository": self.repository,
                    "sd_health_check_delay": "0.5",
                    "process_pool_timeout": "5"},
            "sanlock": {"io_timeout": "1"},
        }, env={"SANLOCK_RUN_DIR": self.sanlock.run_dir})
        self.vdsmd.start()
        self.vdsmd.wait_ready()
        return self.vdsmd

    def stop(self) -> int | None:
        rc = None
        if self.vdsmd is not None and self.vdsmd.proc is not None:
            rc = self.vdsmd.stop()
        self.sanlock.stop()
        return rc


@pytest.fixture
def host(make_supervdsmd: Any, host_pki: pki.Paths) -> Iterator[Host]:
    uid, gid = _ids()
    _ids("sanlock", "sanlock")
    if shutil.which("sanlock") is None:
        pytest.skip("sanlock is not installed")
    # The memberships vdsm-tool configure gives (modules sanlock and
    # vdsm-user), on a host where it never ran (CI): sanlock opens the
    # domain's files through group kvm, vdsm reaches sanlock's socket
    # through group sanlock.
    target = Target("/", Config())
    accounts.add_memberships(target, "sanlock", ["kvm"])
    accounts.add_memberships(target, "vdsm", ["sanlock"])
    root = tempfile.mkdtemp(prefix="vdsm-unpriv-", dir="/var/tmp")
    os.chmod(root, 0o755)
    h = Host(root, uid, gid)
    svdsm = make_supervdsmd({"irs": {"repository": h.repository}})
    try:
        h.start(host_pki, svdsm.socket)
        yield h
    finally:
        if h.vdsmd is not None:
            # Shown by pytest when the test fails.
            print(h.vdsmd.log()[-20000:])
        rc = h.stop()
        if rc not in (0, None):
            pytest.fail(f"vdsmd did not stop cleanly:\n"
                        f"{h.vdsmd.output() if h.vdsmd else ''}")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def storage_dir(userstorage_fs: dict[str, Any]) -> Iterator[str]:
    """A LOCALFS directory vdsm:kvm 0755, as an admin prepares one."""
    uid, gid = _ids()
    fs = userstorage_fs.get("ext4-512") or next(iter(userstorage_fs.values()))
    path = tempfile.mkdtemp(prefix="unpriv-", dir=fs.mountpoint)
    _own(path, uid, gid, DIR_MODE)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def wrong_owners(top: str, uid: int, gid: int) -> list[str]:
    """Paths under top (itself included) not owned right or not 0660/0755."""
    bad = []
    for dirpath, dirnames, filenames in os.walk(top):
        for path in [dirpath] + [os.path.join(dirpath, n)
                                 for n in dirnames + filenames]:
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                continue
            want = DIR_MODE if stat.S_ISDIR(st.st_mode) else FILE_MODE
            mode = stat.S_IMODE(st.st_mode)
            if (st.st_uid, st.st_gid, mode) != (uid, gid, want):
                bad.append(f"{path} {st.st_uid}:{st.st_gid} {mode:o}")
    return bad


def test_localfs_flow_as_vdsm(host: Host, storage_dir: str) -> None:
    vdsmd = host.vdsmd
    assert vdsmd is not None and vdsmd.proc is not None
    ids = vdsm_user.proc_ids(vdsmd.proc.pid)
    assert ids["Uid"] == [host.uid] * 4 and ids["Gid"] == [host.gid] * 4
    sanlock_uid = pwd.getpwnam("sanlock").pw_uid
    assert host.sanlock.proc is not None
    assert vdsm_user.proc_ids(host.sanlock.proc.pid)["Uid"][0] == sanlock_uid

    with vdsmd.client() as cli:
        # A directory left to root: vdsm may not write there, and says so.
        root_dir = os.path.join(storage_dir, "root-only")
        os.mkdir(root_dir, 0o755)
        assert cli.StoragePool.connectStorageServer(
            storagepoolID=BLANK, domainType=LOCALFS,
            connectionParams=[{"id": "r", "connection": root_dir}]) == \
            [{"id": "r", "status": 469}]
        os.rmdir(root_dir)

        # A repository configure did not prepare: a clear 451, no mount.
        mnt = os.path.join(host.repository, "mnt")
        os.chown(mnt, 0, 0)
        try:
            assert cli.StoragePool.connectStorageServer(
                storagepoolID=BLANK, domainType=POSIXFS,
                connectionParams=[{"id": "p", "connection": "/dev/null",
                                   "vfs_type": "ext4"}]) == \
                [{"id": "p", "status": 451}]
        finally:
            os.chown(mnt, host.uid, host.gid)
        assert os.listdir(mnt) == []

        sp, sd = setup_pool(cli, storage_dir)
        status = cli.StoragePool.getSpmStatus(storagepoolID=sp)
        assert status["spmStatus"] == "SPM" and status["spmId"] == 1

        # A cow sparse volume and a snapshot on it.
        img, base, top = new_id(), new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img, base, fmt=4, prealloc=2,
                              size=str(64 * MIB)))
        ok(cli, create_volume(cli, sp, sd, img, top, parent=base))
        info = cli.Volume.getInfo(**vol_args(sp, sd, img, top))
        assert info["parent"] == base and info["legality"] == "LEGAL"

        prepared = cli.Image.prepare(**vol_args(sp, sd, img, top))
        assert os.path.exists(prepared["path"])
        # Everything on the domain is vdsm's, readable by qemu and
        # sanlock through group kvm.
        assert wrong_owners(os.path.join(storage_dir, sd),
                            host.uid, host.gid) == []
        cli.Image.teardown(**vol_args(sp, sd, img, top))

        ok(cli, cli.Volume.delete(postZero=False, force=False,
                                  **vol_args(sp, sd, img, top)))
        assert cli.Volume.getInfo(**vol_args(sp, sd, img, base))[
            "children"] == []
        teardown_pool(cli, sp)
        assert cli.Host.getConnectedStoragePools() == []
        # setup_pool's connection.
        conn = [{"id": "c1", "connection": storage_dir}]
        assert cli.StoragePool.disconnectStorageServer(
            storagepoolID=BLANK, domainType=LOCALFS,
            connectionParams=conn) == [{"id": "c1", "status": 0}]

    assert wrong_owners(os.path.join(storage_dir, sd),
                        host.uid, host.gid) == []
    # vdsmd's own state on the host is its own too.
    for dirpath, _, filenames in os.walk(host.repository):
        for name in filenames:
            assert os.lstat(os.path.join(dirpath, name)).st_uid == host.uid
    log = vdsmd.log()
    assert "Permission denied" not in log, log
