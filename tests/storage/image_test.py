"""Images: prepare (path and chain), copy, move, delete."""

from __future__ import annotations

import os
import subprocess

import pytest

from storage.storagefixtures import (MIB, check_task, concurrently,
                                     connect_localfs, create_domain,
                                     make_pool, new_id)
from storage.volume_test import create

from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.imageops import MoveOp
from vdsm.storage.volume import VolumeRef

pytestmark = pytest.mark.root


def write_pattern(path, fmt, byte, offset):
    subprocess.run(["qemu-io", "-f", fmt, "-c",
                    f"write -P {byte} {offset} 64k", path], check=True,
                   capture_output=True)


def read_pattern(path, fmt, byte, offset):
    p = subprocess.run(["qemu-io", "-f", fmt, "-c",
                        f"read -P {byte} {offset} 64k", path],
                       capture_output=True, text=True)
    return "Pattern verification failed" not in p.stdout and \
        p.returncode == 0


def chain_of_three(svc, sp, sd):
    img = new_id()
    vols = [create(svc, sp, sd, img, fmt=sc.COW_FORMAT)]
    for _ in range(2):
        vols.append(create(svc, sp, sd, img, fmt=sc.COW_FORMAT,
                           parent=vols[-1]))
    return img, vols


def test_prepare_returns_path_and_chain(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, vols = chain_of_three(svc, sp, sd)
    drive = svc.images.prepare(sd, img, vols[-1])
    # Paths name the image's run link, as upstream's do, not the mount.
    link = os.path.join(env.tmp_path, "run", "storage", sd, img)
    assert drive.path == os.path.join(link, vols[-1])
    assert os.path.realpath(link) == os.path.realpath(
        svc.repository.find_domain(sd).image_dir(img))
    assert drive.format == "qcow2"
    assert [c.vol_id for c in drive.chain] == vols
    assert [c.path for c in drive.chain] == [
        os.path.join(link, v) for v in vols]
    # qemu agrees about the chain.
    out = subprocess.check_output(
        ["qemu-img", "info", "-U", "--backing-chain", drive.path], text=True)
    for vol in vols:
        assert vol in out
    svc.images.teardown(sd, img, vols[-1])


def test_prepare_refuses_illegal_and_unknown(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, vols = chain_of_three(svc, sp, sd)
    dom = svc.repository.find_domain(sd)
    from vdsm.storage.volume import Volume
    Volume(dom, img, vols[0]).update(LEGALITY="ILLEGAL")
    with pytest.raises(errors.VolumeIsIllegal):
        svc.images.prepare(sd, img, vols[-1])
    with pytest.raises(errors.ImageDoesNotExistInDomain):
        svc.images.prepare(sd, new_id(), vols[-1])
    with pytest.raises(errors.InvalidParameter):
        svc.images.prepare(sd, img, "../" + vols[0])


def test_copy_data_into_existing_volume(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    src = create(svc, sp, sd, img, fmt=sc.COW_FORMAT)
    src_path = svc.images.volume_info(sd, img, src).path
    write_pattern(src_path, "qcow2", 0x5a, 1 * MIB)
    dst_img = new_id()
    dst = create(svc, sp, sd, dst_img, fmt=sc.RAW_FORMAT)
    job = new_id()
    check_task(svc, svc.images.copy_data(
        job, VolumeRef(sd, img, src),
        VolumeRef(sd, dst_img, dst)))
    info = svc.images.volume_info(sd, dst_img, dst)
    assert info.legality == "LEGAL"
    assert info.generation == 1
    assert read_pattern(info.path, "raw", 0x5a, 1 * MIB)


@pytest.mark.parametrize("op", [MoveOp.MOVE, MoveOp.COPY])
def test_move_image_keeps_chain_and_data(env, op):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    path2 = env.dir("xfs-4096")
    connect_localfs(svc, path2)
    sd2 = create_domain(svc, path2)
    svc.pools.attach_domain(sd2, sp)
    svc.pools.activate_domain(sd2, sp)
    img, vols = chain_of_three(svc, sp, sd)
    for i, vol in enumerate(vols):
        path = svc.images.volume_info(sd, img, vol).path
        write_pattern(path, "qcow2", 0x10 + i, i * MIB)
    check_task(svc, svc.images.move_image(sp, sd, sd2, img, op))
    if op is MoveOp.MOVE:
        assert img not in svc.repository.find_domain(sd).images()
    else:
        # A copy leaves the source image whole and usable.
        assert img in svc.repository.find_domain(sd).images()
        src = svc.images.prepare(sd, img, vols[-1])
        assert [c.vol_id for c in src.chain] == vols
        for i in range(3):
            assert read_pattern(src.path, "qcow2", 0x10 + i, i * MIB)
    drive = svc.images.prepare(sd2, img, vols[-1])
    assert [c.vol_id for c in drive.chain] == vols
    for i in range(3):
        assert read_pattern(drive.path, "qcow2", 0x10 + i, i * MIB)
    info = svc.images.volume_info(sd2, img, vols[1])
    assert info.voltype == "INTERNAL" and info.legality == "LEGAL"


def test_delete_image(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, vols = chain_of_three(svc, sp, sd)
    link = svc.images.prepare(sd, img, vols[-1]).chain[0].path
    check_task(svc, svc.images.delete_image(sd, sp, img))
    assert img not in svc.repository.find_domain(sd).images()
    assert not os.path.lexists(os.path.dirname(link))
    with pytest.raises(errors.ImageDoesNotExistInDomain):
        svc.images.delete_image(sd, sp, img)


def test_copy_data_bad_input(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    big = create(svc, sp, sd, img, size=20 * MIB)
    img2 = new_id()
    small = create(svc, sp, sd, img2, size=10 * MIB)
    with pytest.raises(errors.InvalidParameter):
        svc.images.copy_data(
            new_id(), VolumeRef(sd, img, big),
            VolumeRef(sd, img2, small))
    with pytest.raises(errors.VolumeDoesNotExist):
        svc.images.copy_data(
            new_id(), VolumeRef(sd, img, new_id()),
            VolumeRef(sd, img2, small))


def test_prepare_image_for_virt(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, vols = chain_of_three(svc, sp, sd)
    drive = svc.disks.prepare_image(sp, sd, img, vols[-1])
    assert drive.format == "qcow2" and drive.vol_id == vols[-1]
    assert [c.vol_id for c in drive.chain] == vols
    with pytest.raises(errors.StorageDomainNotInPool):
        svc.disks.prepare_image(sp, new_id(), img, vols[-1])
    with pytest.raises(errors.StoragePoolUnknown):
        svc.disks.prepare_image(new_id(), sd, img, vols[-1])
    svc.disks.teardown_image(sd, img, vols[-1])


def test_concurrent_prepares_of_one_image(env):
    """Two VMs sharing a disk may prepare it at once: every prepare
    answers, and the image's link ends up pointing at the image."""
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, vols = chain_of_three(svc, sp, sd)
    image_dir = svc.repository.find_domain(sd).image_dir(img)
    link = svc.links.image_path(sd, img)

    def prepare():
        for _ in range(10):
            # An outdated link (the domain mounted elsewhere before) is
            # replaced by every prepare.
            svc.links.link(sd, img, "/nonexistent")
            svc.images.prepare(sd, img, vols[-1])

    assert concurrently(*[prepare] * 4) == [None] * 4
    svc.images.prepare(sd, img, vols[-1])
    assert os.readlink(link) == image_dir
    assert sorted(os.listdir(os.path.dirname(link))) == [img]
