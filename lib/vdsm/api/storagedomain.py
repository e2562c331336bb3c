"""StorageDomain namespace: file domains and their pool membership."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api import storage_wire
from vdsm.api.storage_args import storage, to_int, uuid
from vdsm.storage import constants as sc
from vdsm.storage.domain import DomainSpec


@verb("StorageDomain.create")
def create(ctx: CallContext, storagedomainID: str, domainType: int,
           typeArgs: str, name: str, domainClass: int, version: Any,
           **unused: Any) -> None:
    uuid(storagedomainID, "sdUUID")
    storage(ctx).domains.create(DomainSpec(
        sd_uuid=storagedomainID, name=name, dom_type=domainType,
        dom_class=domainClass,
        version=(sc.DEFAULT_DOMAIN_VERSION if version is None
                 else to_int(version, "version")),
        remote_path=typeArgs))


@verb("StorageDomain.getInfo")
def get_info(ctx: CallContext, storagedomainID: str) -> dict[str, Any]:
    return storage_wire.domain_info(
        storage(ctx).domains.info(uuid(storagedomainID, "sdUUID")))


@verb("StorageDomain.getStats")
def get_stats(ctx: CallContext, storagedomainID: str) -> dict[str, Any]:
    return storage_wire.domain_stats(
        storage(ctx).domains.stats(uuid(storagedomainID, "sdUUID")))


@verb("StorageDomain.getImages")
def get_images(ctx: CallContext, storagedomainID: str) -> list[str]:
    return storage(ctx).domains.images(uuid(storagedomainID, "sdUUID"))


@verb("StorageDomain.getVolumes")
def get_volumes(ctx: CallContext, storagedomainID: str, storagepoolID: str,
                imageID: str) -> list[str]:
    # storagepoolID is unused, as upstream: the domain is found by itself.
    return storage(ctx).domains.volumes(uuid(storagedomainID, "sdUUID"),
                                        uuid(imageID, "imgUUID"))


@verb("StorageDomain.format")
def format_domain(ctx: CallContext, storagedomainID: str,
                  autoDetach: bool) -> None:
    storage(ctx).domains.format(uuid(storagedomainID, "sdUUID"), autoDetach)


@verb("StorageDomain.attach")
def attach(ctx: CallContext, storagedomainID: str,
           storagepoolID: str) -> None:
    storage(ctx).pools.attach_domain(uuid(storagedomainID, "sdUUID"),
                                     uuid(storagepoolID, "spUUID"))


@verb("StorageDomain.detach")
def detach(ctx: CallContext, storagedomainID: str, storagepoolID: str,
           **unused: Any) -> None:
    storage(ctx).pools.detach_domain(uuid(storagedomainID, "sdUUID"),
                                     uuid(storagepoolID, "spUUID"))


@verb("StorageDomain.activate")
def activate(ctx: CallContext, storagedomainID: str,
             storagepoolID: str) -> None:
    storage(ctx).pools.activate_domain(uuid(storagedomainID, "sdUUID"),
                                       uuid(storagepoolID, "spUUID"))


@verb("StorageDomain.deactivate")
def deactivate(ctx: CallContext, storagedomainID: str, storagepoolID: str,
               **unused: Any) -> None:
    storage(ctx).pools.deactivate_domain(uuid(storagedomainID, "sdUUID"),
                                         uuid(storagepoolID, "spUUID"))
