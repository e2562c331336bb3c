"""StoragePool namespace: connections, pools and the SPM role."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api.storagewire import storage
from vdsm.storage import errors


def _statuses(pairs: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"id": cid, "status": code} for cid, code in pairs]


@verb("StoragePool.connectStorageServer")
def connect_storage_server(ctx: CallContext, storagepoolID: str,
                           domainType: int,
                           connectionParams: list[dict]) -> list[dict]:
    return _statuses(storage(ctx).connect_storage_server(
        domainType, connectionParams))


@verb("StoragePool.disconnectStorageServer")
def disconnect_storage_server(ctx: CallContext, storagepoolID: str,
                              domainType: int,
                              connectionParams: list[dict]) -> list[dict]:
    return _statuses(storage(ctx).disconnect_storage_server(
        domainType, connectionParams))


@verb("StoragePool.create")
def create(ctx: CallContext, storagepoolID: str, name: str,
           masterSdUUID: str, masterVersion: int, domainList: list[str],
           **unused: Any) -> None:
    storage(ctx).create_pool(storagepoolID, name, masterSdUUID,
                             masterVersion, domainList)


@verb("StoragePool.connect")
def connect(ctx: CallContext, storagepoolID: str, hostID: int,
            masterSdUUID: str, masterVersion: int, **unused: Any) -> None:
    storage(ctx).connect_pool(storagepoolID, hostID, masterSdUUID,
                              masterVersion)


@verb("StoragePool.disconnect")
def disconnect(ctx: CallContext, storagepoolID: str, hostID: int,
               **unused: Any) -> None:
    storage(ctx).disconnect_pool(storagepoolID, hostID)


@verb("StoragePool.destroy")
def destroy(ctx: CallContext, storagepoolID: str, hostID: int,
            **unused: Any) -> None:
    storage(ctx).destroy_pool(storagepoolID, hostID)


@verb("StoragePool.getInfo")
def get_info(ctx: CallContext, storagepoolID: str) -> dict[str, Any]:
    info = storage(ctx).pool_info(storagepoolID)
    for entry in info["dominfo"].values():
        for key in ("diskfree", "disktotal"):
            if key in entry:
                entry[key] = str(entry[key])
    return info


@verb("StoragePool.spmStart")
def spm_start(ctx: CallContext, storagepoolID: str,
              enableScsiFencing: str, **unused: Any) -> str:
    # Unused, as upstream; the engine sends String.valueOf(boolean).
    if enableScsiFencing.lower() not in ("true", "false"):
        raise errors.InvalidParameter(
            "enableScsiFencing must be \"true\" or \"false\"",
            value=enableScsiFencing)
    return storage(ctx).spm_start(storagepoolID)


@verb("StoragePool.spmStop")
def spm_stop(ctx: CallContext, storagepoolID: str) -> None:
    storage(ctx).spm_stop(storagepoolID)


@verb("StoragePool.getSpmStatus")
def get_spm_status(ctx: CallContext, storagepoolID: str) -> dict[str, Any]:
    status = storage(ctx).spm_status(storagepoolID)
    return {"spmId": status["id"], "spmStatus": status["status"],
            "spmLver": status["lver"]}
