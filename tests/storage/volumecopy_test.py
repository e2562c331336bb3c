"""Volume.copy on real volumes: a chain collapsed into one new volume
(a template from a disk, a disk from a template), on the same domain or
another one of the pool."""

from __future__ import annotations

import os
import subprocess

import pytest

from storage.api_test import (create_volume, error_code, ok, overrides,
                              setup_pool, teardown_pool, vol_args)
from storage.image_test import chain_of_three, read_pattern, write_pattern
from storage.storagefixtures import (MIB, check_task, connect_localfs,
                                     create_domain, make_pool, new_id,
                                     wait_task)
from storage.volume_test import create, qemu_info

from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.volume import VolumeRef
from vdsm.storage.volumecopy import CopyRequest

pytestmark = pytest.mark.root


def request(dst_img=None, dst_vol=None, fmt=sc.COW_FORMAT,
            prealloc=sc.SPARSE, shared=False, force=False, desc="copy"):
    return CopyRequest(dst_img=dst_img or new_id(),
                       dst_vol=dst_vol or new_id(), description=desc,
                       fmt=fmt, prealloc=prealloc, shared=shared,
                       force=force)


def second_domain(env, svc, sp):
    path = env.dir("xfs-4096")
    connect_localfs(svc, path)
    sd2 = create_domain(svc, path)
    svc.pools.attach_domain(sd2, sp)
    svc.pools.activate_domain(sd2, sp)
    return sd2


def test_copy_collapses_the_chain(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, vols = chain_of_three(svc, sp, sd)
    for i, vol in enumerate(vols):
        path = svc.images.volume_info(sd, img, vol).path
        write_pattern(path, "qcow2", 0x10 + i, i * MIB)
    req = request(fmt=sc.RAW_FORMAT, prealloc=sc.PREALLOCATED,
                  desc="from a disk")
    check_task(svc, svc.images.copy_volume(
        sp, VolumeRef(sd, img, vols[-1]), sd, req))
    info = svc.images.volume_info(sd, req.dst_img, req.dst_vol)
    assert (info.legality, info.voltype, info.parent) == (
        "LEGAL", "LEAF", sc.BLANK_UUID)
    assert (info.format, info.type, info.description) == (
        "RAW", "PREALLOCATED", "from a disk")
    assert info.capacity == 10 * MIB
    qi = qemu_info(info.path)
    assert qi["format"] == "raw" and "backing-filename" not in qi
    for i in range(3):
        assert read_pattern(info.path, "raw", 0x10 + i, i * MIB)
    # The source is as it was.
    drive = svc.images.prepare(sd, img, vols[-1])
    assert [c.vol_id for c in drive.chain] == vols
    assert all(svc.images.volume_info(sd, img, v).legality == "LEGAL"
               for v in vols)


def test_copy_template_to_another_domain(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    sd2 = second_domain(env, svc, sp)
    img = new_id()
    vol = create(svc, sp, sd, img, size=32 * MIB, fmt=sc.COW_FORMAT)
    src = svc.images.volume_info(sd, img, vol).path
    subprocess.run(["qemu-io", "-f", "qcow2", "-c",
                    f"write -P 0x77 {8 * MIB} {4 * MIB}", src], check=True,
                   capture_output=True)
    req = request(shared=True, desc="template")
    task = svc.images.copy_volume(sp, VolumeRef(sd, img, vol), sd2, req)
    check_task(svc, task)
    info = svc.images.volume_info(sd2, req.dst_img, req.dst_vol)
    assert (info.voltype, info.format, info.legality) == (
        "SHARED", "COW", "LEGAL")
    assert info.domain == sd2
    subprocess.run(["qemu-img", "compare", "-U", "-f", "qcow2", "-F",
                    "qcow2", src, info.path], check=True,
                   capture_output=True)
    assert req.dst_img not in svc.repository.find_domain(sd).images()


def test_copy_force_replaces_the_destination(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    vol = create(svc, sp, sd, img, fmt=sc.COW_FORMAT)
    write_pattern(svc.images.volume_info(sd, img, vol).path, "qcow2", 0x44,
                  0)
    dst_img = new_id()
    old = create(svc, sp, sd, dst_img, size=20 * MIB)
    dst_vol = create(svc, sp, sd, dst_img, fmt=sc.COW_FORMAT, parent=old)
    with pytest.raises(errors.VolumeAlreadyExists):
        svc.images.copy_volume(sp, VolumeRef(sd, img, vol), sd,
                               request(dst_img, dst_vol))
    # Nor a new volume into the existing image.
    with pytest.raises(errors.VolumeAlreadyExists):
        svc.images.copy_volume(sp, VolumeRef(sd, img, vol), sd,
                               request(dst_img))
    check_task(svc, svc.images.copy_volume(
        sp, VolumeRef(sd, img, vol), sd,
        request(dst_img, dst_vol, force=True)))
    dom = svc.repository.find_domain(sd)
    assert sorted(os.listdir(dom.image_dir(dst_img))) == sorted(
        dst_vol + ext for ext in ("", ".meta", ".lease"))
    info = svc.images.volume_info(sd, dst_img, dst_vol)
    assert (info.parent, info.capacity) == (sc.BLANK_UUID, 10 * MIB)
    assert read_pattern(info.path, "qcow2", 0x44, 0)


def test_copy_bad_input_changes_nothing(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, vols = chain_of_three(svc, sp, sd)
    dom = svc.repository.find_domain(sd)
    src = VolumeRef(sd, img, vols[-1])
    images = sorted(dom.images())
    with pytest.raises(errors.InvalidParameter):
        svc.images.copy_volume(sp, src, sd, request(dst_img=img))
    with pytest.raises(errors.VolumeDoesNotExist):
        svc.images.copy_volume(sp, VolumeRef(sd, img, new_id()), sd,
                               request())
    with pytest.raises(errors.StorageDomainNotInPool):
        svc.images.copy_volume(sp, src, new_id(), request())
    with pytest.raises(errors.InvalidParameter):
        svc.images.copy_volume(sp, src, sd, request(fmt=3))
    svc.images.set_legality(sd, sp, img, vols[0], sc.ILLEGAL)
    with pytest.raises(errors.ImageIsNotLegalChain) as e:
        svc.images.copy_volume(sp, src, sd, request())
    assert e.value.code == 262
    svc.images.set_legality(sd, sp, img, vols[0], sc.LEGAL)
    svc.pools.spm_stop(sp)
    with pytest.raises(errors.NotSPM):
        svc.images.copy_volume(sp, src, sd, request())
    assert sorted(dom.images()) == images


def test_copy_stopped_leaves_no_volume(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    vol = create(svc, sp, sd, img, size=512 * MIB, prealloc=sc.PREALLOCATED)
    path = svc.images.volume_info(sd, img, vol).path
    with open("/dev/urandom", "rb") as rnd, open(path, "r+b") as out:
        for _ in range(512):
            out.write(rnd.read(MIB))
    req = request()
    task = svc.images.copy_volume(sp, VolumeRef(sd, img, vol), sd, req)
    svc.tasks.stop(task)
    status = wait_task(svc, task)
    assert (status.result, status.code) == ("cleanSuccess", 411)
    assert req.dst_img not in svc.repository.find_domain(sd).images()


def test_volume_copy_over_the_wire(env, vdsmd_factory):
    vdsmd = vdsmd_factory(overrides(env))
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, env.dir())
        img, vol = new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img, vol, fmt=4, prealloc=2,
                              size=str(16 * MIB)))
        dst_img, dst_vol = new_id(), new_id()
        # As CopyImageVDSCommand sends it: ints, booleans as strings.
        args = dict(vol_args(sp, sd, img, vol), dstSdUUID=sc.BLANK_UUID,
                    dstImgUUID=dst_img, dstVolUUID=dst_vol, desc="tmpl",
                    volType=6, volFormat=5, preallocate=2,
                    postZero="false", force="false")
        task = cli.Volume.copy(**args)
        ok(cli, task)
        info = cli.Volume.getInfo(**vol_args(sp, sd, dst_img, dst_vol))
        assert (info["voltype"], info["format"], info["legality"]) == (
            "SHARED", "RAW", "LEGAL")
        assert error_code(cli.Volume.copy, **args) == 212
        assert error_code(cli.Volume.copy, **{**args,
                                              "dstImgUUID": img}) == 1000
        teardown_pool(cli, sp)
