"""Storage domain verbs: create, inspect, list and format file domains.

``Domains`` finds domains through the repository and asks the connected
pools whether a domain may be formatted. What changes a domain holds its
key in ``domain_locks`` (shared with ``HostPools``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from vdsm.common.exception import VdsmError
from vdsm.common.keyedlock import KeyedLocks
from vdsm.storage import constants as sc
from vdsm.storage import domain as dom_mod
from vdsm.storage import errors
from vdsm.storage.domain import DomainInfo, DomainSpec, Space
from vdsm.storage.hostpools import HostPools
from vdsm.storage.links import ImageLinks
from vdsm.storage.metadata import MetadataSealBroken
from vdsm.storage.monitor import DomainMonitor
from vdsm.storage.repository import Repository

log = logging.getLogger("vdsm.storage.domains")


@dataclass(frozen=True)
class DomainStats:
    space: Space
    valid: bool          # the monitor's last check (True: not monitored)


class Domains:
    def __init__(self, repository: Repository, pools: HostPools,
                 monitor: DomainMonitor, links: ImageLinks,
                 domain_locks: KeyedLocks, sanlock_io_timeout: int) -> None:
        self._repo = repository
        self._pools = pools
        self._monitor = monitor
        self._links = links
        self._domain_locks = domain_locks
        self._sanlock_io_timeout = sanlock_io_timeout

    def create(self, spec: DomainSpec) -> None:
        sc.check_uuid(spec.sd_uuid, "sd_uuid")
        if spec.dom_type not in sc.FILE_DOMAIN_TYPES:
            raise errors.InvalidParameter("unsupported domain type",
                                          value=spec.dom_type)
        if spec.dom_class not in sc.DOMAIN_CLASS_NAMES:
            raise errors.InvalidParameter("bad domClass",
                                          value=spec.dom_class)
        if spec.version not in sc.DOMAIN_VERSIONS:
            raise errors.InvalidParameter("unsupported domain version",
                                          value=spec.version)
        if not spec.name or "\n" in spec.name or len(spec.name) > 50:
            raise errors.InvalidParameter("bad domain name")
        mount_path = self._repo.mount_path(spec.remote_path)
        with self._domain_locks.hold(spec.sd_uuid):
            if self._repo.domain_exists(spec.sd_uuid):
                raise errors.StorageDomainAlreadyExists(sd=spec.sd_uuid)
            dom_mod.create(spec, mount_path,
                           self._repo.oop.get(mount_path),
                           self._sanlock_io_timeout)

    def info(self, sd_uuid: str) -> DomainInfo:
        return self._repo.find_domain(sd_uuid).info()

    def stats(self, sd_uuid: str) -> DomainStats:
        dom = self._repo.find_domain(sd_uuid)
        space = dom.space()
        health = self._monitor.stats().get(sd_uuid)
        return DomainStats(space=space,
                           valid=health.valid if health else True)

    def images(self, sd_uuid: str) -> list[str]:
        return self._repo.find_domain(sd_uuid).images()

    def volumes(self, sd_uuid: str, img_uuid: str) -> list[str]:
        """Volumes of one image (none if unknown); blank: of all images."""
        dom = self._repo.find_domain(sd_uuid)
        img_uuid = sc.check_uuid(img_uuid, "img_uuid")
        return dom.volumes(None if img_uuid == sc.BLANK_UUID else img_uuid)

    def list(self, sp_uuid: str | None = None, dom_class: int | None = None,
             dom_type: int | None = None) -> list[str]:
        out = []
        for dom in self._repo.domains():
            try:
                info = dom.info()
            except (VdsmError, OSError, ValueError):
                # Unreadable, or numbers in its metadata that are not.
                continue
            if sp_uuid and sp_uuid not in info.pools:
                continue
            if dom_class and info.dom_class != \
                    sc.DOMAIN_CLASS_NAMES.get(dom_class):
                continue
            if dom_type and info.type != \
                    sc.DOMAIN_TYPE_NAMES.get(dom_type):
                continue
            out.append(dom.sd_uuid)
        return out

    def format(self, sd_uuid: str, auto_detach: bool = False) -> None:
        """Remove a domain that is in no connected pool, for good.

        Refused with 392 while the domain is a member of a pool this host
        is connected to, with 391 while its metadata names a pool (unless
        auto_detach); a domain whose metadata cannot be read is formatted
        all the same, as upstream allows.
        """
        sd_uuid = sc.check_uuid(sd_uuid, "sd_uuid")
        with self._domain_locks.hold(sd_uuid):
            self._format(sd_uuid, auto_detach)

    def _format(self, sd_uuid: str, auto_detach: bool) -> None:
        member_of = self._pools.member_of(sd_uuid)
        if member_of is not None:
            raise errors.CannotFormatStorageDomainInConnectedPool(
                sd=sd_uuid, pool=member_of)
        dom = self._repo.find_domain(sd_uuid)
        try:
            owner = dom.metadata().get("POOL_UUID", "")
        except MetadataSealBroken as e:
            log.warning("FORMAT sd=%s bad_metadata=%s", sd_uuid, e)
            owner = ""
        if owner and not auto_detach:
            raise errors.CannotFormatAttachedStorageDomain(sd=sd_uuid,
                                                           pool=owner)
        self._monitor.stop(sd_uuid)
        dom_mod.remove(dom, self._repo.remove_timeout)
        self._links.unlink_domain(sd_uuid)
        self._repo.forget(sd_uuid)
