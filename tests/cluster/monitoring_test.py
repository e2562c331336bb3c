"""Domain monitoring per host: each host checks the shared domain on its
own (``[irs] sd_health_check_delay`` 0.5 s here) and reports it in
Host.getStats ``storageDomains`` (valid, delay, lastCheck, acquired) as the
engine reads it. One host loses its path (its mount of the shared storage
removed inside its mount namespace): that host reports the domain invalid
within a few monitor intervals, the others stay valid and keep their ids.

Real parts: the cluster fixture (three hosts, real sanlock each), the
shared ext4 on a loop device mounted by each host through POSIXFS.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from cluster.sharedpool import CONFIG, SharedPool, make_pool
from fixtures import cluster as cluster_mod

pytestmark = [pytest.mark.slow, pytest.mark.root]

INTERVAL = float(CONFIG["irs"]["sd_health_check_delay"])


@pytest.fixture(scope="module")
def hosts() -> Iterator[cluster_mod.Cluster]:
    cluster_mod.require()
    with cluster_mod.running(3, CONFIG) as c:
        yield c


def domain_stats(pool: SharedPool, host: cluster_mod.Host
                 ) -> dict[str, Any] | None:
    with host.client() as cli:
        return cli.Host.getStats()["storageDomains"].get(pool.sd)


def wait_stats(pool: SharedPool, host: cluster_mod.Host, valid: bool,
               timeout: float) -> tuple[dict[str, Any], float]:
    """The host's stats of the domain once ``valid`` is as asked (after a
    check made since the call), and how long that took."""
    start = time.monotonic()
    while True:
        stats = domain_stats(pool, host)
        if (stats is not None and stats["actual"]
                and stats["valid"] is valid):
            return stats, time.monotonic() - start
        assert time.monotonic() < start + timeout, stats
        time.sleep(0.1)


def test_each_host_monitors_the_domain_one_loses_its_path(hosts):
    pool = make_pool(hosts, list(hosts))
    assert pool.spm_start(hosts[0])["taskResult"] == "success"
    for host in hosts:
        stats, _ = wait_stats(pool, host, True, 30)
        # As the engine reads them: valid, the read delay and the age of
        # the last check as strings of seconds, our id acquired.
        assert stats["code"] == 0
        assert float(stats["delay"]) >= 0
        assert float(stats["lastCheck"]) >= 0
        assert stats["version"] == 5
    for host in hosts:
        deadline = time.monotonic() + 30
        while not domain_stats(pool, host)["acquired"]:
            assert time.monotonic() < deadline, domain_stats(pool, host)
            time.sleep(0.1)

    # host1 loses its path: its mount goes (inside its namespace only).
    lost = hosts[1]
    lost.run(["umount", "-l", pool.mount])
    stats, took = wait_stats(pool, lost, False, 30)
    print(f"monitoring: host1 reports the domain invalid {took:.1f}s "
          f"after losing its mount (interval {INTERVAL}s)")
    assert stats["code"] != 0
    # The others still see it, checked after the loss.
    for host in (hosts[0], hosts[2]):
        time.sleep(2 * INTERVAL)
        stats = domain_stats(pool, host)
        assert stats is not None and stats["valid"] is True, stats
        assert stats["actual"] is True
        assert stats["acquired"] is True
    # The path back (connectStorageServer mounts it again): valid again.
    with lost.client() as cli:
        statuses = cli.StoragePool.connectStorageServer(
            storagepoolID=pool.sp, domainType=6,
            connectionParams=[pool.conn])
    assert [s["status"] for s in statuses] == [0]
    wait_stats(pool, lost, True, 30)
    pool.leave(list(hosts))
