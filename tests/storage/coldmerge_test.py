"""Cold merge through a real vdsmd on a LOCALFS domain (loop file system,
sanlock): StoragePool.prepareMerge, SDM.merge and
StoragePool.finalizeMerge of an internal and of a leaf snapshot, as the
engine runs them for a stopped VM; data written with qemu-io into each
layer must be in the base afterwards, and the chain (metadata and qcow2
backing) must skip the merged volume."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from storage.api_test import (BLANK, create_volume, error_code, ok,
                              overrides, setup_pool, vol_args, wait)
from storage.storagefixtures import MIB, new_id

pytestmark = pytest.mark.root

RAW, COW = 5, 4
SIZE = 64 * MIB


def write(path, fmt, offset, pattern):
    subprocess.run(["qemu-io", "-f", fmt, "-c",
                    f"write -P {pattern} {offset} 64k", path],
                   check=True, stdout=subprocess.DEVNULL)


def read_byte(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(64 * 1024)
    assert len(set(data)) == 1, "not one pattern"
    return data[0]


def backing(path):
    out = subprocess.run(["qemu-img", "info", "-U", "--output", "json",
                          path], check=True, capture_output=True).stdout
    return json.loads(out).get("backing-filename")


class Image:
    def __init__(self, cli, sp, sd):
        self.cli, self.sp, self.sd = cli, sp, sd
        self.img = new_id()
        self.vols = []

    def add(self, fmt):
        vol = new_id()
        parent = self.vols[-1] if self.vols else BLANK
        ok(self.cli, create_volume(self.cli, self.sp, self.sd, self.img, vol,
                                   parent=parent, fmt=fmt, size=str(SIZE)))
        self.vols.append(vol)
        return vol

    def path(self, vol):
        return os.path.realpath(self.cli.Image.prepare(
            **vol_args(self.sp, self.sd, self.img, vol))["path"])

    def info(self, vol):
        return self.cli.Volume.getInfo(**vol_args(self.sp, self.sd,
                                                  self.img, vol))

    def subchain(self, base, top, **extra):
        return dict({"sd_id": self.sd, "img_id": self.img, "base_id": base,
                     "top_id": top}, **extra)


def job_status(cli, job):
    wait(cli, job)
    return cli.Host.getJobs(job_type="storage", job_ids=[job])[job]


def cold_merge(cli, image, base, top):
    """The engine's three steps; each checked as it ends."""
    sub = image.subchain(base, top)
    ok(cli, cli.StoragePool.prepareMerge(storagepoolID=image.sp,
                                         subchainInfo=sub))
    info = image.info(base)
    assert info["legality"] == "ILLEGAL", info
    gen = int(info["generation"])
    job = new_id()
    cli.SDM.merge(job_id=job, subchain_info=dict(sub, base_generation=gen),
                  merge_bitmaps=False)
    status = job_status(cli, job)
    assert (status["status"], status["job_type"]) == ("done", "storage"), \
        status
    assert int(image.info(base)["generation"]) == gen + 1
    ok(cli, cli.StoragePool.finalizeMerge(
        storagepoolID=image.sp, subchainInfo=dict(sub,
                                                  base_generation=gen + 1)))
    assert image.info(top)["legality"] == "ILLEGAL"
    assert image.info(base)["legality"] == "LEGAL"


def test_cold_merge_internal_then_leaf(env, vdsmd_factory):
    vdsmd = vdsmd_factory(overrides(env))
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, env.dir())
        image = Image(cli, sp, sd)
        base, top1, top2 = image.add(RAW), image.add(COW), image.add(COW)
        paths = {v: image.path(v) for v in image.vols}
        write(paths[base], "raw", 0, "0x41")
        write(paths[top1], "qcow2", 1 * MIB, "0x42")
        write(paths[top2], "qcow2", 2 * MIB, "0x43")
        write(paths[top2], "qcow2", 0, "0x44")        # over the base's

        # Internal: top1 into the base; top2 now backs onto the base.
        cold_merge(cli, image, base, top1)
        assert read_byte(paths[base], 1 * MIB) == 0x42
        assert read_byte(paths[base], 0) == 0x41
        md2 = image.info(top2)
        assert (md2["parent"], md2["voltype"]) == (base, "LEAF"), md2
        assert backing(paths[top2]) == base
        assert image.info(base)["voltype"] == "INTERNAL"
        assert cli.Image.reconcileVolumeChain(
            storagepoolID=sp, storagedomainID=sd, imageID=image.img,
            leafVolID=top2) == [base, top2]

        # Leaf: top2 into the base, which becomes the leaf.
        cold_merge(cli, image, base, top2)
        assert [read_byte(paths[base], off) for off in
                (0, 1 * MIB, 2 * MIB)] == [0x44, 0x42, 0x43]
        mdb = image.info(base)
        assert (mdb["voltype"], mdb["legality"]) == ("LEAF", "LEGAL"), mdb
        ok(cli, cli.Image.deleteVolumes(
            imageID=image.img, storagepoolID=sp, storagedomainID=sd,
            volumeList=[top1, top2], postZero="false", force="false"))
        assert cli.Image.prepare(**vol_args(sp, sd, image.img, base))[
            "imgVolumesInfo"][-1]["volumeID"] == base


def test_cold_merge_bad_input_changes_nothing(env, vdsmd_factory):
    vdsmd = vdsmd_factory(overrides(env))
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, env.dir())
        image = Image(cli, sp, sd)
        base, mid, top = image.add(RAW), image.add(COW), image.add(COW)
        other = Image(cli, sp, sd)
        other_base = other.add(RAW)
        paths = {v: image.path(v) for v in image.vols}
        write(paths[mid], "qcow2", 0, "0x42")
        before = {v: image.info(v) for v in image.vols}

        def codes(sub):
            return [
                error_code(cli.StoragePool.prepareMerge, storagepoolID=sp,
                           subchainInfo=sub),
                error_code(cli.SDM.merge, job_id=new_id(),
                           subchain_info=sub),
                error_code(cli.StoragePool.finalizeMerge, storagepoolID=sp,
                           subchainInfo=sub)]

        # Out of order, not adjacent, the same volume: 921.
        assert codes(image.subchain(mid, base)) == [921] * 3
        assert codes(image.subchain(base, top)) == [921] * 3
        assert codes(image.subchain(mid, mid)) == [921] * 3
        # A volume of another image's chain, or none at all: 201.
        assert codes(image.subchain(other_base, mid)) == [201] * 3
        assert codes(image.subchain(base, new_id())) == [201] * 3
        # An image the domain lacks: 268; bad ids or fields: 1000.
        assert codes(dict(image.subchain(base, mid),
                          img_id=new_id())) == [268] * 3
        assert codes(dict(image.subchain(base, mid), top_id="x")) == \
            [1000] * 3
        sub = image.subchain(base, mid)
        del sub["top_id"]
        assert codes(sub) == [1000] * 3
        # Not this pool: 309.
        assert error_code(cli.StoragePool.prepareMerge,
                          storagepoolID=new_id(),
                          subchainInfo=image.subchain(base, mid)) == 309
        assert {v: image.info(v) for v in image.vols} == before
        assert backing(paths[mid]) == base and backing(paths[top]) == mid

        # A stale generation: the job fails with 911, the base untouched.
        gen = int(before[base]["generation"])
        job = new_id()
        cli.SDM.merge(job_id=job, subchain_info=image.subchain(
            base, mid, base_generation=gen + 5))
        status = job_status(cli, job)
        assert status["status"] == "failed", status
        assert status["error"]["code"] == 911, status
        assert read_byte(paths[base], 0) == 0
        assert {v: image.info(v)["generation"] for v in image.vols} == \
            {v: before[v]["generation"] for v in image.vols}
