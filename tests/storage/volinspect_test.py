"""Volume.getQemuImageInfo, Volume.measure and Volume.setLegality on real
volumes (loop-backed file systems, real qemu-img)."""

from __future__ import annotations

import pytest

from storage.image_test import write_pattern
from storage.storagefixtures import MIB, make_pool, new_id
from storage.volume_test import create, qemu_info

from vdsm.storage import constants as sc
from vdsm.storage import errors

pytestmark = pytest.mark.root


def chain(svc, sp, sd):
    img = new_id()
    base = create(svc, sp, sd, img, size=64 * MIB, fmt=sc.COW_FORMAT)
    top = create(svc, sp, sd, img, size=64 * MIB, fmt=sc.COW_FORMAT,
                 parent=base)
    for vol, offset in ((base, 0), (top, 32 * MIB)):
        path = svc.images.volume_info(sd, img, vol).path
        for i in range(0, 8 * MIB, 64 * 1024):
            write_pattern(path, "qcow2", 0x21, offset + i)
    return img, base, top


def test_qemu_image_info(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, base, top = chain(svc, sp, sd)
    info = svc.images.qemu_image_info(sd, img, top)
    real = qemu_info(svc.images.volume_info(sd, img, top).path)
    assert (info.format, info.virtual_size) == ("qcow2", 64 * MIB)
    assert info.virtual_size == real["virtual-size"]
    assert info.cluster_size == real["cluster-size"] == 65536
    assert info.compat == "1.1"
    assert info.backing_file == base


def test_qemu_image_info_of_raw(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    vol = create(svc, sp, sd, img, size=10 * MIB)
    info = svc.images.qemu_image_info(sd, img, vol)
    assert (info.format, info.virtual_size) == ("raw", 10 * MIB)
    assert (info.cluster_size, info.compat, info.backing_file) == (
        None, None, None)


def test_qemu_image_info_bad_input(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, base, top = chain(svc, sp, sd)
    with pytest.raises(errors.VolumeDoesNotExist):
        svc.images.qemu_image_info(sd, img, new_id())
    with pytest.raises(errors.ImageDoesNotExistInDomain):
        svc.images.qemu_image_info(sd, new_id(), top)
    with pytest.raises(errors.StorageDomainDoesNotExist):
        svc.images.qemu_image_info(new_id(), img, top)


def test_measure(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, base, top = chain(svc, sp, sd)
    whole = svc.images.measure(sd, img, top, sc.COW_FORMAT)
    alone = svc.images.measure(sd, img, top, sc.COW_FORMAT, backing=False)
    sub = svc.images.measure(sd, img, top, sc.COW_FORMAT, base_id=base)
    # 8 MiB written in each layer: the top alone needs about 8 MiB, the
    # chain about 16 MiB (plus qcow2 metadata).
    assert 8 * MIB <= alone.required < 9 * MIB
    assert 16 * MIB <= whole.required < 17 * MIB
    assert sub.required == whole.required   # two layers: the same data
    raw = svc.images.measure(sd, img, top, sc.RAW_FORMAT)
    assert raw.required == raw.fully_allocated == 64 * MIB
    assert whole.fully_allocated > 64 * MIB


def test_measure_bad_input(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, base, top = chain(svc, sp, sd)
    with pytest.raises(errors.InvalidParameter):
        svc.images.measure(sd, img, top, sc.COW_FORMAT, base_id=new_id())
    with pytest.raises(errors.InvalidParameter):
        # The base has no parent.
        svc.images.measure(sd, img, base, sc.COW_FORMAT, base_id=top)
    with pytest.raises(errors.InvalidParameter):
        svc.images.measure(sd, img, top, 7)
    with pytest.raises(errors.VolumeDoesNotExist):
        svc.images.measure(sd, img, new_id(), sc.COW_FORMAT)


def test_set_legality(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, base, top = chain(svc, sp, sd)
    svc.images.set_legality(sd, sp, img, base, sc.ILLEGAL)
    assert svc.images.volume_info(sd, img, base).legality == "ILLEGAL"
    with pytest.raises(errors.VolumeIsIllegal):
        svc.images.prepare(sd, img, top)
    svc.images.set_legality(sd, sp, img, base, sc.LEGAL)
    assert svc.images.prepare(sd, img, top).vol_id == top


def test_set_legality_bad_input(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, base, top = chain(svc, sp, sd)
    meta = svc.images.volume_info(sd, img, top).path + ".meta"
    before = open(meta).read()
    with pytest.raises(errors.InvalidParameter):
        svc.images.set_legality(sd, sp, img, top, "BROKEN")
    with pytest.raises(errors.VolumeDoesNotExist):
        svc.images.set_legality(sd, sp, img, new_id(), sc.ILLEGAL)
    with pytest.raises(errors.ImageDoesNotExistInDomain):
        svc.images.set_legality(sd, sp, new_id(), top, sc.ILLEGAL)
    svc.pools.spm_stop(sp)
    with pytest.raises(errors.NotSPM):
        svc.images.set_legality(sd, sp, img, top, sc.ILLEGAL)
    assert open(meta).read() == before
