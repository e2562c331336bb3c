"""A storage pool on the cluster's shared POSIXFS domain, for the SPM,
failover and monitoring tests: every host connects the storage server and
the pool with its own host id (index + 1), as the engine does.

Short sanlock timeouts (``ioOpTimeoutSec`` of StoragePool.create, 1 s):
sanlock deems a dead host's id expired after 8 of them, so a failover
takes seconds, not minutes.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from fixtures import cluster as cluster_mod
from vdsm import client
from vdsm.storage.connection import local_name

BLANK = "00000000-0000-0000-0000-000000000000"
POSIXFS = 6
DATA = 1
IO_TIMEOUT = 1
# What the engine sends (prevLver and the fencing flag are strings).
LEASE_ARGS = dict(lockRenewalIntervalSec=1, leaseTimeSec=5,
                  ioOpTimeoutSec=IO_TIMEOUT, leaseRetries=3)
# Every host: a domain check every half second.
CONFIG = {"irs": {"sd_health_check_delay": "0.5",
                  "process_pool_timeout": "5"},
          "sanlock": {"io_timeout": str(IO_TIMEOUT)}}


@dataclass
class SharedPool:
    cluster: cluster_mod.Cluster
    sp: str
    sd: str
    conn: dict

    @property
    def mount(self) -> str:
        """The domain's mount point, the same path inside every host."""
        return (f"/rhev/data-center/mnt/"
                f"{local_name(self.cluster.shared_device)}")

    @property
    def domain_dir(self) -> str:
        return f"{self.mount}/{self.sd}"

    def host_id(self, host: cluster_mod.Host) -> int:
        return host.index + 1

    def connect(self, host: cluster_mod.Host) -> None:
        with host.client() as cli:
            connect_storage(cli, self.conn)
            cli.StoragePool.connect(
                storagepoolID=self.sp, hostID=self.host_id(host),
                scsiKey=self.sp, masterSdUUID=self.sd, masterVersion=1)

    def spm_status(self, host: cluster_mod.Host) -> dict[str, Any]:
        with host.client() as cli:
            return cli.StoragePool.getSpmStatus(storagepoolID=self.sp)

    def spm_start(self, host: cluster_mod.Host, prev_id: int = -1,
                  prev_lver: str = "-1") -> dict[str, Any]:
        """spmStart as the engine: the task polled to its end, cleared;
        its final status."""
        with host.client() as cli:
            task = cli.StoragePool.spmStart(
                storagepoolID=self.sp, prevID=prev_id, prevLver=prev_lver,
                enableScsiFencing="false", maxHostID=250)
            status = wait_task(cli, task)
            cli.Task.clear(taskID=task)
            return status

    def volume_metadata(self, host: cluster_mod.Host) -> dict[str, str]:
        """Every volume's .meta file as ``host`` reads it, by
        ``<image>/<volume>``."""
        out = host.run(["sh", "-c", f"cd {self.domain_dir}/images && "
                        "for m in */*.meta; do [ -e \"$m\" ] || continue; "
                        "echo \"== $m\"; cat \"$m\"; echo; done"]).stdout
        metas: dict[str, str] = {}
        name = ""
        for line in out.splitlines():
            if line.startswith("== "):
                name = line[3:-len(".meta")]
                metas[name] = ""
            elif name and line.strip():
                metas[name] += line + "\n"
        return metas

    def leave(self, hosts: list[cluster_mod.Host]) -> None:
        """Stop the SPM, disconnect every host given (the end of a test
        that keeps the cluster)."""
        for host in hosts:
            with host.client() as cli:
                try:
                    cli.StoragePool.spmStop(storagepoolID=self.sp)
                    cli.StoragePool.disconnect(
                        storagepoolID=self.sp, hostID=self.host_id(host),
                        scsiKey=self.sp)
                except client.ServerError:
                    pass


def connect_storage(cli: client.Client, conn: dict) -> None:
    statuses = cli.StoragePool.connectStorageServer(
        storagepoolID=BLANK, domainType=POSIXFS, connectionParams=[conn])
    assert [s["status"] for s in statuses] == [0], statuses


def wait_task(cli: client.Client, task_id: str,
              timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = cli.Task.getStatus(taskID=task_id)
        if status["taskState"] == "finished":
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def make_pool(c: cluster_mod.Cluster, hosts: list[cluster_mod.Host]
              ) -> SharedPool:
    """A new data domain on the shared storage (made by the first host),
    a pool with it as master, every host in ``hosts`` connected to it.
    Nobody is SPM yet."""
    sd, sp = str(uuid.uuid4()), str(uuid.uuid4())
    pool = SharedPool(c, sp, sd, c.posixfs_connection())
    with hosts[0].client() as cli:
        connect_storage(cli, pool.conn)
        cli.StorageDomain.create(
            storagedomainID=sd, domainType=POSIXFS,
            typeArgs=c.shared_device, name="shared", domainClass=DATA,
            version="5")
        cli.StoragePool.create(storagepoolID=sp, name="cluster-pool",
                               masterSdUUID=sd, masterVersion=1,
                               domainList=[sd], **LEASE_ARGS)
    for host in hosts:
        pool.connect(host)
    return pool
