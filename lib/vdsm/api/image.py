"""Image namespace: delete images or some of their volumes, reconcile a
chain, prepare/teardown and move images."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api import storage_wire
from vdsm.api.storage_args import storage, uuid
from vdsm.storage import errors
from vdsm.storage.imageclone import SyncType
from vdsm.storage.imageops import MoveOp

# Upstream's operation numbers (COPY_OP, MOVE_OP).
_OPERATIONS = {1: MoveOp.COPY, 2: MoveOp.MOVE}


@verb("Image.delete")
def delete(ctx: CallContext, imageID: str, storagepoolID: str,
           storagedomainID: str, **unused: Any) -> str:
    return storage(ctx).images.delete_image(
        uuid(storagedomainID, "sdUUID"), uuid(storagepoolID, "spUUID"),
        uuid(imageID, "imgUUID"))


@verb("Image.deleteVolumes")
def delete_volumes(ctx: CallContext, imageID: str, storagepoolID: str,
                   storagedomainID: str, volumeList: list[str],
                   force: Any = False, **unused: Any) -> str:
    return storage(ctx).images.delete_volume(
        uuid(storagedomainID, "sdUUID"), uuid(storagepoolID, "spUUID"),
        uuid(imageID, "imgUUID"),
        [uuid(v, "volUUID") for v in volumeList],
        force=force in (True, "true"))


@verb("Image.reconcileVolumeChain")
def reconcile_volume_chain(ctx: CallContext, imageID: str,
                           storagepoolID: str, storagedomainID: str,
                           leafVolID: str) -> list[str]:
    return storage(ctx).images.reconcile_chain(
        uuid(storagedomainID, "sdUUID"), uuid(storagepoolID, "spUUID"),
        uuid(imageID, "imgUUID"), uuid(leafVolID, "volUUID"))


@verb("Image.prepare")
def prepare(ctx: CallContext, imageID: str, storagepoolID: str,
            storagedomainID: str, volumeID: str,
            **unused: Any) -> dict[str, Any]:
    return storage_wire.prepared_image(storage(ctx).images.prepare(
        uuid(storagedomainID, "sdUUID"), uuid(imageID, "imgUUID"),
        uuid(volumeID, "volUUID")))


@verb("Image.teardown")
def teardown(ctx: CallContext, imageID: str, storagepoolID: str,
             storagedomainID: str, volumeID: str | None = None) -> None:
    storage(ctx).images.teardown(uuid(storagedomainID, "sdUUID"), imageID,
                                 volumeID)


@verb("Image.move")
def move(ctx: CallContext, imageID: str, storagepoolID: str,
         storagedomainID: str, dstSdUUID: str, operation: int,
         **unused: Any) -> str:
    sp_uuid = uuid(storagepoolID, "spUUID")
    op = _OPERATIONS.get(operation)
    if op is None or isinstance(operation, bool):
        raise errors.InvalidParameter("bad op", value=operation)
    return storage(ctx).images.move_image(
        sp_uuid, uuid(storagedomainID, "srcDomUUID"),
        uuid(dstSdUUID, "dstDomUUID"), uuid(imageID, "imgUUID"), op)


@verb("Image.cloneStructure")
def clone_structure(ctx: CallContext, imageID: str, storagepoolID: str,
                    storagedomainID: str, dstSdUUID: str) -> str:
    return storage(ctx).images.clone_structure(
        uuid(storagepoolID, "spUUID"), uuid(storagedomainID, "sdUUID"),
        uuid(imageID, "imgUUID"), uuid(dstSdUUID, "dstSdUUID"))


@verb("Image.syncData")
def sync_data(ctx: CallContext, imageID: str, storagepoolID: str,
              storagedomainID: str, dstSdUUID: str, syncType: str) -> str:
    return storage(ctx).images.sync_data(
        uuid(storagepoolID, "spUUID"), uuid(storagedomainID, "sdUUID"),
        uuid(imageID, "imgUUID"), uuid(dstSdUUID, "dstSdUUID"),
        SyncType(syncType))
