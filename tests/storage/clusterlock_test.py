"""sanlock failures reach clients as storage errors with their code."""

from __future__ import annotations

import pytest

from storage.storagefixtures import new_id
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
