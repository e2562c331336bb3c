"""SPM election across three hosts on one shared POSIXFS domain, with real
sanlock on every host: each host holds its own id in the domain's
lockspace (``dom_md/ids``), one holds the ``SDM`` lease (``dom_md/leases``);
spmStart elsewhere meets it held (651, that host stays Free), getSpmStatus
on every host names the holder and its lease version; spmStop, then a new
SPM on another host. prevID/prevLver are what the engine last saw; as
upstream they only get logged when stale (sanlock decides), a malformed
one is 1000 and starts nothing.

Real parts: the cluster fixture (namespaces, vdsmd, supervdsmd, sanlock per
host), an ext4 on a loop device mounted by every host through POSIXFS.
"""

from __future__ import annotations

import time
import uuid
from typing import Iterator

import pytest

from cluster.sharedpool import CONFIG, SharedPool, make_pool
from fixtures import cluster as cluster_mod
from vdsm import client

pytestmark = [pytest.mark.slow, pytest.mark.root]


@pytest.fixture(scope="module")
def hosts() -> Iterator[cluster_mod.Cluster]:
    cluster_mod.require()
    with cluster_mod.running(3, CONFIG) as c:
        yield c


@pytest.fixture
def pool(hosts) -> Iterator[SharedPool]:
    p = make_pool(hosts, list(hosts))
    yield p
    p.leave(list(hosts))


def error_code(func, **params) -> int:
    with pytest.raises(client.ServerError) as e:
        func(**params)
    return e.value.code


def master_md(pool: SharedPool, host: cluster_mod.Host) -> dict[str, str]:
    text = host.run(["cat", f"{pool.domain_dir}/dom_md/metadata"]).stdout
    return dict(line.split("=", 1) for line in text.splitlines()
                if "=" in line)


def sanlock_ids(host: cluster_mod.Host, sd: str) -> list[int]:
    """The host ids this host's sanlock holds in the domain's lockspace
    (``sanlock client status``: ``s <lockspace>:<id>:<path>:<offset>``)."""
    out = host.run(["sanlock", "client", "status"]).stdout
    return [int(line.split()[1].split(":")[1]) for line in out.splitlines()
            if line.startswith("s ") and line.split()[1].startswith(sd)]


def test_one_spm_the_others_meet_its_lease(hosts, pool):
    h0, h1, h2 = hosts
    # Every host holds its own id in the master's lockspace.
    for host in hosts:
        assert sanlock_ids(host, pool.sd) == [pool.host_id(host)]
    for host in hosts:
        assert pool.spm_status(host) == {
            "spmStatus": "Free", "spmId": -1, "spmLver": -1}

    status = pool.spm_start(h0)
    assert status["taskResult"] == "success", status
    first = pool.spm_status(h0)
    assert first["spmStatus"] == "SPM" and first["spmId"] == 1
    lver = first["spmLver"]
    assert lver >= 1
    # The others are Free, and name the SPM and its lease version.
    for host in (h1, h2):
        assert pool.spm_status(host) == {
            "spmStatus": "Free", "spmId": 1, "spmLver": lver}
    md = master_md(pool, h1)
    assert (md["POOL_SPM_ID"], md["POOL_SPM_LVER"]) == ("1", str(lver))
    # The lease parameters of StoragePool.create, in upstream's keys.
    assert (md["IOOPTIMEOUTSEC"], md["LEASETIMESEC"],
            md["LOCKRENEWALINTERVALSEC"], md["LEASERETRIES"]) == \
        ("1", "5", "1", "3")

    # spmStart on another host while the lease is held: the contend
    # ends as upstream's, 651 (AcquireLockFailure); that host stays Free,
    # nothing changed.
    status = pool.spm_start(h1, prev_id=1, prev_lver=str(lver))
    assert status["taskState"] == "finished"
    assert status["taskResult"] != "success"
    assert status["code"] == 651, status
    assert pool.spm_status(h1) == {
        "spmStatus": "Free", "spmId": 1, "spmLver": lver}
    assert pool.spm_status(h0) == first
    assert master_md(pool, h2) == md
    with h1.client() as cli:
        info = cli.StoragePool.getInfo(storagepoolID=pool.sp)["info"]
    assert (info["spm_id"], info["lver"]) == (1, lver)

    # A stale prevID/prevLver (what the engine saw before) is only
    # logged, as upstream: sanlock still refuses the held lease.
    status = pool.spm_start(h2, prev_id=-1, prev_lver="-1")
    assert status["code"] == 651, status
    assert pool.spm_status(h0) == first
    assert master_md(pool, h0) == md

    # spmStop: the lease is free on every host's view.
    with h0.client() as cli:
        cli.StoragePool.spmStop(storagepoolID=pool.sp)
    for host in hosts:
        assert pool.spm_status(host) == {
            "spmStatus": "Free", "spmId": -1, "spmLver": -1}
    assert master_md(pool, h2)["POOL_SPM_ID"] == "-1"

    # A new SPM elsewhere, with what the engine last saw.
    status = pool.spm_start(h2, prev_id=-1, prev_lver=str(lver))
    assert status["taskResult"] == "success", status
    second = pool.spm_status(h2)
    assert second["spmStatus"] == "SPM" and second["spmId"] == 3
    assert second["spmLver"] > lver
    for host in (h0, h1):
        assert pool.spm_status(host) == {
            "spmStatus": "Free", "spmId": 3, "spmLver": second["spmLver"]}
    with h2.client() as cli:
        info = cli.StoragePool.getInfo(storagepoolID=pool.sp)["info"]
    assert (info["spm_id"], info["lver"]) == (3, second["spmLver"])
    # The old SPM cannot change metadata any more.
    with h0.client() as cli:
        assert error_code(
            cli.StorageDomain.deactivate, storagedomainID=pool.sd,
            storagepoolID=pool.sp, masterSdUUID=pool.sd,
            masterVersion=1) == 654


def test_bad_input_gets_codes_and_changes_nothing(hosts, pool):
    h0, h1, _ = hosts
    assert pool.spm_start(h0)["taskResult"] == "success"
    before = pool.spm_status(h1)
    md = master_md(pool, h1)
    unknown = str(uuid.uuid4())
    with h1.client() as cli:
        # An unknown pool: 309 (StoragePoolUnknown).
        assert error_code(cli.StoragePool.getSpmStatus,
                          storagepoolID=unknown) == 309
        assert error_code(
            cli.StoragePool.spmStart, storagepoolID=unknown, prevID=-1,
            prevLver="-1", enableScsiFencing="false", maxHostID=250) == 309
        # A prevLver that is no number: 1000, no task started.
        assert error_code(
            cli.StoragePool.spmStart, storagepoolID=pool.sp, prevID=1,
            prevLver="stale", enableScsiFencing="false",
            maxHostID=250) == 1000
        assert cli.Host.getAllTasksStatuses() == {}
        # Not SPM: spmStop does nothing to the SPM elsewhere.
        cli.StoragePool.spmStop(storagepoolID=pool.sp)
    assert pool.spm_status(h1) == before
    assert pool.spm_status(h0)["spmStatus"] == "SPM"
    # A host id out of sanlock's range (1-2000), on a host not connected:
    # 661 (AcquireHostIdFailure), what upstream's add_lockspace of it ends
    # in.
    spare = hosts[2]
    with spare.client() as cli:
        cli.StoragePool.disconnect(storagepoolID=pool.sp, hostID=3,
                                   scsiKey=pool.sp)
        for bad in (0, 2001):
            assert error_code(
                cli.StoragePool.connect, storagepoolID=pool.sp, hostID=bad,
                scsiKey=pool.sp, masterSdUUID=pool.sd,
                masterVersion=1) == 661
        assert error_code(cli.StoragePool.getSpmStatus,
                          storagepoolID=pool.sp) == 309
    deadline = time.monotonic() + 30
    while sanlock_ids(spare, pool.sd):   # released without waiting
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert master_md(pool, h0) == md


def monitored(host: cluster_mod.Host) -> dict:
    with host.client() as cli:
        return cli.Host.getStats()["storageDomains"]


def test_connect_again_refreshes_the_pool(hosts, pool):
    """Since 3.5 the engine refreshes a host by StoragePool.connect of the
    pool it is connected to (upstream's refresh): the master and its
    version checked (304, 324), the host id the same (325), then the host
    monitors the domains the SPM activated meanwhile."""
    h0, h1, _ = hosts
    assert pool.spm_start(h0)["taskResult"] == "success"
    sd2 = str(uuid.uuid4())
    with h0.client() as cli:
        cli.StorageDomain.create(
            storagedomainID=sd2, domainType=6,
            typeArgs=hosts.shared_device, name="second", domainClass=1,
            version="5")
        cli.StorageDomain.attach(storagedomainID=sd2, storagepoolID=pool.sp)
        cli.StorageDomain.activate(storagedomainID=sd2,
                                   storagepoolID=pool.sp)
    assert sd2 in monitored(h0)
    assert sd2 not in monitored(h1)
    spm = pool.spm_status(h1)
    with h1.client() as cli:
        for params, code in [
                (dict(hostID=2, masterSdUUID=pool.sd, masterVersion=2), 324),
                (dict(hostID=2, masterSdUUID=sd2, masterVersion=1), 324),
                (dict(hostID=2, masterSdUUID=str(uuid.uuid4()),
                      masterVersion=1), 304),
                (dict(hostID=3, masterSdUUID=pool.sd, masterVersion=1), 325),
        ]:
            assert error_code(cli.StoragePool.connect,
                              storagepoolID=pool.sp, scsiKey=pool.sp,
                              **params) == code, params
            assert sd2 not in monitored(h1)
        assert pool.spm_status(h1) == spm
        cli.StoragePool.connect(storagepoolID=pool.sp, hostID=2,
                                scsiKey=pool.sp, masterSdUUID=pool.sd,
                                masterVersion=1)
    deadline = time.monotonic() + 30
    while not monitored(h1).get(sd2, {}).get("valid"):
        assert time.monotonic() < deadline, monitored(h1)
        time.sleep(0.1)
    deadline = time.monotonic() + 30
    while 2 not in sanlock_ids(h1, sd2):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # The SPM takes it out of service; the next refresh stops monitoring.
    with h0.client() as cli:
        cli.StorageDomain.deactivate(storagedomainID=sd2,
                                     storagepoolID=pool.sp,
                                     masterSdUUID=pool.sd, masterVersion=1)
    pool.connect(h1)
    assert sd2 not in monitored(h1)
