"""SDM.update_volume, SDM.amend_volume, SDM.sparsify_volume: host jobs on
real volumes (loop-backed file systems, real qemu-img and fallocate)."""

from __future__ import annotations

import subprocess
import time

import pytest

from storage.api_test import (create_volume, error_code, ok, overrides,
                              setup_pool, teardown_pool, vol_args)
from storage.image_test import read_pattern, write_pattern
from storage.storagefixtures import MIB, make_pool, new_id, wait_task
from storage.volume_test import create, qemu_info

from vdsm.storage import constants as sc
from vdsm.storage import errors, jobs, qemuimg
from vdsm.storage.jobs import JobStatus
from vdsm.storage.volume import VolumeRef
from vdsm.storage.volumejobs import VolumeAttributes

pytestmark = pytest.mark.root


def run_job(svc, start, *args):
    job = new_id()
    start(job, *args)
    wait_task(svc, job)
    return jobs.info(svc.tasks.get(job))


def meta(svc, sd, img, vol):
    with open(svc.images.volume_info(sd, img, vol).path + ".meta") as f:
        return f.read()


def fill(path, fmt, byte, offset, size):
    subprocess.run(["qemu-io", "-f", fmt, "-c",
                    f"write -P {byte} {offset} {size}", path], check=True,
                   capture_output=True)


def snapshot_data(path, out):
    """The guest's view of the image (the whole chain) as a raw file."""
    subprocess.run(["qemu-img", "convert", "-U", "-O", "raw", path, out],
                   check=True)


def same_data(a, b):
    return subprocess.run(["qemu-img", "compare", "-U", "-f", "raw",
                           "-F", "raw", a, b],
                          capture_output=True).returncode == 0


# update_volume


def test_update_volume(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    vol = create(svc, sp, sd, img, fmt=sc.COW_FORMAT)
    ref = VolumeRef(sd, img, vol)
    done = run_job(svc, svc.images.update_volume, ref, 0,
                   VolumeAttributes(legality=sc.ILLEGAL,
                                    description="new text"))
    assert done.status is JobStatus.DONE and done.description == (
        "update_volume")
    info = svc.images.volume_info(sd, img, vol)
    assert (info.legality, info.description, info.generation) == (
        "ILLEGAL", "new text", 1)
    # The generation given in vol_attr replaces the next one.
    run_job(svc, svc.images.update_volume, ref, 1,
            VolumeAttributes(legality=sc.LEGAL, generation=7))
    info = svc.images.volume_info(sd, img, vol)
    assert (info.legality, info.generation) == ("LEGAL", 7)
    run_job(svc, svc.images.update_volume, ref, None,
            VolumeAttributes(type=sc.SHARED))
    info = svc.images.volume_info(sd, img, vol)
    assert (info.voltype, info.generation) == ("SHARED", 8)


def test_update_volume_bad_input(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    vol = create(svc, sp, sd, img, fmt=sc.COW_FORMAT)
    ref = VolumeRef(sd, img, vol)
    before = meta(svc, sd, img, vol)
    failed = run_job(svc, svc.images.update_volume, ref, 3,
                     VolumeAttributes(legality=sc.ILLEGAL))
    assert failed.status is JobStatus.FAILED
    assert failed.error.code == errors.GenerationMismatch.code == 911
    for bad in (VolumeAttributes(), VolumeAttributes(legality="FAKE"),
                VolumeAttributes(type=sc.LEAF),
                VolumeAttributes(generation=1000),
                VolumeAttributes(description="a\nb")):
        with pytest.raises(errors.InvalidParameter):
            svc.images.update_volume(new_id(), ref, None, bad)
    with pytest.raises(errors.InvalidParameter):
        svc.images.update_volume(new_id(), ref, -1,
                                 VolumeAttributes(legality=sc.LEGAL))
    with pytest.raises(errors.VolumeDoesNotExist):
        svc.images.update_volume(new_id(), VolumeRef(sd, img, new_id()),
                                 None, VolumeAttributes(legality=sc.LEGAL))
    with pytest.raises(errors.ImageDoesNotExistInDomain):
        svc.images.update_volume(new_id(), VolumeRef(sd, new_id(), vol),
                                 None, VolumeAttributes(legality=sc.LEGAL))
    assert meta(svc, sd, img, vol) == before


# amend_volume


def test_amend_volume(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    vol = create(svc, sp, sd, img, fmt=sc.COW_FORMAT)
    path = svc.images.volume_info(sd, img, vol).path
    write_pattern(path, "qcow2", 0x3c, MIB)
    assert qemu_info(path)["format-specific"]["data"]["compat"] == "1.1"
    ref = VolumeRef(sd, img, vol)
    done = run_job(svc, svc.images.amend_volume, ref, 0, "0.10")
    assert done.status is JobStatus.DONE
    assert qemu_info(path)["format-specific"]["data"]["compat"] == "0.10"
    assert read_pattern(path, "qcow2", 0x3c, MIB)
    info = svc.images.volume_info(sd, img, vol)
    assert (info.legality, info.generation) == ("LEGAL", 1)
    assert svc.images.qemu_image_info(sd, img, vol).compat == "0.10"
    run_job(svc, svc.images.amend_volume, ref, 1, "1.1")
    assert qemu_info(path)["format-specific"]["data"]["compat"] == "1.1"


def test_amend_volume_bad_input(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    raw = create(svc, sp, sd, img)
    img2 = new_id()
    cow = create(svc, sp, sd, img2, fmt=sc.COW_FORMAT)
    cow_path = svc.images.volume_info(sd, img2, cow).path
    before = (meta(svc, sd, img, raw), meta(svc, sd, img2, cow))
    failed = run_job(svc, svc.images.amend_volume, VolumeRef(sd, img, raw),
                     None, "0.10")
    assert failed.error.code == errors.IncorrectFormat.code == 202
    failed = run_job(svc, svc.images.amend_volume, VolumeRef(sd, img2, cow),
                     5, "0.10")
    assert failed.error.code == 911
    with pytest.raises(errors.InvalidParameter):
        svc.images.amend_volume(new_id(), VolumeRef(sd, img2, cow), None,
                                "2.0")
    assert (meta(svc, sd, img, raw), meta(svc, sd, img2, cow)) == before
    assert qemu_info(cow_path)["format-specific"]["data"]["compat"] == "1.1"
    svc.images.set_legality(sd, sp, img2, cow, sc.ILLEGAL)
    failed = run_job(svc, svc.images.amend_volume, VolumeRef(sd, img2, cow),
                     None, "0.10")
    assert failed.error.code == errors.VolumeIsIllegal.code == 227
    assert qemu_info(cow_path)["format-specific"]["data"]["compat"] == "1.1"


# sparsify_volume


@pytest.mark.parametrize("fmt,compat", [(sc.RAW_FORMAT, None),
                                        (sc.COW_FORMAT, "1.1"),
                                        (sc.COW_FORMAT, "0.10")])
def test_sparsify_volume(env, tmp_path, fmt, compat):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    vol = create(svc, sp, sd, img, size=64 * MIB, fmt=fmt)
    path = svc.images.volume_info(sd, img, vol).path
    qfmt = "raw" if fmt == sc.RAW_FORMAT else "qcow2"
    if compat == "0.10":
        # No bitmaps in a 0.10 image; the generation is then 1.
        run_job(svc, svc.images.amend_volume, VolumeRef(sd, img, vol), 0,
                compat)
    gen = 1 if compat == "0.10" else 0
    fill(path, qfmt, 0x5a, 0, 4 * MIB)
    fill(path, qfmt, 0, 8 * MIB, 32 * MIB)     # written zeros: allocated
    if compat == "1.1":
        qemuimg.add_bitmap(path, "backup-1")
    snapshot_data(path, str(tmp_path / "before.raw"))
    allocated = svc.images.volume_size(sd, img, vol).true
    assert allocated >= 36 * MIB
    done = run_job(svc, svc.images.sparsify_volume, VolumeRef(sd, img, vol),
                   gen)
    assert done.status is JobStatus.DONE, done
    after = svc.images.volume_size(sd, img, vol).true
    assert after < 6 * MIB, (allocated, after)
    snapshot_data(path, str(tmp_path / "after.raw"))
    assert same_data(str(tmp_path / "before.raw"),
                     str(tmp_path / "after.raw"))
    info = svc.images.volume_info(sd, img, vol)
    assert (info.legality, info.generation) == ("LEGAL", gen + 1)
    assert qemu_info(path)["format"] == qfmt
    if compat is not None:
        assert qemu_info(path)["format-specific"]["data"]["compat"] == compat
    if compat == "1.1":
        # The bitmaps survive the rewrite, still valid.
        assert [(b.name, b.valid) for b in qemuimg.bitmaps(path)] == [
            ("backup-1", True)]
    assert not [n for n in svc.repository.find_domain(sd).io.call(
        "listdir", path=svc.repository.find_domain(sd).image_dir(img))
        if n.endswith(".sparsify")]


def test_sparsify_snapshot_keeps_chain_data(env, tmp_path):
    """Zeros the top layer writes over its parent's data are data: they
    stay (as zero clusters); zeros over nothing go; the layer's own data
    stays."""
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    base = create(svc, sp, sd, img, size=64 * MIB, fmt=sc.COW_FORMAT)
    base_path = svc.images.volume_info(sd, img, base).path
    fill(base_path, "qcow2", 0x11, 0, 16 * MIB)
    top = create(svc, sp, sd, img, size=64 * MIB, fmt=sc.COW_FORMAT,
                 parent=base)
    top_path = svc.images.volume_info(sd, img, top).path
    fill(top_path, "qcow2", 0, 0, 2 * MIB)          # hides base data
    fill(top_path, "qcow2", 0x22, 4 * MIB, 8 * MIB)  # the layer's data
    fill(top_path, "qcow2", 0, 32 * MIB, 16 * MIB)  # zeros over nothing
    snapshot_data(top_path, str(tmp_path / "before.raw"))
    allocated = svc.images.volume_size(sd, img, top).true
    assert allocated >= 26 * MIB
    done = run_job(svc, svc.images.sparsify_volume, VolumeRef(sd, img, top),
                   None)
    assert done.status is JobStatus.DONE, done
    after = svc.images.volume_size(sd, img, top).true
    assert 8 * MIB <= after < 10 * MIB, (allocated, after)
    snapshot_data(top_path, str(tmp_path / "after.raw"))
    assert same_data(str(tmp_path / "before.raw"),
                     str(tmp_path / "after.raw"))
    assert qemu_info(top_path)["backing-filename"] == base
    assert [c.vol_id for c in svc.images.prepare(sd, img, top).chain] == [
        base, top]


def test_sparsify_volume_bad_input(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    base = create(svc, sp, sd, img, fmt=sc.COW_FORMAT)
    top = create(svc, sp, sd, img, fmt=sc.COW_FORMAT, parent=base)
    before = (meta(svc, sd, img, base), meta(svc, sd, img, top))
    failed = run_job(svc, svc.images.sparsify_volume,
                     VolumeRef(sd, img, base), None)
    assert failed.error.code == errors.NonLeafVolumeNotWritable.code == 224
    failed = run_job(svc, svc.images.sparsify_volume,
                     VolumeRef(sd, img, top), 2)
    assert failed.error.code == 911
    with pytest.raises(errors.VolumeDoesNotExist):
        svc.images.sparsify_volume(new_id(), VolumeRef(sd, img, new_id()),
                                   None)
    assert (meta(svc, sd, img, base), meta(svc, sd, img, top)) == before
    svc.images.set_legality(sd, sp, img, top, sc.ILLEGAL)
    failed = run_job(svc, svc.images.sparsify_volume,
                     VolumeRef(sd, img, top), None)
    assert failed.error.code == 227


# The verbs over the wire, through a real vdsmd.


def wait_job(cli, job, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        info = cli.Host.getJobs(job_ids=[job])[job]
        if info["status"] in ("done", "failed", "aborted"):
            return info
        assert time.monotonic() < deadline, info
        time.sleep(0.1)


def test_volume_verbs_over_the_wire(env, vdsmd_factory):
    vdsmd = vdsmd_factory(overrides(env))
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, env.dir())
        img, vol = new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img, vol, fmt=4, prealloc=2,
                              size=str(32 * MIB)))
        pdiv = vol_args(sp, sd, img, vol)
        info = cli.Volume.getQemuImageInfo(**pdiv)
        assert info == {"format": "qcow2", "virtualsize": 32 * MIB,
                        "clustersize": 65536, "compat": "1.1"}
        measured = cli.Volume.measure(**pdiv, dstVolFormat=5)
        assert measured["required"] == 32 * MIB
        assert measured["fully-allocated"] == 32 * MIB
        assert error_code(cli.Volume.measure, **pdiv, dstVolFormat=4,
                          baseID=new_id()) == 1000
        cli.Volume.setLegality(**pdiv, legality="ILLEGAL")
        assert cli.Volume.getInfo(**pdiv)["legality"] == "ILLEGAL"
        assert error_code(cli.Volume.setLegality, **{
            **pdiv, "volumeID": new_id()}, legality="LEGAL") == 201
        vol_info = {"sd_id": sd, "img_id": img, "vol_id": vol}
        job = new_id()
        cli.SDM.update_volume(job_id=job, vol_info={
            **vol_info, "generation": 0}, vol_attr={"legality": "LEGAL"})
        assert wait_job(cli, job)["status"] == "done"
        got = cli.Volume.getInfo(**pdiv)
        assert (got["legality"], got["generation"]) == ("LEGAL", 1)
        job = new_id()
        cli.SDM.update_volume(job_id=job, vol_info={
            **vol_info, "generation": 0}, vol_attr={"description": "x"})
        failed = wait_job(cli, job)
        assert (failed["status"], failed["error"]["code"]) == (
            "failed", 911)
        job = new_id()
        cli.SDM.amend_volume(job_id=job, vol_info=vol_info,
                             qcow2_attr={"compat": "0.10"})
        assert wait_job(cli, job)["status"] == "done"
        assert cli.Volume.getQemuImageInfo(**pdiv)["compat"] == "0.10"
        assert error_code(cli.SDM.amend_volume, job_id=new_id(),
                          vol_info=vol_info,
                          qcow2_attr={"compat": "9"}) == 1000
        job = new_id()
        cli.SDM.sparsify_volume(job_id=job, vol_info={
            **vol_info, "generation": 2})
        done = wait_job(cli, job)
        assert (done["status"], done["description"]) == (
            "done", "sparsify_volume")
        assert cli.Volume.getInfo(**pdiv)["generation"] == 3
        teardown_pool(cli, sp)
