"""A data center's storage as the engine sets it up, for the flows that
need one: a LOCALFS domain and a pool with this host as SPM.

The steps are the engine's (connectStorageServer, StorageDomain.create,
StoragePool.create, connect, the SPM election with Task polling);
addhost_test.py walks them one by one with every reply checked, this
module only repeats them for the flows that follow.
"""

from __future__ import annotations

import time
import uuid

from engine import readers

BLANK = "00000000-0000-0000-0000-000000000000"
LOCALFS = 4
HOST_ID = 1


def new_id() -> str:
    return str(uuid.uuid4())


def connection(path: str) -> dict[str, str]:
    """ConnectStorageServerVDSCommand: a Map<String, String>, the absent
    fields as empty strings."""
    return {"id": new_id(), "connection": path, "iqn": "", "vfs_type": "",
            "mnt_options": "", "password": "", "port": "", "portal": "",
            "user": ""}


def wait_task(engine, task_id: str, timeout: float = 60) -> dict:
    """HSMGetTaskStatusVDSCommand, polled until the task is finished."""
    deadline = time.monotonic() + timeout
    while True:
        status = engine.rpc("Task.getStatus", taskID=task_id)
        readers.task_status(status)
        if status["taskState"] == "finished":
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


def run_task(engine, task_id: str) -> None:
    """AsyncTaskManager: a task polled to success, then cleared."""
    status = wait_task(engine, task_id)
    assert status["taskResult"] == "success", status
    engine.rpc("Task.clear", taskID=task_id)


def create_pool(engine, path: str, version: str) -> tuple[str, str]:
    """AddStorageDomainCommand and AddStoragePoolWithStorages: a LOCALFS
    master domain on the connected path, a pool of it: (pool, domain)."""
    sd, sp = new_id(), new_id()
    engine.rpc("StorageDomain.create", storagedomainID=sd,
               domainType=LOCALFS, typeArgs=path, name="engine-data",
               domainClass=1, version=version, maxHosts=250)
    engine.rpc("StoragePool.create", storagepoolID=sp, name="Default",
               masterSdUUID=sd, masterVersion=1, domainList=[sd],
               lockRenewalIntervalSec=5, leaseTimeSec=60,
               ioOpTimeoutSec=10, leaseRetries=3)
    return sp, sd


def create(engine, path: str, version: str = "5") -> tuple[str, str]:
    """A new data center on path, this host its SPM: (pool, domain)."""
    conn = connection(path)
    statuses = engine.rpc("StoragePool.connectStorageServer",
                          storagepoolID=BLANK, domainType=LOCALFS,
                          connectionParams=[conn])
    readers.connection_statuses(statuses)
    sp, sd = create_pool(engine, path, version)
    engine.rpc("StoragePool.connect", storagepoolID=sp, hostID=HOST_ID,
               scsiKey=sp, masterSdUUID=sd, masterVersion=1,
               domainDict={sd: "active"})
    run_task(engine, engine.rpc(
        "StoragePool.spmStart", storagepoolID=sp, prevID=-1,
        prevLver="-1", enableScsiFencing="false", maxHostID=250,
        domVersion=version))
    return sp, sd


def remove(engine, sp: str) -> None:
    """SpmStopVDSCommand, then DisconnectStoragePoolVDSCommand."""
    try:
        engine.rpc("StoragePool.spmStop", storagepoolID=sp)
    finally:
        engine.rpc("StoragePool.disconnect", storagepoolID=sp,
                   hostID=HOST_ID, scsiKey=sp)
