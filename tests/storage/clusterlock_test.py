"""sanlock failures reach clients as storage errors with their code."""

from __future__ import annotations

import time

import pytest

from storage.storagefixtures import make_pool, new_id
from vdsm.storage import clusterlock, errors


def test_lockspace_that_cannot_be_written(tmp_path):
    # Whether or not a sanlock daemon runs here, it cannot write a
    # lockspace into a file that does not exist.
    missing = str(tmp_path / "no-such-dir" / "ids")
    with pytest.raises(errors.ClusterLockInitError) as e:
        clusterlock.init_lockspace(new_id(), missing, 512, 10)
    assert e.value.code == 701 and missing in str(e.value)


def test_lease_that_cannot_be_written(tmp_path):
    missing = str(tmp_path / "no-such-dir" / "leases")
    with pytest.raises(errors.ClusterLockInitError):
        clusterlock.init_resource(new_id(), "SDM", missing, 1048576, 512)


@pytest.mark.root
def test_host_id_added_back_after_release_without_wait(env):
    # sanlock reports a lockspace released without waiting as held for
    # about a second before removing it; adding it back meanwhile must
    # not end with a lockspace that vanishes (acquire then gets ENOSPC).
    svc = env.service()
    path = env.dir()
    sp, sd = make_pool(svc, path, spm=False)
    dom = svc.repository.find_domain(sd)
    assert dom.has_host_id(1)
    dom.release_host_id(1, wait=False)
    dom.acquire_host_id(1)
    time.sleep(3)  # Past the window a stale removal would end in.
    assert dom.has_host_id(1)
    dom.release_host_id(1)
