"""Image.cloneStructure and Image.syncData: an image copied between two
loop-backed domains of a pool, as live storage migration does."""

from __future__ import annotations

import json
import subprocess

import pytest

from storage.api_test import (add_domain, create_volume, error_code, ok,
                              overrides, setup_pool, teardown_pool,
                              vol_args)
from storage.image_test import chain_of_three, read_pattern, write_pattern
from storage.storagefixtures import MIB, check_task, make_pool, new_id
from storage.volume_test import create, qemu_info
from storage.volumecopy_test import second_domain

from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.imageclone import SyncType

pytestmark = pytest.mark.root


def image_with_data(svc, sp, sd):
    img, vols = chain_of_three(svc, sp, sd)
    for i, vol in enumerate(vols):
        write_pattern(svc.images.volume_info(sd, img, vol).path, "qcow2",
                      0x30 + i, i * MIB)
    return img, vols


def allocated_data(path):
    """Bytes the layer itself holds (qemu-img map of the layer alone)."""
    out = subprocess.run(
        ["qemu-img", "map", "-U", "--output", "json",
         "json:" + json.dumps({"driver": "qcow2", "backing": None,
                               "file": {"driver": "file",
                                        "filename": path}})],
        check=True, capture_output=True, text=True).stdout
    return sum(e["length"] for e in json.loads(out) if e["data"])


def test_clone_structure(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    sd2 = second_domain(env, svc, sp)
    img, vols = image_with_data(svc, sp, sd)
    check_task(svc, svc.images.clone_structure(sp, sd, img, sd2))
    for vol in vols:
        src = svc.images.volume_info(sd, img, vol)
        dst = svc.images.volume_info(sd2, img, vol)
        assert (dst.parent, dst.capacity, dst.format, dst.type,
                dst.voltype, dst.disktype, dst.description) == (
            src.parent, src.capacity, src.format, src.type, src.voltype,
            src.disktype, src.description)
        assert dst.legality == "LEGAL"
        # Empty: no data of the source's yet.
        assert allocated_data(dst.path) == 0
        qi = qemu_info(dst.path)
        assert qi.get("backing-filename", sc.BLANK_UUID) == src.parent
    drive = svc.images.prepare(sd2, img, vols[-1])
    assert [c.vol_id for c in drive.chain] == vols


@pytest.mark.parametrize("sync", list(SyncType))
def test_sync_data(env, sync):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    sd2 = second_domain(env, svc, sp)
    img, vols = image_with_data(svc, sp, sd)
    check_task(svc, svc.images.clone_structure(sp, sd, img, sd2))
    check_task(svc, svc.images.sync_data(sp, sd, img, sd2, sync))
    synced = {SyncType.INTERNAL: vols[:-1], SyncType.LEAF: vols[-1:],
              SyncType.ALL: vols}[sync]
    for i, vol in enumerate(vols):
        info = svc.images.volume_info(sd2, img, vol)
        assert info.legality == "LEGAL"
        if vol in synced:
            assert allocated_data(info.path) == allocated_data(
                svc.images.volume_info(sd, img, vol).path) > 0
            assert info.generation == 1
        else:
            assert allocated_data(info.path) == 0
    leaf = svc.images.volume_info(sd2, img, vols[-1]).path
    for i, vol in enumerate(vols):
        assert read_pattern(leaf, "qcow2", 0x30 + i, i * MIB) == (
            vol in synced)
    if sync is SyncType.ALL:
        subprocess.run(["qemu-img", "compare", "-U", svc.images.volume_info(
            sd, img, vols[-1]).path, leaf], check=True, capture_output=True)


def test_clone_and_sync_bad_input(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    sd2 = second_domain(env, svc, sp)
    img, vols = image_with_data(svc, sp, sd)
    dom2 = svc.repository.find_domain(sd2)
    with pytest.raises(errors.ImageDoesNotExistInDomain):
        svc.images.clone_structure(sp, sd, new_id(), sd2)
    with pytest.raises(errors.InvalidParameter):
        svc.images.clone_structure(sp, sd, img, sd)
    with pytest.raises(errors.StorageDomainNotInPool):
        svc.images.clone_structure(sp, sd, img, new_id())
    # No clone yet: nothing to sync into.
    with pytest.raises(errors.DestImageActionError) as e:
        svc.images.sync_data(sp, sd, img, sd2, SyncType.INTERNAL)
    assert e.value.code == 260
    assert dom2.images() == []
    # A destination image with another chain.
    other = create(svc, sp, sd2, img, fmt=sc.COW_FORMAT)
    with pytest.raises(errors.VolumeAlreadyExists):
        svc.images.clone_structure(sp, sd, img, sd2)
    with pytest.raises(errors.DestImageActionError):
        svc.images.sync_data(sp, sd, img, sd2, SyncType.ALL)
    info = svc.images.volume_info(sd2, img, other)
    assert (info.legality, info.generation) == ("LEGAL", 0)
    assert allocated_data(info.path) == 0
    svc.pools.spm_stop(sp)
    with pytest.raises(errors.NotSPM):
        svc.images.clone_structure(sp, sd, new_id(), sd2)


def test_sync_data_refuses_illegal_source(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    sd2 = second_domain(env, svc, sp)
    img, vols = image_with_data(svc, sp, sd)
    check_task(svc, svc.images.clone_structure(sp, sd, img, sd2))
    svc.images.set_legality(sd, sp, img, vols[1], sc.ILLEGAL)
    with pytest.raises(errors.ImageIsNotLegalChain):
        svc.images.sync_data(sp, sd, img, sd2, SyncType.INTERNAL)
    assert allocated_data(svc.images.volume_info(sd2, img, vols[0]).path) \
        == 0


def test_clone_and_sync_over_the_wire(env, vdsmd_factory):
    vdsmd = vdsmd_factory(overrides(env))
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, env.dir())
        sd2 = add_domain(cli, sp, env.dir("xfs-4096"))
        img, base, top = new_id(), new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img, base, size=str(16 * MIB)))
        ok(cli, create_volume(cli, sp, sd, img, top, parent=base,
                              size=str(16 * MIB)))
        for vol, byte in ((base, 0x61), (top, 0x62)):
            path = cli.Image.prepare(**vol_args(sp, sd, img, vol))["path"]
            write_pattern(path, "qcow2", byte, 0 if vol == base else MIB)
        ids = dict(imageID=img, storagepoolID=sp, storagedomainID=sd,
                   dstSdUUID=sd2)
        ok(cli, cli.Image.cloneStructure(**ids))
        assert error_code(cli.Image.cloneStructure, **ids) == 212
        ok(cli, cli.Image.syncData(**ids, syncType="INTERNAL"))
        ok(cli, cli.Image.syncData(**ids, syncType="LEAF"))
        leaf = cli.Image.prepare(**vol_args(sp, sd2, img, top))["path"]
        assert read_pattern(leaf, "qcow2", 0x61, 0)
        assert read_pattern(leaf, "qcow2", 0x62, MIB)
        assert error_code(cli.Image.syncData,
                          **{**ids, "imageID": new_id()},
                          syncType="ALL") == 268
        # Not one of the enum's values: the schema refuses the call.
        assert error_code(cli.Image.syncData, **ids,
                          syncType="SOME") == -32602
        teardown_pool(cli, sp)
