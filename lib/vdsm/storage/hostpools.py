"""The pools this host is connected to, and its SPM role in them.

``HostPools`` connects and disconnects pools (at most one at a time, as
upstream), starts and stops the SPM role, and changes pool membership of
domains (attach, detach, activate, deactivate; SPM only). A domain
active in a connected pool is monitored, and this host holds its id in
the domain's lockspace.

Lock order: the ``HostPools`` lock, then a pool's lock; never the
reverse. Verbs that change what a domain is or where it belongs hold
its key in ``domain_locks`` (shared with ``Domains``), so a format
cannot remove a domain an attach is writing.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from vdsm.common.exception import VdsmError
from vdsm.common.keyedlock import KeyedLocks
from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage import master as master_mod
from vdsm.storage import pool as pool_mod
from vdsm.storage.domain import Space
from vdsm.storage.links import ImageLinks
from vdsm.storage.monitor import DomainMonitor
from vdsm.storage.pool import Pool, SpmStatus
from vdsm.storage.repository import Repository
from vdsm.storage.tasks import TaskKind, TaskManager

log = logging.getLogger("vdsm.storage.hostpools")


@dataclass(frozen=True)
class PoolDomain:
    """A member domain as the pool sees it. ``status`` is the pool
    metadata's (Active, Attached), or UNKNOWN for an active domain that
    cannot be read; space and version are None then."""

    status: str
    space: Space | None
    version: int | None


UNKNOWN = "Unknown"


@dataclass(frozen=True)
class PoolInfo:
    name: str
    master_uuid: str
    master_version: int
    spm: SpmStatus
    domains_value: str       # POOL_DOMAINS as the metadata holds it
    type: str
    version: str
    domains: dict[str, PoolDomain]


class HostPools:
    def __init__(self, repository: Repository, tasks: TaskManager,
                 monitor: DomainMonitor, links: ImageLinks,
                 domain_locks: KeyedLocks) -> None:
        self._repo = repository
        self._tasks = tasks
        self._monitor = monitor
        self._links = links
        self._domain_locks = domain_locks
        self._lock = threading.RLock()
        self._pools: dict[str, Pool] = {}

    # Lookups.

    def get(self, sp_uuid: str) -> Pool:
        sp_uuid = sc.check_uuid(sp_uuid, "sp_uuid")
        with self._lock:
            pool = self._pools.get(sp_uuid)
        if pool is None:
            raise errors.StoragePoolUnknown(pool=sp_uuid)
        return pool

    def spm_pool(self, sp_uuid: str) -> Pool:
        pool = self.get(sp_uuid)
        pool.require_spm()
        return pool

    def connected(self) -> list[str]:
        with self._lock:
            return list(self._pools)

    def member_of(self, sd_uuid: str) -> str | None:
        """The connected pool listing the domain, if any."""
        with self._lock:
            pools = list(self._pools.values())
        for pool in pools:
            if sd_uuid in pool.domains():
                return pool.sp_uuid
        return None

    # Pools.

    def create(self, sp_uuid: str, name: str, master_uuid: str,
               master_version: int, domains: list[str],
               lease_params: dict[str, int] | None = None) -> None:
        sc.check_uuid(sp_uuid, "sp_uuid")
        for sd in domains + [master_uuid]:
            sc.check_uuid(sd, "sd_uuid")
        self._check_pool_args(name, master_version, lease_params)
        with self._domain_locks.hold(master_uuid, *domains):
            pool_mod.create(self._repo.find_domain, sp_uuid, name,
                            master_uuid, master_version, domains,
                            lease_params)

    @staticmethod
    def _check_pool_args(name: str, master_version: int,
                         lease_params: dict[str, int] | None) -> None:
        # Upstream's limit: the name goes into every domain's metadata.
        if not name or len(name) > 50 or any(c in name for c in "\n,\0"):
            raise errors.InvalidParameter("bad pool name: 1-50 chars, no "
                                          "newline, comma or NUL")
        if master_version < 0:
            raise errors.InvalidParameter("negative masterVersion",
                                          value=master_version)
        for key, value in (lease_params or {}).items():
            if key not in pool_mod.LEASE_KEYS or value < 1:
                raise errors.InvalidParameter("bad lease parameter",
                                              name=key, value=value)

    def connect(self, sp_uuid: str, host_id: int, master_uuid: str,
                master_version: int) -> None:
        sp_uuid = sc.check_uuid(sp_uuid, "sp_uuid")
        master_uuid = sc.check_uuid(master_uuid, "master_uuid")
        with self._lock:
            connected = self._pools.get(sp_uuid)
            if connected is not None:
                self._refresh(connected, host_id, master_uuid,
                              master_version)
                return
            if self._pools:
                raise errors.StoragePoolConnectionError(
                    "connected to another pool", pool=list(self._pools)[0])
            pool = Pool.connect(self._repo.find_domain, self._tasks,
                                sp_uuid, host_id, master_uuid,
                                master_version)
            self._pools[sp_uuid] = pool
        for sd, status in pool.domains().items():
            if status == sc.DOM_ACTIVE:
                self._activate_locally(pool, sd)

    def _refresh(self, pool: Pool, host_id: int, master_uuid: str,
                 master_version: int) -> None:
        """StoragePool.connect of a connected pool: how the engine refreshes
        a host since 3.5: the same host id (else 325), then refresh()."""
        if host_id != pool.host_id:
            raise errors.StoragePoolConnected(
                pool=pool.sp_uuid, connected=pool.host_id, given=host_id)
        self.refresh(pool.sp_uuid, master_uuid, master_version)

    def refresh(self, sp_uuid: str, master_uuid: str,
                master_version: int) -> None:
        """StoragePool.refresh (upstream's refreshStoragePool): 309 for a
        pool not connected, the master checked as at connect (304, 324:
        nothing changes); then the pool follows the master on the storage
        and this host monitors the member domains active now, only those."""
        pool = self.get(sp_uuid)
        master_uuid = sc.check_uuid(master_uuid, "master_uuid")
        master = pool_mod.find_master(self._repo.find_domain, pool.sp_uuid,
                                      master_uuid, master_version)
        if master_uuid != pool.master.sd_uuid:
            master.acquire_host_id(pool.host_id)
            pool.master = master
        members = pool.domains()
        active = {sd for sd, status in members.items()
                  if status == sc.DOM_ACTIVE}
        monitored = set(self._monitor.monitored())
        for sd in sorted(active - monitored):
            self._activate_locally(pool, sd)
        # Members no longer active (domains outside the pool may be
        # monitored for other reasons: left alone).
        for sd in sorted((monitored & set(members)) - active):
            self._monitor.stop(sd)
            try:
                self._repo.find_domain(sd).release_host_id(
                    pool.host_id, wait=False)
            except VdsmError as e:
                log.warning("HOST_ID sd=%s error=%s", sd, e)
        log.info("REFRESH pool=%s master=%s version=%s active=%s",
                 pool.sp_uuid, master_uuid, master_version, sorted(active))

    def _activate_locally(self, pool: Pool, sd_uuid: str) -> None:
        if sd_uuid != pool.master.sd_uuid:
            try:
                self._repo.find_domain(sd_uuid).acquire_host_id(
                    pool.host_id, wait=False)
            except VdsmError as e:
                log.warning("HOST_ID sd=%s error=%s", sd_uuid, e)
        self._monitor.start(sd_uuid, pool.host_id)

    def disconnect(self, sp_uuid: str, host_id: int) -> None:
        pool = self.get(sp_uuid)
        self._disconnect(pool, list(pool.domains()))

    def destroy(self, sp_uuid: str, host_id: int) -> None:
        """Detach all domains, stop being SPM, disconnect (SPM only).

        Afterwards the domains are free: they may be formatted or put in
        another pool.
        """
        pool = self.get(sp_uuid)
        if host_id != pool.host_id:
            raise errors.HostIdMismatch(pool=pool.sp_uuid, given=host_id,
                                        connected=pool.host_id)
        members = list(pool.domains())
        pool.destroy()
        self._disconnect(pool, members)

    def _disconnect(self, pool: Pool, members: list[str]) -> None:
        pool.disconnect()
        for sd in members:
            self._monitor.stop(sd)
            if sd != pool.master.sd_uuid:
                try:
                    self._repo.find_domain(sd).release_host_id(
                        pool.host_id, wait=False)
                except VdsmError:
                    pass
        with self._lock:
            self._pools.pop(pool.sp_uuid, None)

    def info(self, sp_uuid: str) -> PoolInfo:
        pool = self.get(sp_uuid)
        md = pool.metadata()
        domains = {}
        for sd, status in pool.domains().items():
            try:
                dom = self._repo.find_domain(sd)
                space = dom.space()
                version = int(dom.metadata().get("VERSION", 0))
                domains[sd] = PoolDomain(status, space, version)
            except (VdsmError, OSError):
                domains[sd] = PoolDomain(
                    UNKNOWN if status == sc.DOM_ACTIVE else status,
                    None, None)
        return PoolInfo(
            name=md.get("POOL_DESCRIPTION", ""),
            master_uuid=pool.master.sd_uuid,
            master_version=int(md.get("MASTER_VERSION", 0)),
            spm=pool.spm_status(),
            domains_value=md.get("POOL_DOMAINS", ""),
            type=md.get("TYPE", ""), version=md.get("VERSION", ""),
            domains=domains)

    # SPM.

    def spm_start(self, sp_uuid: str, prev_id: int = -1,
                  prev_lver: int = -1) -> str:
        pool = self.get(sp_uuid)
        return self._tasks.start(
            TaskKind.SPM_START,
            lambda task: pool.spm_start(prev_id, prev_lver))

    def switch_master(self, sp_uuid: str, old_uuid: str, new_uuid: str,
                      version: int) -> str:
        """StoragePool.switchMaster: an SPM task. Its checks run first, so
        bad input (654, 324, 353, 369, 1000) fails the call, not a task."""
        pool = self.get(sp_uuid)
        old_uuid = sc.check_uuid(old_uuid, "old_master_uuid")
        new_uuid = sc.check_uuid(new_uuid, "new_master_uuid")
        pool.check_switch_master(old_uuid, new_uuid, version)
        return self._tasks.start(
            TaskKind.SWITCH_MASTER,
            lambda task: pool.switch_master(old_uuid, new_uuid, version))

    def reconstruct_master(self, sp_uuid: str, host_id: int, name: str,
                           master_uuid: str, master_version: int,
                           domains: dict[str, str],
                           lease_params: dict[str, int] | None = None
                           ) -> None:
        """StoragePool.reconstructMaster, on a host not connected to the
        pool (325 if it is): ``master_uuid`` becomes the pool's master with
        ``domains`` as its members; the engine then connects the pool with
        it. 1000 for a master not in ``domains`` or not active there, a bad
        status or lease parameter; 661 for a bad host id; 651 while another
        host holds the new master's SDM lease. Nothing written then."""
        sp_uuid = sc.check_uuid(sp_uuid, "sp_uuid")
        master_uuid = sc.check_uuid(master_uuid, "master_uuid")
        with self._lock:
            if self._pools:
                raise errors.StoragePoolConnected(
                    pool=list(self._pools)[0])
        statuses = master_mod.parse_statuses(domains)
        if statuses.get(master_uuid) != sc.DOM_ACTIVE:
            raise errors.InvalidParameter(
                "the master must be active in domainDict", sd=master_uuid)
        self._check_pool_args(name, master_version, lease_params)
        pool_mod.check_host_id(host_id)
        lease_md = {pool_mod.LEASE_KEYS[k]: str(v)
                    for k, v in (lease_params or {}).items()}
        with self._domain_locks.hold(master_uuid):
            master_mod.reconstruct(
                self._repo.find_domain(master_uuid), sp_uuid, host_id, name,
                master_version, pool_mod.dump_domains(statuses), lease_md)

    def spm_stop(self, sp_uuid: str) -> None:
        self.get(sp_uuid).spm_stop()

    def spm_status(self, sp_uuid: str) -> SpmStatus:
        return self.get(sp_uuid).spm_status()

    # Membership (SPM only).

    def attach_domain(self, sd_uuid: str, sp_uuid: str) -> None:
        sd_uuid = sc.check_uuid(sd_uuid, "sd_uuid")
        with self._domain_locks.hold(sd_uuid):
            self.spm_pool(sp_uuid).attach(sd_uuid)

    def detach_domain(self, sd_uuid: str, sp_uuid: str) -> None:
        sd_uuid = sc.check_uuid(sd_uuid, "sd_uuid")
        with self._domain_locks.hold(sd_uuid):
            self.spm_pool(sp_uuid).detach(sd_uuid)
            self._links.unlink_domain(sd_uuid)

    def activate_domain(self, sd_uuid: str, sp_uuid: str) -> None:
        sd_uuid = sc.check_uuid(sd_uuid, "sd_uuid")
        with self._domain_locks.hold(sd_uuid):
            pool = self.spm_pool(sp_uuid)
            pool.activate(sd_uuid)
            self._activate_locally(pool, sd_uuid)

    def deactivate_domain(self, sd_uuid: str, sp_uuid: str) -> None:
        sd_uuid = sc.check_uuid(sd_uuid, "sd_uuid")
        with self._domain_locks.hold(sd_uuid):
            pool = self.spm_pool(sp_uuid)
            pool.deactivate(sd_uuid)
            self._monitor.stop(sd_uuid)
            self._links.unlink_domain(sd_uuid)
            try:
                self._repo.find_domain(sd_uuid).release_host_id(
                    pool.host_id, wait=False)
            except VdsmError as e:
                log.warning("HOST_ID sd=%s error=%s", sd_uuid, e)
