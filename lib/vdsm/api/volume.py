"""Volume namespace: create, inspect, resize and delete volumes."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api import storage_wire
from vdsm.api.storage_args import storage, to_int, uuid
from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.volume import VolumeRef, VolumeSpec
from vdsm.storage.volumecopy import SHARED_ROLE, CopyRequest


@verb("Volume.create")
def create(ctx: CallContext, volumeID: str, storagepoolID: str,
           storagedomainID: str, imageID: str, size: Any, volFormat: int,
           preallocate: int, diskType: str, desc: str, srcImgUUID: str,
           srcVolUUID: str, addBitmaps: bool, legal: bool, sequence: int,
           bitmap: str | None, **unused: Any) -> str:
    if srcVolUUID != sc.BLANK_UUID and srcImgUUID not in (
            imageID, sc.BLANK_UUID):
        raise errors.InvalidParameter(
            "the parent must be in the same image", srcImgUUID=srcImgUUID,
            imageID=imageID)
    spec = VolumeSpec(
        img_uuid=imageID, vol_uuid=volumeID, size=to_int(size, "size"),
        fmt=volFormat, prealloc=preallocate, disk_type=diskType,
        description=desc, parent_uuid=srcVolUUID, legal=legal,
        sequence=sequence, add_bitmaps=addBitmaps, bitmap=bitmap)
    uuid(storagepoolID, "spUUID")
    uuid(storagedomainID, "sdUUID")
    uuid(imageID, "imgUUID")
    uuid(volumeID, "volUUID")
    if srcVolUUID != sc.BLANK_UUID:
        uuid(srcVolUUID, "srcVolUUID")
    return storage(ctx).images.create_volume(storagedomainID,
                                             storagepoolID, spec)


@verb("Volume.getInfo")
def get_info(ctx: CallContext, volumeID: str, storagepoolID: str,
             storagedomainID: str, imageID: str) -> dict[str, Any]:
    return storage_wire.volume_info(storage(ctx).images.volume_info(
        uuid(storagedomainID, "sdUUID"), uuid(imageID, "imgUUID"),
        uuid(volumeID, "volUUID")))


@verb("Volume.getSize")
def get_size(ctx: CallContext, volumeID: str, storagepoolID: str,
             storagedomainID: str, imageID: str) -> dict[str, Any]:
    return storage_wire.volume_size(storage(ctx).images.volume_size(
        uuid(storagedomainID, "sdUUID"), uuid(imageID, "imgUUID"),
        uuid(volumeID, "volUUID")))


@verb("Volume.delete")
def delete(ctx: CallContext, volumeID: str, storagepoolID: str,
           storagedomainID: str, imageID: str, force: bool,
           **unused: Any) -> str:
    return storage(ctx).images.delete_volume(
        uuid(storagedomainID, "sdUUID"), uuid(storagepoolID, "spUUID"),
        uuid(imageID, "imgUUID"), [uuid(volumeID, "volUUID")], force=force)


@verb("Volume.extendSize")
def extend_size(ctx: CallContext, volumeID: str, storagepoolID: str,
                storagedomainID: str, imageID: str, newSize: str) -> str:
    # storagedomainID is looked up in the pool first (353 if it is not
    # one of its domains, whatever its form).
    return storage(ctx).images.extend_volume(
        storagedomainID, uuid(storagepoolID, "spUUID"),
        uuid(imageID, "imgUUID"), uuid(volumeID, "volUUID"),
        to_int(newSize, "newSize"))


@verb("Volume.setDescription")
def set_description(ctx: CallContext, volumeID: str, storagepoolID: str,
                    storagedomainID: str, imageID: str,
                    description: str) -> None:
    storage(ctx).images.set_description(
        storagedomainID, uuid(storagepoolID, "spUUID"),
        uuid(imageID, "imgUUID"), uuid(volumeID, "volUUID"), description)


@verb("Volume.setLegality")
def set_legality(ctx: CallContext, volumeID: str, storagepoolID: str,
                 storagedomainID: str, imageID: str, legality: str) -> None:
    storage(ctx).images.set_legality(
        storagedomainID, uuid(storagepoolID, "spUUID"),
        uuid(imageID, "imgUUID"), uuid(volumeID, "volUUID"), legality)


@verb("Volume.getQemuImageInfo")
def get_qemu_image_info(ctx: CallContext, volumeID: str, storagepoolID: str,
                        storagedomainID: str,
                        imageID: str) -> dict[str, Any]:
    return storage_wire.qemu_image_info(storage(ctx).images.qemu_image_info(
        uuid(storagedomainID, "sdUUID"), uuid(imageID, "imgUUID"),
        uuid(volumeID, "volUUID")))


@verb("Volume.measure")
def measure(ctx: CallContext, volumeID: str, storagepoolID: str,
            storagedomainID: str, imageID: str, dstVolFormat: int,
            backing_chain: bool, baseID: str | None) -> dict[str, Any]:
    return storage_wire.measure(storage(ctx).images.measure(
        uuid(storagedomainID, "sdUUID"), uuid(imageID, "imgUUID"),
        uuid(volumeID, "volUUID"), dstVolFormat, backing_chain,
        None if baseID is None else uuid(baseID, "baseID")))


def _flag(value: Any) -> bool:
    """The engine's booleans: true/false or their strings."""
    return value is True or (isinstance(value, str)
                             and value.lower() == "true")


@verb("Volume.copy")
def copy(ctx: CallContext, volumeID: str, storagepoolID: str,
         storagedomainID: str, imageID: str, dstSdUUID: str,
         dstImgUUID: str, dstVolUUID: str, desc: str, volType: Any,
         volFormat: Any, preallocate: Any, postZero: Any, force: Any,
         **unused: Any) -> str:
    sd = uuid(storagedomainID, "sdUUID")
    dst_sd = uuid(dstSdUUID, "dstSdUUID")
    if dst_sd == sc.BLANK_UUID:
        dst_sd = sd
    fmt = to_int(volFormat, "volFormat")
    prealloc = to_int(preallocate, "preallocate")
    role = str(volType)
    req = CopyRequest(
        dst_img=uuid(dstImgUUID, "dstImgUUID"),
        dst_vol=uuid(dstVolUUID, "dstVolUUID"), description=desc,
        # Upstream's UNKNOWN (0), or any other number: the source's.
        fmt=fmt if fmt in sc.FORMAT_NAMES else None,
        prealloc=prealloc if prealloc in sc.TYPE_NAMES else None,
        shared=role in (str(SHARED_ROLE), sc.SHARED), force=_flag(force))
    return storage(ctx).images.copy_volume(
        uuid(storagepoolID, "spUUID"),
        VolumeRef(sd, uuid(imageID, "imgUUID"), uuid(volumeID, "volUUID")),
        dst_sd, req)
