"""Storage requests that used to leave things behind, against a real vdsmd.

* A LOCALFS connection to the repository itself, into it or to one of its
  parents was accepted and linked ``mnt/_rhev`` -> /rhev, a loop under
  the repository: refused now with upstream's code for a bad path (1000),
  no link made.
* A StorageDomain.create failing half way left ``dom_md/`` (3 GiB of
  sparse files) behind. The failure here is real: a 1 MiB tmpfs, where
  the sparse files fit but sanlock's write of the SDM lease gets ENOSPC
  (or sanlock is not running: its lockspace write fails).
* What a vdsmd killed during a create leaves (a hidden ``.create-*``
  directory of this host) is swept when the mount is next connected;
  another host's create in progress is left alone.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest

from vdsm import client
from vdsm.storage import domain

pytestmark = pytest.mark.root

BLANK = "00000000-0000-0000-0000-000000000000"
LOCALFS = 4


@pytest.fixture
def repo(tmp_path):
    return str(tmp_path / "data-center")


@pytest.fixture
def daemon(vdsmd_factory, repo):
    return vdsmd_factory({"irs": {"repository": repo,
                                  "process_pool_timeout": "5"},
                          "sanlock": {"io_timeout": "1"}})


def connect(cli, path: str) -> int:
    [status] = cli.StoragePool.connectStorageServer(
        storagepoolID=BLANK, domainType=LOCALFS,
        connectionParams=[{"id": "c1", "connection": path}])
    return status["status"]


def links(repo: str) -> list[str]:
    mnt = os.path.join(repo, "mnt")
    return sorted(os.listdir(mnt)) if os.path.isdir(mnt) else []


def test_localfs_loop_into_the_repository_refused(daemon, repo, tmp_path):
    os.makedirs(os.path.join(repo, "mnt", "x"))
    sneaky = tmp_path / "sneaky"
    sneaky.symlink_to(repo)
    with daemon.client() as cli:
        for path in (repo, os.path.join(repo, "mnt"),
                     os.path.join(repo, "mnt", "x"), str(tmp_path), "/",
                     str(sneaky)):
            assert connect(cli, path) == 1000, path
            assert links(repo) == ["x"], path
        good = tmp_path / "good"
        good.mkdir()
        assert connect(cli, str(good)) == 0
    assert links(repo) == [str(good).replace("_", "__").replace("/", "_"),
                           "x"]


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                    str(path)], check=True)
    try:
        yield str(path)
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)


def test_failed_create_leaves_nothing(daemon, tiny):
    sd = str(uuid.uuid4())
    with daemon.client() as cli:
        assert connect(cli, tiny) == 0
        with pytest.raises(client.ServerError) as e:
            cli.StorageDomain.create(storagedomainID=sd, domainType=LOCALFS,
                                     typeArgs=tiny, name="tiny",
                                     domainClass=1, version=5)
        print(f"create on a full fs: code={e.value.code} {e.value}")
        # 701, ClusterLockInitError: ENOSPC from sanlock, or (when no
        # sanlock daemon runs here) a refused connection: either way a
        # failure after the sparse files were made.
        assert e.value.code == 701
        assert os.listdir(tiny) == []
        st = os.statvfs(tiny)
        assert st.f_bfree == st.f_blocks         # every block returned
        assert sd not in cli.Host.getStorageDomains()


def test_unfinished_create_swept_at_connect(daemon, tmp_path):
    path = tmp_path / "sd"
    path.mkdir()
    ours = path / f"{domain.unfinished_prefix()}{uuid.uuid4()}-0badf00d"
    (ours / "dom_md").mkdir(parents=True)
    with open(ours / "dom_md" / "leases", "wb") as f:
        f.truncate(2 * 1024**3)
    theirs = path / f"{domain.CREATE_PREFIX}otherhost-{uuid.uuid4()}-1"
    (theirs / "dom_md").mkdir(parents=True)
    with daemon.client() as cli:
        assert connect(cli, str(path)) == 0
    deadline = time.monotonic() + 30
    while ours.exists():
        assert time.monotonic() < deadline, "leftover not swept"
        time.sleep(0.05)
    assert theirs.is_dir()
    assert "SWEEP removed=" in daemon.log()
