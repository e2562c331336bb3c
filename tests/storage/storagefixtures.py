"""Helpers shared by storage tests: a domain, a pool, task waits."""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any, Callable

from vdsm.common.config import Config
from vdsm.storage import constants as sc
from vdsm.api import storage_args
from vdsm.common.exception import VdsmError
from vdsm.storage.domain import DomainSpec
from vdsm.storage.component import Storage

GIB = 1024 ** 3
MIB = 1024 ** 2


def new_id() -> str:
    return str(uuid.uuid4())


def make_config(root: str, **irs: str) -> Config:
    config = Config()
    config.set("irs", "repository", os.path.join(root, "repo"))
    config.set("vars", "lib_dir", os.path.join(root, "lib"))
    config.set("vars", "run_dir", os.path.join(root, "run"))
    config.set("sanlock", "io_timeout", "1")
    config.set("irs", "sd_health_check_delay", "0.5")
    config.set("irs", "process_pool_timeout", "5")
    for name, value in irs.items():
        config.set("irs", name, value)
    return config


def wait_task(svc: Storage, task_id: str,
              timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = svc.tasks.get(task_id).status()
        if status.state == "finished":
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} did not finish: {status}")
        time.sleep(0.05)


def check_task(svc: Storage, task_id: str) -> None:
    status = wait_task(svc, task_id)
    assert status.result == "success", status


def connect_servers(svc: Storage, dom_type: int, params: list[dict],
                    connect: bool = True) -> list[tuple[str, int]]:
    """(id, code) of each connection, as StoragePool.connectStorageServer
    gets them: parsed from its wire dict, then (dis)connected."""
    out = []
    for p in params:
        try:
            conn = storage_args.connection(dom_type, p)
        except VdsmError as e:
            out.append((str(p.get("id", "")), e.code))
            continue
        status = (svc.repository.connect_server(conn) if connect
                  else svc.repository.disconnect_server(conn))
        out.append((status.id, status.code))
    return out


def disconnect_servers(svc: Storage, dom_type: int,
                       params: list[dict]) -> list[tuple[str, int]]:
    return connect_servers(svc, dom_type, params, connect=False)


def connect_localfs(svc: Storage, path: str) -> None:
    res = connect_servers(svc, sc.LOCALFS,
                          [{"id": "c1", "connection": path}])
    assert res == [("c1", 0)]


def create_domain(svc: Storage, path: str,
                  sd_uuid: str | None = None,
                  dom_type: int = sc.LOCALFS) -> str:
    sd_uuid = sd_uuid or new_id()
    svc.domains.create(DomainSpec(sd_uuid, "test-domain", dom_type,
                                 remote_path=path))
    return sd_uuid


def make_pool(svc: Storage, path: str, spm: bool = True
              ) -> tuple[str, str]:
    """A LOCALFS domain at path, a pool over it, connected; SPM if spm."""
    connect_localfs(svc, path)
    sd_uuid = create_domain(svc, path)
    sp_uuid = new_id()
    svc.pools.create(sp_uuid, "test-pool", sd_uuid, 1, [sd_uuid])
    svc.pools.connect(sp_uuid, 1, sd_uuid, 1)
    if spm:
        check_task(svc, svc.pools.spm_start(sp_uuid))
    return sp_uuid, sd_uuid


def concurrently(*funcs: Callable[[], Any], timeout: float = 60
                 ) -> list[Exception | None]:
    """Run each function in its own thread, all released at once; return
    what each raised (None: it returned)."""
    start = threading.Barrier(len(funcs))
    outcome: list[Exception | None] = [None] * len(funcs)

    def run(i: int) -> None:
        start.wait(10)
        try:
            funcs[i]()
        except Exception as e:
            outcome[i] = e

    threads = [threading.Thread(target=run, args=(i,))
               for i in range(len(funcs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    return outcome
