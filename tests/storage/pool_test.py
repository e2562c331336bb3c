"""Pools and the SPM role, with the real sanlock daemon."""

from __future__ import annotations

import threading

import pytest

from storage.storagefixtures import (check_task, concurrently,
                                     create_domain, make_pool, new_id,
                                     wait_task)

from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.pool import POOL_KEYS, SpmRole
from vdsm.storage.volume import VolumeSpec

pytestmark = pytest.mark.root


def test_spm_start_status_stop(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir(), spm=False)
    assert svc.pools.spm_status(sp).role == SpmRole.FREE
    check_task(svc, svc.pools.spm_start(sp))
    status = svc.pools.spm_status(sp)
    assert status.role == SpmRole.SPM and status.host_id == 1
    assert status.lver >= 1
    md = svc.repository.find_domain(sd).metadata()
    assert md["POOL_SPM_ID"] == "1"
    assert md["ROLE"] == "Master" and md["POOL_UUID"] == sp
    svc.pools.spm_stop(sp)
    assert svc.pools.spm_status(sp).role == SpmRole.FREE
    assert svc.repository.find_domain(sd).metadata()["POOL_SPM_ID"] == "-1"


def test_spm_verbs_refuse_when_not_spm(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir(), spm=False)
    spec = VolumeSpec(new_id(), new_id(), 1024 ** 2, sc.RAW_FORMAT,
                      sc.SPARSE)
    with pytest.raises(errors.NotSPM) as e:
        svc.images.create_volume(sd, sp, spec)
    assert e.value.code == 654
    with pytest.raises(errors.NotSPM):
        svc.pools.attach_domain(new_id(), sp)


def test_pool_info_and_connected_pools(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    assert svc.pools.connected() == [sp]
    info = svc.pools.info(sp)
    assert info.master_uuid == sd
    assert info.spm.host_id == 1
    assert info.domains[sd].status == "Active"
    assert info.domains[sd].space.total > 0


def test_connect_with_wrong_master_version(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir(), spm=False)
    svc.pools.disconnect(sp, 1)
    with pytest.raises(errors.StoragePoolWrongMaster) as e:
        svc.pools.connect(sp, 1, sd, 7)
    assert e.value.code == 324
    assert svc.pools.connected() == []


def test_unknown_pool(make_service):
    svc = make_service()
    with pytest.raises(errors.StoragePoolUnknown) as e:
        svc.pools.spm_status(new_id())
    assert e.value.code == 309


@pytest.mark.parametrize("name,version", [
    ("x" * 51, 1), ("", 1), ("a\0b", 1), ("a,b", 1), ("ok", -1)])
def test_create_bad_name_or_version(make_service, name, version):
    """Refused before any domain is looked at (or written)."""
    svc = make_service()
    sd = new_id()
    with pytest.raises(errors.InvalidParameter):
        svc.pools.create(new_id(), name, sd, version, [sd])


def test_destroy_frees_every_domain(env):
    svc = env.service()
    path = env.dir()
    sp, sd = make_pool(svc, path)
    sd2, sd3 = create_domain(svc, path), create_domain(svc, path)
    for other in (sd2, sd3):
        svc.pools.attach_domain(other, sp)
    svc.pools.activate_domain(sd2, sp)
    assert sorted(svc.monitor.monitored()) == sorted([sd, sd2])
    with pytest.raises(errors.HostIdMismatch) as e:
        svc.pools.destroy(sp, 2)
    assert e.value.code == 700
    assert svc.repository.find_domain(sd2).metadata()["POOL_UUID"] == sp

    svc.pools.destroy(sp, 1)
    assert svc.pools.connected() == []
    assert svc.monitor.monitored() == []
    md = svc.repository.find_domain(sd).metadata()
    assert not set(POOL_KEYS) & set(md)
    assert md["POOL_UUID"] == "" and md["ROLE"] == sc.REGULAR
    for other in (sd2, sd3):
        assert svc.repository.find_domain(other).metadata()["POOL_UUID"] == ""
    # The SPM lease is free: a new pool over the old master gets it.
    sp2 = new_id()
    svc.pools.create(sp2, "again", sd, 1, [sd, sd2])
    svc.pools.connect(sp2, 1, sd, 1)
    check_task(svc, svc.pools.spm_start(sp2))
    assert svc.pools.spm_status(sp2).role == SpmRole.SPM


def test_destroy_needs_spm(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir(), spm=False)
    with pytest.raises(errors.NotSPM):
        svc.pools.destroy(sp, 1)
    assert svc.pools.connected() == [sp]
    assert svc.repository.find_domain(sd).metadata()["POOL_UUID"] == sp


def test_destroy_refused_while_tasks_run(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    release = threading.Event()
    task_id = svc.tasks.start("Test.slow", lambda task: release.wait(30))
    try:
        with pytest.raises(errors.TaskNotFinished) as e:
            svc.pools.destroy(sp, 1)
        assert e.value.code == 403
        assert svc.pools.connected() == [sp]
        assert svc.repository.find_domain(sd).metadata()["ROLE"] == \
            sc.MASTER_ROLE
    finally:
        release.set()
    wait_task(svc, task_id)
    svc.pools.destroy(sp, 1)
    assert svc.repository.find_domain(sd).metadata()["ROLE"] == sc.REGULAR


def test_format_and_attach_of_one_domain_race_safely(env):
    """Concurrent attach and format of one domain: one wins, whole.

    Either the domain is attached (and format refused with 391 or 392) or
    it is gone (and attach failed): never a pool naming a removed domain.
    """
    svc = env.service()
    path = env.dir()
    sp, _ = make_pool(svc, path)
    for _ in range(8):
        sd = create_domain(svc, path)
        attach, fmt = concurrently(lambda: svc.pools.attach_domain(sd, sp),
                                   lambda: svc.domains.format(sd))
        attached = sd in svc.pools.get(sp).domains()
        exists = svc.repository.domain_exists(sd)
        if attached:
            assert exists
            assert attach is None
            assert isinstance(fmt, (
                errors.CannotFormatAttachedStorageDomain,
                errors.CannotFormatStorageDomainInConnectedPool))
            svc.pools.detach_domain(sd, sp)
            svc.domains.format(sd)
        else:
            assert not exists and fmt is None
            # Refused with a storage error (not a crash half-way).
            assert isinstance(attach, errors.StorageError), attach


def test_concurrent_creates_of_one_domain_make_one(env):
    svc = env.service()
    path = env.dir()
    make_pool(svc, path)
    for _ in range(5):
        sd = new_id()
        outcome = concurrently(*[lambda: create_domain(svc, path, sd)] * 3)
        errs = [e for e in outcome if e is not None]
        assert len(errs) == 2
        assert all(isinstance(e, errors.StorageDomainAlreadyExists)
                   for e in errs), errs
        assert svc.repository.find_domain(sd).metadata()["SDUUID"] == sd


def _md(svc, sd):
    return svc.repository.find_domain(sd).metadata()


def _two_domain_pool(env):
    svc = env.service()
    path = env.dir()
    sp, sd = make_pool(svc, path)
    sd2 = create_domain(svc, path)
    svc.pools.attach_domain(sd2, sp)
    svc.pools.activate_domain(sd2, sp)
    return svc, sp, sd, sd2


def test_switch_master_moves_role_and_tasks(env):
    svc, sp, sd, sd2 = _two_domain_pool(env)
    before = _md(svc, sd)
    bad = [((sd, sd2, 1), errors.StoragePoolWrongMaster),   # not above
           ((sd2, sd, 2), errors.StoragePoolWrongMaster),   # old not master
           ((sd, new_id(), 2), errors.StorageDomainNotInPool),
           ((sd, sd, 2), errors.InvalidParameter)]
    for args, error in bad:
        with pytest.raises(error):
            svc.pools.switch_master(sp, *args)
    assert _md(svc, sd) == before
    assert _md(svc, sd2)["ROLE"] == sc.REGULAR

    check_task(svc, svc.pools.switch_master(sp, sd, sd2, 2))
    new, old = _md(svc, sd2), _md(svc, sd)
    assert new["ROLE"] == sc.MASTER_ROLE and new["MASTER_VERSION"] == "2"
    assert new["POOL_DOMAINS"] == before["POOL_DOMAINS"]
    assert new["POOL_SPM_ID"] == "1"
    assert old["ROLE"] == sc.REGULAR and old["POOL_UUID"] == sp
    assert not set(POOL_KEYS) & set(old)
    info = svc.pools.info(sp)
    assert info.master_uuid == sd2 and info.master_version == 2
    assert svc.pools.spm_status(sp).role == SpmRole.SPM
    # The old master's version is refused, the new one refreshes.
    with pytest.raises(errors.StoragePoolWrongMaster):
        svc.pools.refresh(sp, sd, 1)
    svc.pools.refresh(sp, sd2, 2)
    # SPM tasks still work, recorded on the new master.
    svc.pools.spm_stop(sp)
    check_task(svc, svc.pools.spm_start(sp))
    assert svc.pools.spm_status(sp).role == SpmRole.SPM


def test_refresh_bad_input_changes_nothing(env):
    svc, sp, sd, sd2 = _two_domain_pool(env)
    before = (_md(svc, sd), _md(svc, sd2))
    cases = [((sd, 2), 324), ((sd2, 1), 324), ((new_id(), 1), 304)]
    for args, code in cases:
        with pytest.raises(errors.StorageError) as e:
            svc.pools.refresh(sp, *args)
        assert e.value.code == code
    with pytest.raises(errors.StoragePoolUnknown):
        svc.pools.refresh(new_id(), sd, 1)
    assert (_md(svc, sd), _md(svc, sd2)) == before
    assert svc.pools.info(sp).master_uuid == sd


def test_reconstruct_master_then_old_master_demoted(env):
    svc, sp, sd, sd2 = _two_domain_pool(env)
    with pytest.raises(errors.StoragePoolConnected) as e:
        svc.pools.reconstruct_master(sp, 1, "p", sd2, 5,
                                     {sd: "active", sd2: "active"})
    assert e.value.code == 325
    svc.pools.spm_stop(sp)
    svc.pools.disconnect(sp, 1)
    before = _md(svc, sd2)
    doms = {sd: "attached", sd2: "active"}
    bad = [((0, sd2, doms), errors.AcquireHostIdFailure),
           ((2001, sd2, doms), errors.AcquireHostIdFailure),
           ((1, sd2, {sd: "active"}), errors.InvalidParameter),
           ((1, sd2, {sd2: "bogus"}), errors.InvalidParameter),
           ((1, sd, doms), errors.InvalidParameter)]   # master not active
    for (host_id, master, dd), error in bad:
        with pytest.raises(error):
            svc.pools.reconstruct_master(sp, host_id, "p", master, 5, dd)
    assert _md(svc, sd2) == before

    svc.pools.reconstruct_master(sp, 1, "rebuilt", sd2, 5, doms)
    md = _md(svc, sd2)
    assert md["ROLE"] == sc.MASTER_ROLE and md["MASTER_VERSION"] == "5"
    assert md["POOL_UUID"] == sp and md["POOL_DESCRIPTION"] == "rebuilt"
    assert md["POOL_DOMAINS"] == ",".join(
        f"{k}:{v}" for k, v in sorted({sd: "Attached",
                                       sd2: "Active"}.items()))
    # The lost master came back still saying Master (version 1); the
    # engine connects with the new master and version.
    assert _md(svc, sd)["ROLE"] == sc.MASTER_ROLE
    with pytest.raises(errors.StoragePoolWrongMaster):
        svc.pools.connect(sp, 1, sd2, 1)
    svc.pools.connect(sp, 1, sd2, 5)
    check_task(svc, svc.pools.spm_start(sp))
    svc.pools.activate_domain(sd, sp)
    old = _md(svc, sd)
    assert old["ROLE"] == sc.REGULAR and old["POOL_UUID"] == sp
    assert not set(POOL_KEYS) & set(old)
    assert svc.pools.info(sp).master_uuid == sd2


def test_connect_bad_host_id_and_master(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir(), spm=False)
    svc.pools.disconnect(sp, 1)
    for host_id in (0, 2001):
        with pytest.raises(errors.AcquireHostIdFailure) as e:
            svc.pools.connect(sp, host_id, sd, 1)
        assert e.value.code == 661
    with pytest.raises(errors.StoragePoolMasterNotFound) as e:
        svc.pools.connect(sp, 1, new_id(), 1)
    assert e.value.code == 304
    assert svc.pools.connected() == []
