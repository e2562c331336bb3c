"""Image namespace: delete, prepare/teardown and move images."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api import storage_wire
from vdsm.api.storage_args import storage


@verb("Image.delete")
def delete(ctx: CallContext, imageID: str, storagepoolID: str,
           storagedomainID: str, **unused: Any) -> str:
    return storage(ctx).images.delete_image(storagedomainID, storagepoolID,
                                            imageID)


@verb("Image.prepare")
def prepare(ctx: CallContext, imageID: str, storagepoolID: str,
            storagedomainID: str, volumeID: str,
            **unused: Any) -> dict[str, Any]:
    return storage_wire.prepared_image(storage(ctx).images.prepare(
        storagedomainID, imageID, volumeID))


@verb("Image.teardown")
def teardown(ctx: CallContext, imageID: str, storagepoolID: str,
             storagedomainID: str, volumeID: str | None = None) -> None:
    storage(ctx).images.teardown(storagedomainID, imageID, volumeID)


@verb("Image.move")
def move(ctx: CallContext, imageID: str, storagepoolID: str,
         storagedomainID: str, dstSdUUID: str, operation: int,
         **unused: Any) -> str:
    return storage(ctx).images.move_image(storagepoolID, storagedomainID,
                                          dstSdUUID, imageID, operation)
