"""The storage verbs end to end, through a real vdsmd over TLS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from storage.monitor_test import fuse_dir  # noqa: F401 (a fixture)
from storage.storagefixtures import MIB, new_id

from vdsm import client

pytestmark = pytest.mark.root

BLANK = "00000000-0000-0000-0000-000000000000"
# What the engine sends with every StoragePool.spmStart and .create (in its
# types: the lease version and the fencing flag are strings).
SPM_ARGS = dict(prevID=-1, prevLver="-1", enableScsiFencing="false",
                maxHostID=250)
LEASE_ARGS = dict(lockRenewalIntervalSec=5, leaseTimeSec=60,
                  ioOpTimeoutSec=10, leaseRetries=3)
LOCALFS = 4
POSIXFS = 6


def overrides(env):
    return {"irs": {"repository": str(env.tmp_path / "repo"),
                    "sd_health_check_delay": "0.5",
                    "process_pool_timeout": "5"},
            "sanlock": {"io_timeout": "1"}}


def wait(cli, task_id, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        status = cli.Task.getStatus(taskID=task_id)
        if status["taskState"] == "finished":
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def ok(cli, task_id):
    status = wait(cli, task_id)
    assert status["taskResult"] == "success", status
    cli.Task.clear(taskID=task_id)


def error_code(func, **params):
    with pytest.raises(client.ServerError) as e:
        func(**params)
    return e.value.code


def error_message(func, **params):
    with pytest.raises(client.ServerError) as e:
        func(**params)
    assert e.value.code == 1000, e.value
    return e.value.message


def setup_pool(cli, path, spm=True):
    conn = [{"id": "c1", "connection": path}]
    assert cli.StoragePool.connectStorageServer(
        storagepoolID=BLANK, domainType=LOCALFS,
        connectionParams=conn) == [{"id": "c1", "status": 0}]
    sd, sp = new_id(), new_id()
    cli.StorageDomain.create(storagedomainID=sd, domainType=LOCALFS,
                             typeArgs=path, name="api-domain",
                             domainClass=1)
    cli.StoragePool.create(storagepoolID=sp, name="api-pool",
                           masterSdUUID=sd, masterVersion=1,
                           domainList=[sd], **LEASE_ARGS)
    cli.StoragePool.connect(storagepoolID=sp, hostID=1, scsiKey=sp,
                            masterSdUUID=sd, masterVersion=1)
    if spm:
        ok(cli, cli.StoragePool.spmStart(storagepoolID=sp, **SPM_ARGS))
    return sp, sd


def add_domain(cli, sp, path, conn_id="c2", name="second"):
    """Another LOCALFS domain on path in the pool, attached and active."""
    assert cli.StoragePool.connectStorageServer(
        storagepoolID=sp, domainType=LOCALFS,
        connectionParams=[{"id": conn_id, "connection": path}]) == \
        [{"id": conn_id, "status": 0}]
    sd = new_id()
    cli.StorageDomain.create(storagedomainID=sd, domainType=LOCALFS,
                             typeArgs=path, name=name, domainClass=1)
    cli.StorageDomain.attach(storagedomainID=sd, storagepoolID=sp)
    cli.StorageDomain.activate(storagedomainID=sd, storagepoolID=sp)
    return sd


def teardown_pool(cli, sp):
    cli.StoragePool.spmStop(storagepoolID=sp)
    cli.StoragePool.disconnect(storagepoolID=sp, hostID=1, scsiKey=sp)


def vol_args(sp, sd, img, vol):
    return dict(storagepoolID=sp, storagedomainID=sd, imageID=img,
                volumeID=vol)


def create_volume(cli, sp, sd, img, vol, parent=BLANK, fmt=4,
                  size=str(64 * MIB), prealloc=2):
    return cli.Volume.create(
        size=size, volFormat=fmt, preallocate=prealloc, diskType="DATA",
        desc="api test", srcImgUUID=img if parent != BLANK else BLANK,
        srcVolUUID=parent, **vol_args(sp, sd, img, vol))


def test_whole_flow(env, vdsmd_factory):
    vdsmd = vdsmd_factory(overrides(env))
    path, path2 = env.dir(), env.dir("xfs-4096")
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, path, spm=False)
        img, base, top = new_id(), new_id(), new_id()
        # Not SPM yet: 654, nothing made.
        assert error_code(create_volume, cli=cli, sp=sp, sd=sd, img=img,
                          vol=base) == 654
        ok(cli, cli.StoragePool.spmStart(storagepoolID=sp, **SPM_ARGS))
        status = cli.StoragePool.getSpmStatus(storagepoolID=sp)
        assert status["spmStatus"] == "SPM" and status["spmId"] == 1
        assert cli.Host.getConnectedStoragePools() == [sp]
        assert cli.Host.getStorageDomains() == [sd]
        info = cli.StorageDomain.getInfo(storagedomainID=sd)
        assert info["role"] == "Master" and info["pool"] == [sp]
        stats = cli.StorageDomain.getStats(storagedomainID=sd)
        assert int(stats["diskfree"]) > 0

        # A volume and a snapshot on it.
        ok(cli, create_volume(cli, sp, sd, img, base))
        ok(cli, create_volume(cli, sp, sd, img, top, parent=base))
        vinfo = cli.Volume.getInfo(**vol_args(sp, sd, img, top))
        assert vinfo["parent"] == base and vinfo["legality"] == "LEGAL"
        assert vinfo["capacity"] == str(64 * MIB)
        assert cli.Volume.getInfo(**vol_args(sp, sd, img, base))[
            "children"] == [top]
        assert int(cli.Volume.getSize(
            **vol_args(sp, sd, img, top))["apparentsize"]) > 0
        ok(cli, cli.Volume.extendSize(newSize=str(128 * MIB),
                                      **vol_args(sp, sd, img, top)))
        cli.Volume.setDescription(description="bigger",
                                  **vol_args(sp, sd, img, top))
        assert cli.StorageDomain.getImages(storagedomainID=sd) == [img]

        prepared = cli.Image.prepare(**vol_args(sp, sd, img, top))
        assert os.path.exists(prepared["path"])
        assert [v["volumeID"] for v in prepared["imgVolumesInfo"]] == \
            [base, top]
        cli.Image.teardown(**vol_args(sp, sd, img, top))

        # Copy the leaf's data into a new raw volume with SDM.copy_data.
        img2, vol2 = new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img2, vol2, fmt=5,
                              size=str(128 * MIB)))
        job = new_id()
        cli.SDM.copy_data(
            job_id=job,
            source={"endpoint_type": "div", "sd_id": sd, "img_id": img,
                    "vol_id": top},
            destination={"endpoint_type": "div", "sd_id": sd,
                         "img_id": img2, "vol_id": vol2})
        ok(cli, job)

        # A second domain, attached and active; move the image there.
        sd2 = add_domain(cli, sp, path2)
        ok(cli, cli.Image.move(imageID=img, storagepoolID=sp,
                               storagedomainID=sd, dstSdUUID=sd2,
                               operation=2, postZero="false",
                               force="false"))
        assert cli.StorageDomain.getImages(storagedomainID=sd2) == [img]
        info = cli.StoragePool.getInfo(storagepoolID=sp)
        assert info["dominfo"][sd2]["status"] == "Active"

        # Monitoring, in Host.getStats and getStorageRepoStats.
        deadline = time.monotonic() + 30
        while not cli.Host.getStorageRepoStats().get(sd2, {}).get(
                "acquired"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        host_stats = cli.Host.getStats()["storageDomains"]
        assert host_stats[sd]["valid"] and host_stats[sd2]["valid"]

        # Delete everything.
        ok(cli, cli.Volume.delete(postZero=False, force=False,
                                  **vol_args(sp, sd, img2, vol2)))
        ok(cli, cli.Image.delete(imageID=img, storagepoolID=sp,
                                 storagedomainID=sd2, postZero=False,
                                 force=False))
        assert cli.StorageDomain.getImages(storagedomainID=sd2) == []
        assert cli.Host.getAllTasksStatuses() == {}
        cli.StorageDomain.deactivate(storagedomainID=sd2, storagepoolID=sp,
                                     masterSdUUID=sd, masterVersion=1)
        cli.StorageDomain.detach(storagedomainID=sd2, storagepoolID=sp,
                                 masterSdUUID=sd, masterVersion=1)
        teardown_pool(cli, sp)
        assert cli.Host.getConnectedStoragePools() == []


def test_bad_input_gets_codes(env, vdsmd_factory):
    vdsmd = vdsmd_factory(overrides(env))
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, env.dir())
        img, vol = new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img, vol))
        other_img, other = new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, other_img, other))
        cases = [
            # Unknown UUIDs.
            (cli.Volume.getInfo, vol_args(sp, sd, img, new_id()), 201),
            (cli.Volume.getInfo, vol_args(sp, sd, new_id(), vol), 268),
            (cli.StorageDomain.getInfo, {"storagedomainID": new_id()},
             358),
            (cli.StoragePool.getSpmStatus, {"storagepoolID": new_id()},
             309),
            (cli.Task.getStatus, {"taskID": new_id()}, 401),
            # A path outside the domain.
            (cli.Image.prepare, vol_args(sp, sd, img, "../../../etc"),
             1000),
            (cli.StorageDomain.create, dict(
                storagedomainID=new_id(), domainType=LOCALFS,
                typeArgs="/etc", name="x", domainClass=1), 360),
        ]
        for func, params, code in cases:
            assert error_code(func, **params) == code, (func, params)
        # A malformed id is refused naming the parameter as upstream's
        # schema does (the name is the API's, not storage's).
        bad = "not-a-uuid"
        move = dict(imageID=img, storagepoolID=sp, storagedomainID=sd,
                    dstSdUUID=sd, operation=1, postZero="false",
                    force="false")
        named = [
            (cli.StorageDomain.getInfo, {"storagedomainID": bad}, "sdUUID"),
            (cli.StoragePool.getInfo, {"storagepoolID": bad}, "spUUID"),
            (cli.StoragePool.connect, dict(
                storagepoolID=sp, hostID=1, scsiKey=sp, masterSdUUID=bad,
                masterVersion=1), "msdUUID"),
            (cli.Volume.getInfo, vol_args(sp, sd, bad, vol), "imgUUID"),
            (cli.Volume.getInfo, vol_args(sp, sd, img, bad), "volUUID"),
            (create_volume, dict(cli=cli, sp=sp, sd=sd, img=img,
                                 vol=new_id(), parent=bad), "srcVolUUID"),
            (cli.Image.move, dict(move, storagedomainID=bad), "srcDomUUID"),
            (cli.Image.move, dict(move, dstSdUUID=bad), "dstDomUUID"),
        ]
        for func, params, name in named:
            message = error_message(func, **params)
            assert f"{name} is not a UUID" in message, (func, message)
        # A parent in another image.
        assert error_code(cli.Volume.create, size=str(MIB), volFormat=4,
                          preallocate=2, diskType="DATA", desc="",
                          srcImgUUID=other_img, srcVolUUID=other,
                          **vol_args(sp, sd, img, new_id())) == 1000
        assert error_code(create_volume, cli=cli, sp=sp, sd=sd, img=img,
                          vol=new_id(), parent=other) == 201
        # A size that does not fit.
        assert error_code(create_volume, cli=cli, sp=sp, sd=sd, img=img,
                          vol=new_id(), fmt=5, prealloc=1,
                          size=str(1024 ** 4)) == 205
        assert error_code(create_volume, cli=cli, sp=sp, sd=sd, img=img,
                          vol=new_id(), size="12.5") == 1000
        assert error_code(create_volume, cli=cli, sp=sp, sd=sd, img=img,
                          vol=new_id(), size=str(1000)) == 1000
        # A connection with bad params gets its own status.
        assert cli.StoragePool.connectStorageServer(
            storagepoolID=BLANK, domainType=LOCALFS,
            connectionParams=[{"id": "bad", "connection": "no/abs"}]) == \
            [{"id": "bad", "status": 1000}]
        assert cli.StorageDomain.getImages(storagedomainID=sd) == sorted(
            [img, other_img])
        assert cli.Host.getAllTasksStatuses() == {}
        teardown_pool(cli, sp)


def test_destroy_pool_then_format_domains(env, vdsmd_factory):
    vdsmd = vdsmd_factory(overrides(env))
    path = env.dir()
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, path)
        sd2 = new_id()
        cli.StorageDomain.create(storagedomainID=sd2, domainType=LOCALFS,
                                 typeArgs=path, name="second",
                                 domainClass=1)
        cli.StorageDomain.attach(storagedomainID=sd2, storagepoolID=sp)
        img, base, top = new_id(), new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img, base))
        ok(cli, create_volume(cli, sp, sd, img, top, parent=base))
        img2, vol2 = new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img2, vol2))

        def volumes(**image):
            return cli.StorageDomain.getVolumes(
                storagedomainID=sd, storagepoolID=sp, **image)
        assert volumes(imageID=img) == sorted([base, top])
        assert volumes(imageID=img2) == [vol2]
        assert volumes(imageID=BLANK) == sorted([base, top, vol2])
        # imageID is required, as upstream (the engine always sends it).
        assert error_code(volumes) == -32602
        assert volumes(imageID=new_id()) == []
        assert cli.StorageDomain.getVolumes(
            storagedomainID=sd2, storagepoolID=BLANK, imageID=BLANK) == []

        # Members of the connected pool, active or not: 392 even with
        # autoDetach, and nothing changes.
        before = sorted(os.listdir(os.path.join(path, sd, "images", img)))
        for dom in (sd, sd2):
            for auto in (False, True):
                assert error_code(cli.StorageDomain.format,
                                  storagedomainID=dom,
                                  autoDetach=auto) == 392
        assert sorted(os.listdir(os.path.join(path, sd, "images",
                                              img))) == before
        assert volumes(imageID=BLANK) == sorted([base, top, vol2])
        assert set(cli.Host.getStorageRepoStats()) == {sd}

        # Destroy: another host id is 700 and changes nothing.
        assert error_code(cli.StoragePool.destroy, storagepoolID=sp,
                          hostID=2, scsiKey=sp) == 700
        assert cli.Host.getConnectedStoragePools() == [sp]
        assert cli.StoragePool.destroy(storagepoolID=sp, hostID=1,
                                       scsiKey=sp) is True
        assert cli.Host.getConnectedStoragePools() == []
        assert cli.Host.getStorageRepoStats() == {}
        for dom in (sd, sd2):
            info = cli.StorageDomain.getInfo(storagedomainID=dom)
            assert info["pool"] == [] and info["role"] == "Regular"
            assert "master_ver" not in info
        assert not os.path.exists(os.path.join(path, sd, "master"))
        assert sorted(cli.Host.getStorageDomains()) == sorted([sd, sd2])
        assert error_code(cli.StoragePool.getSpmStatus,
                          storagepoolID=sp) == 309

        # Now free: format removes each domain's directory for good.
        assert cli.StorageDomain.format(storagedomainID=sd,
                                        autoDetach=False) is True
        assert sorted(os.listdir(path)) == [sd2]
        assert cli.Host.getStorageDomains() == [sd2]
        assert error_code(cli.StorageDomain.getInfo,
                          storagedomainID=sd) == 358
        assert error_code(volumes, imageID=BLANK) == 358
        assert error_code(cli.StorageDomain.format,
                          storagedomainID=sd, autoDetach=False) == 358
        assert cli.StorageDomain.format(storagedomainID=sd2,
                                        autoDetach=False) is True
        assert os.listdir(path) == []
        assert cli.Host.getStorageDomains() == []

        # The path can hold a new domain and pool again.
        sp, sd = setup_pool(cli, path)
        teardown_pool(cli, sp)


def test_format_and_destroy_refusals(env, vdsmd_factory):
    vdsmd = vdsmd_factory(overrides(env))
    path = env.dir()
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, path, spm=False)
        # Not SPM: 654; unknown or malformed ids.
        cases = [
            (cli.StoragePool.destroy,
             dict(storagepoolID=sp, hostID=1, scsiKey=sp), 654),
            (cli.StoragePool.destroy,
             dict(storagepoolID=new_id(), hostID=1, scsiKey=""), 309),
            (cli.StoragePool.destroy,
             dict(storagepoolID="bad", hostID=1, scsiKey=""), 1000),
            (cli.StorageDomain.format,
             dict(storagedomainID=new_id(), autoDetach=False), 358),
            (cli.StorageDomain.format,
             dict(storagedomainID="../x", autoDetach=False), 1000),
            (cli.StorageDomain.getVolumes,
             dict(storagedomainID=new_id(), storagepoolID=sp,
                  imageID=BLANK), 358),
            (cli.StorageDomain.getVolumes,
             dict(storagedomainID=sd, storagepoolID=sp, imageID="*"),
             1000),
        ]
        for func, params, code in cases:
            assert error_code(func, **params) == code, (func, params)
        assert cli.Host.getConnectedStoragePools() == [sp]

        # Left, not destroyed: the metadata still names the pool, 391
        # until autoDetach.
        ok(cli, cli.StoragePool.spmStart(storagepoolID=sp, **SPM_ARGS))
        img, vol = new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img, vol))
        teardown_pool(cli, sp)
        assert error_code(cli.StorageDomain.format, storagedomainID=sd,
                          autoDetach=False) == 391
        assert cli.StorageDomain.getVolumes(
            storagedomainID=sd, storagepoolID=BLANK, imageID=img) == [vol]
        assert cli.StorageDomain.getInfo(storagedomainID=sd)["pool"] == [sp]
        assert cli.StorageDomain.format(storagedomainID=sd,
                                        autoDetach=True) is True
        assert os.listdir(path) == []
        assert cli.Host.getStorageDomains() == []


@pytest.mark.slow
def test_kill_vdsmd_during_create_then_restart(env, vdsmd_factory):
    vdsmd = vdsmd_factory(overrides(env))
    path = env.dir()
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, path)
    img, vol = new_id(), new_id()
    meta = os.path.join(path, sd, "images", img, vol + ".meta")
    with vdsmd.client() as cli:
        create_volume(cli, sp, sd, img, vol, fmt=5, prealloc=1,
                      size=str(1024 * MIB))
        deadline = time.monotonic() + 30
        while not (os.path.exists(meta) and os.path.getsize(meta)):
            assert time.monotonic() < deadline
        vdsmd.kill()
    vdsmd.start()
    with vdsmd.client() as cli:
        # The log still holds the first run's "Ready": wait for no 99.
        deadline = time.monotonic() + 60
        while True:
            try:
                domains = cli.Host.getStorageDomains()
                break
            except client.ServerError as e:
                assert e.code == 99 and time.monotonic() < deadline
                time.sleep(0.2)
        # The connection came back by itself: the domain is visible.
        assert domains == [sd]
        cli.StoragePool.connect(storagepoolID=sp, hostID=1, scsiKey=sp,
                                masterSdUUID=sd, masterVersion=1)
        deadline = time.monotonic() + 30
        while True:
            status = wait(cli, cli.StoragePool.spmStart(
                storagepoolID=sp, **SPM_ARGS))
            if status["taskResult"] == "success":
                break
            assert status["code"] == 651 and time.monotonic() < deadline
            time.sleep(0.5)
        tasks = cli.Host.getAllTasksInfo()
        recovered = [t for t, info in tasks.items()
                     if info["verb"] == "Volume.create"]
        if recovered:
            status = cli.Task.getStatus(taskID=recovered[0])
            assert status["taskResult"] == "cleanSuccess"
            assert status["code"] == 411
            assert img not in cli.StorageDomain.getImages(
                storagedomainID=sd)
            cli.Task.clear(taskID=recovered[0])
        else:
            info = cli.Volume.getInfo(**vol_args(sp, sd, img, vol))
            assert info["legality"] == "LEGAL"
        teardown_pool(cli, sp)


@pytest.mark.slow
def test_frozen_mount_other_verbs_answer(env, vdsmd_factory,
                                         fuse_dir):  # noqa: F811
    bindfs, _, fuse_mnt = fuse_dir
    vdsmd = vdsmd_factory(overrides(env))
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, env.dir())
        frozen = add_domain(cli, sp, fuse_mnt, "f", "fuse")
        os.kill(bindfs.pid, signal.SIGSTOP)
        try:
            # A verb on the frozen domain fails with 379, in time.
            assert error_code(cli.StorageDomain.getInfo,
                              storagedomainID=frozen) == 379
            deadline = time.monotonic() + 30
            while cli.Host.getStorageRepoStats()[frozen]["valid"]:
                assert time.monotonic() < deadline
                time.sleep(0.2)
            # Everything else answers within a second, also while calls
            # on the frozen domain are stuck in other workers.
            stuck = [cli.call_async("StorageDomain.getInfo",
                                    {"storagedomainID": frozen})
                     for _ in range(3)]
            for _ in range(3):
                for method, params in [
                        ("Host.ping2", {}),
                        ("Host.getStats", {}),
                        ("Host.getStorageRepoStats", {}),
                        ("StorageDomain.getInfo", {"storagedomainID": sd}),
                        ("StoragePool.getSpmStatus",
                         {"storagepoolID": sp})]:
                    start = time.monotonic()
                    cli.call(method, params)
                    assert time.monotonic() - start < 1.0, method
            for future in stuck:
                with pytest.raises(client.ServerError):
                    future.result(30)
            stats = cli.Host.getStats()["storageDomains"]
            assert stats[frozen]["valid"] is False
            assert stats[frozen]["code"] == 379
            assert stats[sd]["valid"] is True
        finally:
            os.kill(bindfs.pid, signal.SIGCONT)
        cli.StorageDomain.deactivate(storagedomainID=frozen,
                                     storagepoolID=sp, masterSdUUID=sd,
                                     masterVersion=1)
        teardown_pool(cli, sp)


def test_engine_params_act(env, vdsmd_factory):
    """What the engine sends acts as upstream's: Volume.create's legal,
    sequence, bitmap and addBitmaps reach the volume; Image.move
    operation 1 copies (the source stays), 2 moves; spmStart takes
    enableScsiFencing as the string the engine sends (upstream ignores
    its value)."""
    vdsmd = vdsmd_factory(overrides(env))
    path, path2 = env.dir(), env.dir("xfs-4096")
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, path, spm=False)
        ok(cli, cli.StoragePool.spmStart(
            storagepoolID=sp, **dict(SPM_ARGS, enableScsiFencing="true")))
        img, base, top = new_id(), new_id(), new_id()
        mark = new_id()
        ok(cli, cli.Volume.create(
            size=str(64 * MIB), volFormat=4, preallocate=2,
            diskType="DATA", desc="", srcImgUUID=BLANK, srcVolUUID=BLANK,
            sequence=3, bitmap=mark, **vol_args(sp, sd, img, base)))
        ok(cli, cli.Volume.create(
            size=str(64 * MIB), volFormat=4, preallocate=2,
            diskType="DATA", desc="", srcImgUUID=img, srcVolUUID=base,
            sequence=4, addBitmaps=True, legal=False,
            **vol_args(sp, sd, img, top)))
        info = cli.Volume.getInfo(**vol_args(sp, sd, img, top))
        assert info["legality"] == "ILLEGAL" and info["status"] == "ILLEGAL"
        base_info = cli.Volume.getInfo(**vol_args(sp, sd, img, base))
        assert base_info["legality"] == "LEGAL"
        base_path = os.path.join(os.path.dirname(
            base_info["lease"]["path"]), base)
        top_path = os.path.join(os.path.dirname(base_path), top)
        for vol_path, seq in ((base_path, 3), (top_path, 4)):
            with open(vol_path + ".meta") as f:
                assert f"SEQ={seq}" in f.read().splitlines()
        for vol_path in (base_path, top_path):
            qi = json.loads(subprocess.check_output(
                ["qemu-img", "info", "-U", "--output", "json", vol_path]))
            assert [b["name"] for b in qi["format-specific"]["data"].get(
                "bitmaps", [])] == [mark]

        # A second domain; copy then move another image there.
        sd2 = add_domain(cli, sp, path2)
        img2, vol2 = new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img2, vol2))
        move = dict(imageID=img2, storagepoolID=sp, storagedomainID=sd,
                    dstSdUUID=sd2, postZero="false", force="false")
        ok(cli, cli.Image.move(operation=1, **move))
        assert img2 in cli.StorageDomain.getImages(storagedomainID=sd)
        assert cli.StorageDomain.getImages(storagedomainID=sd2) == [img2]
        ok(cli, cli.Image.delete(imageID=img2, storagepoolID=sp,
                                 storagedomainID=sd2, postZero=False,
                                 force=False))
        ok(cli, cli.Image.move(operation=2, **move))
        assert img2 not in cli.StorageDomain.getImages(storagedomainID=sd)
        assert cli.StorageDomain.getImages(storagedomainID=sd2) == [img2]
        teardown_pool(cli, sp)
