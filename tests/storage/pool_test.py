"""Pools and the SPM role, with the real sanlock daemon."""

from __future__ import annotations

import pytest

from storage.storagefixtures import check_task, make_pool, new_id

from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.volume import VolumeSpec

pytestmark = pytest.mark.root


def test_spm_start_status_stop(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir(), spm=False)
    assert svc.spm_status(sp)["status"] == "Free"
    check_task(svc, svc.spm_start(sp))
    status = svc.spm_status(sp)
    assert status["status"] == "SPM" and status["id"] == 1
    assert status["lver"] >= 1
    md = svc.find_domain(sd).metadata()
    assert md["POOL_SPM_ID"] == "1"
    assert md["ROLE"] == "Master" and md["POOL_UUID"] == sp
    svc.spm_stop(sp)
    assert svc.spm_status(sp)["status"] == "Free"
    assert svc.find_domain(sd).metadata()["POOL_SPM_ID"] == "-1"


def test_spm_verbs_refuse_when_not_spm(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir(), spm=False)
    spec = VolumeSpec(new_id(), new_id(), 1024 ** 2, sc.RAW_FORMAT,
                      sc.SPARSE)
    with pytest.raises(errors.NotSPM) as e:
        svc.images.create_volume(sd, sp, spec)
    assert e.value.code == 654
    with pytest.raises(errors.NotSPM):
        svc.attach_domain(new_id(), sp)


def test_pool_info_and_connected_pools(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    assert svc.connected_pools() == [sp]
    info = svc.pool_info(sp)
    assert info["info"]["master_uuid"] == sd
    assert info["info"]["spm_id"] == 1
    assert info["dominfo"][sd]["status"] == "Active"
    assert info["dominfo"][sd]["disktotal"] > 0


def test_connect_with_wrong_master_version(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir(), spm=False)
    svc.disconnect_pool(sp, 1)
    with pytest.raises(errors.StoragePoolConnectionError):
        svc.connect_pool(sp, 1, sd, 7)
    assert svc.connected_pools() == []


def test_unknown_pool(make_service):
    svc = make_service()
    with pytest.raises(errors.StoragePoolUnknown) as e:
        svc.spm_status(new_id())
    assert e.value.code == 309


@pytest.mark.parametrize("name,version", [
    ("x" * 51, 1), ("", 1), ("a\0b", 1), ("a,b", 1), ("ok", -1)])
def test_create_bad_name_or_version(make_service, name, version):
    """Refused before any domain is looked at (or written)."""
    svc = make_service()
    sd = new_id()
    with pytest.raises(errors.InvalidParameter):
        svc.create_pool(new_id(), name, sd, version, [sd])
