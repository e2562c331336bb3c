"""File storage domains: layout, metadata format, membership in a pool."""

from __future__ import annotations

import hashlib
import time
import os

import pytest

from storage.storagefixtures import (connect_localfs, create_domain,
                                     make_pool, new_id)

from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.domain import DomainSpec

pytestmark = pytest.mark.root


def test_create_layout_and_sealed_metadata(env):
    svc = env.service()
    path = env.dir("xfs-4096")
    connect_localfs(svc, path)
    sd = create_domain(svc, path)
    dom_dir = os.path.join(path, sd)
    names = sorted(os.listdir(os.path.join(dom_dir, "dom_md")))
    assert names == sorted(sc.SPECIAL_VOLUMES)
    assert os.path.isdir(os.path.join(dom_dir, "images"))
    lines = open(os.path.join(dom_dir, "dom_md", "metadata")).read() \
        .splitlines()
    md = dict(line.split("=", 1) for line in lines)
    for key in ("CLASS", "DESCRIPTION", "IOOPTIMEOUTSEC", "LEASERETRIES",
                "LEASETIMESEC", "LOCKPOLICY", "LOCKRENEWALINTERVALSEC",
                "POOL_UUID", "REMOTE_PATH", "ROLE", "SDUUID", "TYPE",
                "VERSION", "_SHA_CKSUM"):
        assert key in md
    assert md["SDUUID"] == sd and md["TYPE"] == "LOCALFS"
    assert md["CLASS"] == "Data" and md["ROLE"] == "Regular"
    assert md["BLOCK_SIZE"] == "4096"
    # The seal is upstream's: sha1 over the sorted KEY=VALUE lines.
    body = [line for line in lines if not line.startswith("_SHA_CKSUM=")]
    assert body == sorted(body)
    assert md["_SHA_CKSUM"] == hashlib.sha1(
        "".join(body).encode()).hexdigest()
    info = svc.domains.info(sd)
    assert info.name == "test-domain" and info.pools == []
    stats = svc.domains.stats(sd)
    assert 0 < stats.space.free <= stats.space.total
    assert svc.domains.images(sd) == []
    assert svc.domains.list() == [sd]


def test_broken_seal_is_an_access_error(env):
    svc = env.service()
    path = env.dir()
    connect_localfs(svc, path)
    sd = create_domain(svc, path)
    md_path = os.path.join(path, sd, "dom_md", "metadata")
    text = open(md_path).read().replace("test-domain", "evil-domain")
    with open(md_path, "w") as f:
        f.write(text)
    with pytest.raises(errors.StorageDomainAccessError):
        svc.domains.info(sd)


def test_create_bad_input(env):
    svc = env.service()
    path = env.dir()
    connect_localfs(svc, path)
    sd = create_domain(svc, path)
    with pytest.raises(errors.StorageDomainAlreadyExists):
        create_domain(svc, path, sd_uuid=sd)
    with pytest.raises(errors.StorageDomainFSNotMounted):
        create_domain(svc, "/not/connected")
    for bad in ("", ".", ".."):
        # Not mnt/ itself, nor the repository above it.
        with pytest.raises(errors.StorageDomainFSNotMounted):
            create_domain(svc, bad)
    with pytest.raises(errors.InvalidParameter):
        create_domain(svc, path, sd_uuid="../" + sd)
    with pytest.raises(errors.InvalidParameter):
        svc.domains.create(DomainSpec(new_id(), "x", sc.ISCSI,
                                     remote_path=path))
    with pytest.raises(errors.InvalidParameter):
        svc.domains.create(DomainSpec(new_id(), "x", sc.LOCALFS, version=3,
                                     remote_path=path))
    with pytest.raises(errors.StorageDomainDoesNotExist):
        svc.domains.info(new_id())
    assert svc.domains.list() == [sd]


def test_attach_activate_deactivate_detach(env):
    svc = env.service()
    sp, master = make_pool(svc, env.dir())
    path2 = env.dir("xfs-512")
    connect_localfs(svc, path2)
    sd2 = create_domain(svc, path2)
    svc.pools.attach_domain(sd2, sp)
    with pytest.raises(errors.StorageDomainAlreadyAttached):
        svc.pools.attach_domain(sd2, sp)
    assert svc.pools.info(sp).domains[sd2].status == "Attached"
    assert svc.domains.info(sd2).pools == [sp]
    svc.pools.activate_domain(sd2, sp)
    assert svc.pools.info(sp).domains[sd2].status == "Active"
    assert sd2 in svc.monitor.monitored()
    with pytest.raises(errors.InvalidParameter):
        svc.pools.detach_domain(sd2, sp)
    with pytest.raises(errors.InvalidParameter):
        svc.pools.deactivate_domain(master, sp)
    svc.pools.deactivate_domain(sd2, sp)
    assert sd2 not in svc.monitor.monitored()
    svc.pools.detach_domain(sd2, sp)
    assert sd2 not in svc.pools.info(sp).domains
    assert svc.domains.info(sd2).pools == []
    assert sorted(svc.domains.list(sp_uuid=sp)) == [master]


def test_deactivate_releases_host_id(env):
    svc = env.service()
    sp, _ = make_pool(svc, env.dir())
    path2 = env.dir("xfs-512")
    connect_localfs(svc, path2)
    sd2 = create_domain(svc, path2)
    svc.pools.attach_domain(sd2, sp)
    svc.pools.activate_domain(sd2, sp)
    dom = svc.repository.find_domain(sd2)
    deadline = time.monotonic() + 20
    while not dom.has_host_id(1):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    svc.pools.deactivate_domain(sd2, sp)
    while dom.has_host_id(1):
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_format_removes_the_domain(env):
    svc = env.service()
    path = env.dir()
    connect_localfs(svc, path)
    sd, other = create_domain(svc, path), create_domain(svc, path)
    svc.domains.format(sd)
    assert os.listdir(path) == [other]
    assert svc.domains.list() == [other]
    with pytest.raises(errors.StorageDomainDoesNotExist):
        svc.repository.find_domain(sd)


def test_format_domain_with_broken_metadata(env):
    """As upstream: a domain whose metadata is unreadable (here, its seal
    broken) can still be formatted."""
    svc = env.service()
    path = env.dir()
    connect_localfs(svc, path)
    sd = create_domain(svc, path)
    md_path = os.path.join(path, sd, "dom_md", "metadata")
    text = open(md_path).read().replace("POOL_UUID=", "POOL_UUID=" + new_id())
    with open(md_path, "w") as f:
        f.write(text)
    with pytest.raises(errors.StorageDomainAccessError):
        svc.domains.info(sd)
    svc.domains.format(sd)
    assert os.listdir(path) == []


def test_format_attached_domain(env):
    svc = env.service()
    path = env.dir()
    sp, sd = make_pool(svc, path, spm=False)
    with pytest.raises(errors.CannotFormatStorageDomainInConnectedPool):
        svc.domains.format(sd, auto_detach=True)
    svc.pools.disconnect(sp, 1)
    with pytest.raises(errors.CannotFormatAttachedStorageDomain) as e:
        svc.domains.format(sd)
    assert e.value.code == 391
    assert os.listdir(path) == [sd]
    svc.domains.format(sd, auto_detach=True)
    assert os.listdir(path) == []


def _wait_gone(path, timeout=15):
    deadline = time.monotonic() + timeout
    while os.path.lexists(path):
        assert time.monotonic() < deadline, f"{path} still there"
        time.sleep(0.05)


def test_format_leftovers_swept_at_connect_and_start(env):
    """A format whose rmtree failed leaves a hidden .remove-* tree; the
    next connect of the mount (or the next start) removes it, in the
    background, and nothing else."""
    path = env.dir()

    def leftover():
        trash = os.path.join(path, f".remove-{new_id()}-0badf00d")
        os.makedirs(os.path.join(trash, "images", "img"))
        with open(os.path.join(trash, "images", "img", "vol"), "w") as f:
            f.write("data")
        return trash

    keep = [os.path.join(path, name) for name in (".remove", "images-x")]
    for p in keep:
        os.mkdir(p)
    svc = env.service()
    trash = leftover()
    connect_localfs(svc, path)
    _wait_gone(trash)
    sd = create_domain(svc, path)
    # A restarted vdsmd restores the connection and sweeps too.
    trash = leftover()
    svc2 = env.service()
    svc2.start()
    _wait_gone(trash)
    assert all(os.path.isdir(p) for p in keep)
    assert svc2.repository.find_domain(sd).metadata()["SDUUID"] == sd
