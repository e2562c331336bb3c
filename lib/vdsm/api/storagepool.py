"""StoragePool namespace: connections, pools and the SPM role."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api import storage_wire
from vdsm.api.storage_args import connection, storage, uuid
from vdsm.common.exception import VdsmError
from vdsm.storage import errors
from vdsm.storage.connection import ConnectionStatus


def _connections(ctx: CallContext, dom_type: int, params: list[dict],
                 connect: bool) -> list[dict[str, Any]]:
    repo = storage(ctx).repository
    out = []
    for p in params:
        try:
            conn = connection(dom_type, p)
        except VdsmError as e:
            status = ConnectionStatus(str(p.get("id", "")), e.code)
        else:
            status = (repo.connect_server(conn) if connect
                      else repo.disconnect_server(conn))
        out.append({"id": status.id, "status": status.code})
    return out


@verb("StoragePool.connectStorageServer")
def connect_storage_server(ctx: CallContext, storagepoolID: str,
                           domainType: int,
                           connectionParams: list[dict]) -> list[dict]:
    return _connections(ctx, domainType, connectionParams, True)


@verb("StoragePool.disconnectStorageServer")
def disconnect_storage_server(ctx: CallContext, storagepoolID: str,
                              domainType: int,
                              connectionParams: list[dict]) -> list[dict]:
    return _connections(ctx, domainType, connectionParams, False)


_LEASE_PARAMS = {"lockRenewalIntervalSec", "leaseTimeSec",
                 "ioOpTimeoutSec", "leaseRetries"}


def _int(name: str, value: Any) -> int:
    """An integer the engine may send as a string (prevLver, lease
    parameters); anything else is 1000 (InvalidParameter)."""
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        return int(value)
    except (TypeError, ValueError):
        raise errors.InvalidParameter(f"{name} must be an integer",
                                      value=value) from None


@verb("StoragePool.create")
def create(ctx: CallContext, storagepoolID: str, name: str,
           masterSdUUID: str, masterVersion: int, domainList: list[str],
           **params: Any) -> None:
    uuid(storagepoolID, "spUUID")
    for sd in domainList + [masterSdUUID]:
        uuid(sd, "sdUUID")
    lease = {k: _int(k, v) for k, v in params.items() if k in _LEASE_PARAMS}
    storage(ctx).pools.create(storagepoolID, name, masterSdUUID,
                              masterVersion, domainList, lease)


@verb("StoragePool.connect")
def connect(ctx: CallContext, storagepoolID: str, hostID: int,
            masterSdUUID: str, masterVersion: int, **unused: Any) -> None:
    storage(ctx).pools.connect(uuid(storagepoolID, "spUUID"), hostID,
                               uuid(masterSdUUID, "msdUUID"), masterVersion)


@verb("StoragePool.disconnect")
def disconnect(ctx: CallContext, storagepoolID: str, hostID: int,
               **unused: Any) -> None:
    storage(ctx).pools.disconnect(uuid(storagepoolID, "spUUID"), hostID)


@verb("StoragePool.destroy")
def destroy(ctx: CallContext, storagepoolID: str, hostID: int,
            **unused: Any) -> None:
    storage(ctx).pools.destroy(uuid(storagepoolID, "spUUID"), hostID)


@verb("StoragePool.getInfo")
def get_info(ctx: CallContext, storagepoolID: str) -> dict[str, Any]:
    return storage_wire.pool_info(
        storage(ctx).pools.info(uuid(storagepoolID, "spUUID")))


@verb("StoragePool.spmStart")
def spm_start(ctx: CallContext, storagepoolID: str,
              enableScsiFencing: str, prevID: Any = -1, prevLver: Any = -1,
              **unused: Any) -> str:
    # Unused, as upstream; the engine sends String.valueOf(boolean).
    if enableScsiFencing.lower() not in ("true", "false"):
        raise errors.InvalidParameter(
            "enableScsiFencing must be \"true\" or \"false\"",
            value=enableScsiFencing)
    return storage(ctx).pools.spm_start(uuid(storagepoolID, "spUUID"),
                                        _int("prevID", prevID),
                                        _int("prevLver", prevLver))


@verb("StoragePool.spmStop")
def spm_stop(ctx: CallContext, storagepoolID: str) -> None:
    storage(ctx).pools.spm_stop(uuid(storagepoolID, "spUUID"))


@verb("StoragePool.getSpmStatus")
def get_spm_status(ctx: CallContext, storagepoolID: str) -> dict[str, Any]:
    return storage_wire.spm_status(
        storage(ctx).pools.spm_status(uuid(storagepoolID, "spUUID")))


@verb("StoragePool.refresh")
def refresh(ctx: CallContext, storagepoolID: str, masterSdUUID: str,
            masterVersion: int) -> None:
    storage(ctx).pools.refresh(uuid(storagepoolID, "spUUID"),
                               uuid(masterSdUUID, "msdUUID"), masterVersion)


@verb("StoragePool.reconstructMaster")
def reconstruct_master(ctx: CallContext, storagepoolID: str, hostId: int,
                       name: str, masterSdUUID: str, masterVersion: int,
                       domainDict: dict[str, str], **params: Any) -> None:
    # As upstream, 0 selects the default: not written.
    lease = {k: _int(k, v) for k, v in params.items() if k in _LEASE_PARAMS}
    lease = {k: v for k, v in lease.items() if v != 0}
    storage(ctx).pools.reconstruct_master(
        uuid(storagepoolID, "spUUID"), hostId, name,
        uuid(masterSdUUID, "msdUUID"), masterVersion, domainDict, lease)


@verb("StoragePool.switchMaster")
def switch_master(ctx: CallContext, storagepoolID: str, oldMasterUUID: str,
                  newMasterUUID: str, masterVersion: int) -> str:
    return storage(ctx).pools.switch_master(
        uuid(storagepoolID, "spUUID"), uuid(oldMasterUUID, "sdUUID"),
        uuid(newMasterUUID, "sdUUID"), masterVersion)
