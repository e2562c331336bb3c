"""Volumes on real file systems with real qemu-img and sanlock."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from storage.storagefixtures import (MIB, check_task, make_pool, new_id,
                                     wait_task)

from vdsm.storage import constants as sc
from vdsm.storage import errors, qemuimg
from vdsm.storage.volume import VolumeSpec

pytestmark = pytest.mark.root


def qemu_info(path):
    return json.loads(subprocess.check_output(
        ["qemu-img", "info", "-U", "--output", "json", path]))


def create(svc, sp, sd, img, size=10 * MIB, fmt=sc.RAW_FORMAT,
           prealloc=sc.SPARSE, parent=sc.BLANK_UUID, vol=None):
    vol = vol or new_id()
    spec = VolumeSpec(img, vol, size, fmt, prealloc, parent_uuid=parent,
                      description="test")
    check_task(svc, svc.images.create_volume(sd, sp, spec))
    return vol


@pytest.mark.parametrize("fs", [
    "ext4-512",
    pytest.param("ext4-4096", marks=pytest.mark.slow),
    pytest.param("xfs-512", marks=pytest.mark.slow),
    "xfs-4096",
])
def test_create_volumes_and_snapshot(env, fs):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir(fs))
    assert svc.repository.find_domain(sd).block_size == int(fs.split("-")[1])
    img = new_id()
    base = create(svc, sp, sd, img, fmt=sc.COW_FORMAT)
    top = create(svc, sp, sd, img, fmt=sc.COW_FORMAT, parent=base)
    base_info = svc.images.volume_info(sd, img, base)
    top_info = svc.images.volume_info(sd, img, top)
    assert base_info.voltype == "INTERNAL"
    assert top_info.voltype == "LEAF"
    assert top_info.parent == base
    assert top_info.legality == "LEGAL"
    qi = qemu_info(top_info.path)
    assert qi["format"] == "qcow2"
    assert qi["virtual-size"] == 10 * MIB
    assert qi["backing-filename"] == base
    md = open(top_info.path + ".meta").read()
    for key in ("CAP=10485760", "FORMAT=COW", "LEGALITY=LEGAL",
                f"PUUID={base}", "VOLTYPE=LEAF", "TYPE=SPARSE",
                f"DOMAIN={sd}", f"IMAGE={img}", "GEN=0"):
        assert key + "\n" in md
    assert md.endswith("EOF\n")


def test_legal_sequence_and_bitmaps(env):
    """Volume.create's legal, sequence, addBitmaps and bitmap, as
    upstream: an illegal volume stays illegal, SEQ is in the metadata,
    bitmap adds one empty bitmap, addBitmaps copies the parent's names."""
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, base, top, odd = new_id(), new_id(), new_id(), new_id()
    mark = new_id()
    spec = VolumeSpec(img, base, 10 * MIB, sc.COW_FORMAT, sc.SPARSE,
                      sequence=7, bitmap=mark)
    check_task(svc, svc.images.create_volume(sd, sp, spec))
    info = svc.images.volume_info(sd, img, base)
    assert info.legality == "LEGAL"
    assert "SEQ=7" in open(info.path + ".meta").read().split("\n")

    def bitmaps(path):
        data = qemu_info(path)["format-specific"]["data"]
        return [b["name"] for b in data.get("bitmaps", [])]
    assert bitmaps(info.path) == [mark]
    spec = VolumeSpec(img, top, 10 * MIB, sc.COW_FORMAT, sc.SPARSE,
                      parent_uuid=base, add_bitmaps=True, legal=False,
                      sequence=8)
    check_task(svc, svc.images.create_volume(sd, sp, spec))
    info = svc.images.volume_info(sd, img, top)
    assert bitmaps(info.path) == [mark]
    assert info.legality == "ILLEGAL"
    # Without addBitmaps a snapshot has none.
    other = new_id()
    check_task(svc, svc.images.create_volume(sd, sp, VolumeSpec(
        other, odd, 10 * MIB, sc.COW_FORMAT, sc.SPARSE)))
    assert bitmaps(svc.images.volume_info(sd, other, odd).path) == []


def bitmap_flags(path):
    data = qemu_info(path)["format-specific"]["data"]
    return {b["name"]: (b["granularity"], b["flags"])
            for b in data.get("bitmaps", [])}


def test_add_bitmaps_copies_the_valid_ones_with_their_granularity(env):
    """As upstream's bitmaps.add_bitmaps: a disabled bitmap (no "auto"
    flag) of the parent is not copied; granularity is kept."""
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, base, top = new_id(), new_id(), new_id()
    check_task(svc, svc.images.create_volume(sd, sp, VolumeSpec(
        img, base, 10 * MIB, sc.COW_FORMAT, sc.SPARSE)))
    path = svc.images.volume_info(sd, img, base).path
    for args in (["--add", "--enable", "-g", "131072", path, "wide"],
                 ["--add", "--enable", path, "plain"],
                 ["--add", "--disable", path, "off"]):
        subprocess.run(["qemu-img", "bitmap", "-f", "qcow2", *args],
                       check=True)
    check_task(svc, svc.images.create_volume(sd, sp, VolumeSpec(
        img, top, 10 * MIB, sc.COW_FORMAT, sc.SPARSE, parent_uuid=base,
        add_bitmaps=True)))
    top_path = svc.images.volume_info(sd, img, top).path
    assert bitmap_flags(top_path) == {"wide": (131072, ["auto"]),
                                      "plain": (65536, ["auto"])}


def test_bitmaps_are_best_effort(env, monkeypatch):
    """A bitmap that cannot be added does not fail the volume (upstream:
    the next backup is a full one). A qemu-img failing on bitmaps of a
    qcow2 v3 image cannot be made here: its bitmap call is replaced by a
    failing one, the rest is real."""
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img, vol = new_id(), new_id()

    def fail(*args, **kwargs):
        raise qemuimg.QemuImgError("no space for bitmaps")
    monkeypatch.setattr(qemuimg, "add_bitmap", fail)
    check_task(svc, svc.images.create_volume(sd, sp, VolumeSpec(
        img, vol, 10 * MIB, sc.COW_FORMAT, sc.SPARSE, bitmap=new_id())))
    info = svc.images.volume_info(sd, img, vol)
    assert info.legality == "LEGAL"
    assert bitmap_flags(info.path) == {}


def test_raw_preallocated(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    vol = create(svc, sp, sd, img, size=4 * MIB, prealloc=sc.PREALLOCATED)
    info = svc.images.volume_info(sd, img, vol)
    assert info.type == "PREALLOCATED"
    assert info.size.true >= 4 * MIB
    assert qemu_info(info.path)["format"] == "raw"


def test_extend_and_description(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    vol = create(svc, sp, sd, img, fmt=sc.COW_FORMAT)
    # Volume.extendSize leaves a qcow2 volume alone (upstream's: a
    # running qemu may hold it); VM.diskSizeExtend grows it, here for a
    # disk no VM runs.
    check_task(svc, svc.images.extend_volume(sd, sp, img, vol, 20 * MIB))
    info = svc.images.volume_info(sd, img, vol)
    assert info.capacity == 10 * MIB
    assert qemu_info(info.path)["virtual-size"] == 10 * MIB
    assert svc.images.update_volume_size(sd, sp, img, vol,
                                         20 * MIB) == 20 * MIB
    info = svc.images.volume_info(sd, img, vol)
    assert info.capacity == 20 * MIB
    assert qemu_info(info.path)["virtual-size"] == 20 * MIB
    with pytest.raises(errors.VolumeResizeValueError):
        svc.images.update_volume_size(sd, sp, img, vol, 10 * MIB)
    with pytest.raises(errors.InvalidParameter):
        svc.images.extend_volume(sd, sp, img, vol, 10 * MIB)
    assert svc.images.volume_info(sd, img, vol).capacity == 20 * MIB
    # A raw volume's file grows (ftruncate) with its capacity.
    raw_img = new_id()
    raw = create(svc, sp, sd, raw_img)
    check_task(svc, svc.images.extend_volume(sd, sp, raw_img, raw,
                                             30 * MIB))
    info = svc.images.volume_info(sd, raw_img, raw)
    assert info.capacity == 30 * MIB
    assert os.stat(info.path).st_size == 30 * MIB
    svc.images.set_description(sd, sp, img, vol, "new words")
    assert svc.images.volume_info(sd, img, vol).description == \
        "new words"


def test_delete_volume_and_parent_becomes_leaf(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    base = create(svc, sp, sd, img, fmt=sc.COW_FORMAT)
    top = create(svc, sp, sd, img, fmt=sc.COW_FORMAT, parent=base)
    with pytest.raises(errors.VolumeHasChildren):
        svc.images.delete_volume(sd, sp, img, [base])
    check_task(svc, svc.images.delete_volume(sd, sp, img, [top]))
    with pytest.raises(errors.VolumeDoesNotExist):
        svc.images.volume_info(sd, img, top)
    assert svc.images.volume_info(sd, img, base).voltype == "LEAF"


def test_bad_input_changes_nothing(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    vol = create(svc, sp, sd, img)
    other_img = new_id()
    other = create(svc, sp, sd, other_img, fmt=sc.COW_FORMAT)
    before = sorted(svc.repository.find_domain(sd).images())

    def spec(**kw):
        args = dict(img_uuid=new_id(), vol_uuid=new_id(), size=MIB,
                    fmt=sc.COW_FORMAT, prealloc=sc.SPARSE)
        args.update(kw)
        return VolumeSpec(**args)

    cases = [
        (spec(vol_uuid="../../etc"), errors.InvalidParameter),
        (spec(img_uuid="../" + new_id()), errors.InvalidParameter),
        (spec(size=1000), errors.InvalidParameter),
        (spec(size=0), errors.InvalidParameter),
        (spec(fmt=7), errors.InvalidParameter),
        (spec(prealloc=sc.PREALLOCATED, fmt=sc.RAW_FORMAT,
              size=1024 ** 4), errors.VolumeCreationError),
        # A parent that lives in another image.
        (spec(img_uuid=img, parent_uuid=other), errors.VolumeDoesNotExist),
        (spec(img_uuid=img, vol_uuid=vol), errors.VolumeAlreadyExists),
        (spec(sequence=-1), errors.InvalidParameter),
        # Bitmaps need qcow2; addBitmaps a snapshot; a bitmap is a UUID.
        (spec(fmt=sc.RAW_FORMAT, bitmap=new_id()), errors.InvalidParameter),
        (spec(bitmap="../x"), errors.InvalidParameter),
        (spec(add_bitmaps=True), errors.InvalidParameter),
    ]
    for bad, error in cases:
        with pytest.raises(error):
            svc.images.create_volume(sd, sp, bad)
    with pytest.raises(errors.StorageDomainNotInPool):
        svc.images.create_volume(new_id(), sp, spec())
    with pytest.raises(errors.InvalidParameter):
        svc.images.create_volume("not-a-uuid", sp, spec())
    with pytest.raises(errors.StoragePoolUnknown):
        svc.images.create_volume(sd, new_id(), spec())
    with pytest.raises(errors.VolumeDoesNotExist):
        svc.images.volume_info(sd, img, new_id())
    with pytest.raises(errors.ImageDoesNotExistInDomain):
        svc.images.volume_info(sd, new_id(), vol)
    with pytest.raises(errors.StorageDomainDoesNotExist):
        svc.images.volume_info(new_id(), img, vol)
    assert sorted(svc.repository.find_domain(sd).images()) == before
    assert svc.tasks.running() == []
    del other_img


def test_stopped_task_rolls_back(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    spec = VolumeSpec(img, new_id(), 512 * MIB, sc.RAW_FORMAT,
                      sc.PREALLOCATED)
    dom = svc.repository.find_domain(sd)
    # Slow the copy down: preallocating through a stopped task.
    task_id = svc.images.create_volume(sd, sp, spec)
    svc.tasks.stop(task_id)
    status = wait_task(svc, task_id)
    assert status.result == "cleanSuccess"
    assert status.code == errors.TaskAborted.code
    assert img not in dom.images()
    svc.tasks.clear(task_id)
    with pytest.raises(errors.UnknownTask):
        svc.tasks.get(task_id)
