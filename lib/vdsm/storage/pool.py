"""Storage pools and the SPM role.

A pool is a set of domains, one of them the master. Its metadata lives in
the master domain's metadata (upstream's v4+ layout): ``POOL_UUID``,
``POOL_DESCRIPTION``, ``POOL_DOMAINS`` (``sdUUID:Active,sdUUID:Attached``),
``POOL_SPM_ID``, ``POOL_SPM_LVER``, ``MASTER_VERSION``, ``ROLE=Master``.
Each member domain names the pool in its own ``POOL_UUID``.

Connecting a pool acquires this host's id in the master domain's lockspace.
The SPM (the one host allowed to change metadata) holds the ``SDM`` lease
of the master's ``leases`` with sanlock; ``spm_start`` takes it, then
recovers the tasks persisted on the master domain.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
from dataclasses import dataclass
from typing import Callable

from vdsm.storage import clusterlock
from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage import master as master_mod
from vdsm.storage.domain import FileDomain
from vdsm.storage.tasks import TaskKind, TaskManager, TaskStore

log = logging.getLogger("vdsm.storage.pool")

FindDomain = Callable[[str], FileDomain]


class SpmRole(enum.Enum):
    """This host's role in the pool (as upstream's spmRole: another host
    being the SPM leaves this one Free)."""

    SPM = "SPM"            # this host holds the SDM lease
    FREE = "Free"
    CONTEND = "Contend"    # this host is taking the lease (in spmStart)


@dataclass(frozen=True)
class SpmStatus:
    """This host's role, and who holds the SDM lease on the storage now
    (sanlock's owner and lease version; -1 and -1 when nobody does)."""

    host_id: int         # the SPM's host id; -1: none
    role: SpmRole
    lver: int            # the SPM lease's version; -1: none


# Lease parameters of StoragePool.create, kept in the master domain's
# metadata under upstream's keys; IOOPTIMEOUTSEC is the sanlock io timeout
# every host adds its id with (sanlock takes a dead host's leases over
# after 8 of them, so short values make failover fast).
LEASE_KEYS = {"lockRenewalIntervalSec": "LOCKRENEWALINTERVALSEC",
              "leaseTimeSec": "LEASETIMESEC",
              "ioOpTimeoutSec": "IOOPTIMEOUTSEC",
              "leaseRetries": "LEASERETRIES"}

# What create() adds to the master domain's metadata besides POOL_UUID and
# ROLE; destroy() takes them away again.
POOL_KEYS = master_mod.POOL_KEYS


def parse_domains(value: str) -> dict[str, str]:
    out = {}
    for item in value.split(","):
        if ":" in item:
            sd, status = item.split(":", 1)
            out[sd] = status
    return out


def dump_domains(domains: dict[str, str]) -> str:
    return ",".join(f"{sd}:{st}" for sd, st in sorted(domains.items()))


def create(find: FindDomain, sp_uuid: str, name: str, master_uuid: str,
           master_version: int, domain_uuids: list[str],
           lease_params: dict[str, int] | None = None) -> None:
    master = find(master_uuid)
    doms = {sd: find(sd) for sd in set(domain_uuids) | {master_uuid}}
    for sd, dom in doms.items():
        owner = dom.metadata().get("POOL_UUID", "")
        if owner and owner != sp_uuid:
            raise errors.StorageDomainAlreadyAttached(sd=sd, pool=owner)
    for sd, dom in doms.items():
        if sd != master_uuid:
            dom.update_metadata(POOL_UUID=sp_uuid)
    master.io.call("makedirs", path=os.path.join(master.master_dir(),
                                                 "tasks"))
    lease_md = {LEASE_KEYS[k]: str(v)
                for k, v in (lease_params or {}).items()}
    master.update_metadata(
        **lease_md,
        POOL_UUID=sp_uuid, ROLE=sc.MASTER_ROLE, POOL_DESCRIPTION=name,
        MASTER_VERSION=str(master_version), POOL_SPM_ID="-1",
        POOL_SPM_LVER="-1",
        POOL_DOMAINS=dump_domains({sd: sc.DOM_ACTIVE if sd == master_uuid
                                   else sc.DOM_ATTACHED for sd in doms}))
    log.info("CREATE pool=%s master=%s domains=%s", sp_uuid, master_uuid,
             sorted(doms))


def check_host_id(host_id: int) -> None:
    """sanlock's host ids are 1-2000; upstream's add_lockspace of another
    fails with AcquireHostIdFailure (661)."""
    if not 1 <= host_id <= MAX_HOST_ID:
        raise errors.AcquireHostIdFailure("host id out of range 1-2000",
                                          host_id=host_id)


MAX_HOST_ID = 2000


def find_master(find: FindDomain, sp_uuid: str, master_uuid: str,
                master_version: int) -> FileDomain:
    """The master domain, checked as upstream's setMasterDomain: 304 when
    it cannot be found; 324 when it is not a master, not this pool's, not
    active in it, or of another master version."""
    try:
        master = find(master_uuid)
        md = master.metadata()
    except errors.StorageDomainDoesNotExist:
        raise errors.StoragePoolMasterNotFound(pool=sp_uuid,
                                               sd=master_uuid) from None
    if md.get("ROLE") != sc.MASTER_ROLE or md.get("POOL_UUID") != sp_uuid:
        raise errors.StoragePoolWrongMaster(pool=sp_uuid, sd=master_uuid)
    if int(md.get("MASTER_VERSION", "0")) != master_version:
        raise errors.StoragePoolWrongMaster(
            pool=sp_uuid, sd=master_uuid, version=md.get("MASTER_VERSION"),
            given=master_version)
    status = parse_domains(md.get("POOL_DOMAINS", "")).get(master_uuid)
    if status != sc.DOM_ACTIVE:
        raise errors.StoragePoolWrongMaster("master not active in the pool",
                                            pool=sp_uuid, sd=master_uuid)
    return master


class Pool:
    """A pool this host is connected to."""

    def __init__(self, sp_uuid: str, host_id: int, master: FileDomain,
                 find: FindDomain, tasks: TaskManager) -> None:
        self.sp_uuid = sp_uuid
        self.host_id = host_id
        self.master = master
        self._find = find
        self._tasks = tasks
        self._lock = threading.RLock()
        self.spm_lver = -1
        self.is_spm = False
        self.contending = False

    @classmethod
    def connect(cls, find: FindDomain, tasks: TaskManager, sp_uuid: str,
                host_id: int, master_uuid: str,
                master_version: int) -> "Pool":
        """The first StoragePool.connect of the pool on this host: as
        upstream's setMasterDomain, 304 for a master that cannot be found,
        324 for a domain that is not this pool's master or has another
        master version; 661 for a host id sanlock cannot take (outside
        1-2000). Nothing is acquired then."""
        check_host_id(host_id)
        master = find_master(find, sp_uuid, master_uuid, master_version)
        master.acquire_host_id(host_id)
        log.info("CONNECT pool=%s host_id=%s master=%s", sp_uuid, host_id,
                 master_uuid)
        return cls(sp_uuid, host_id, master, find, tasks)

    # Views.

    def metadata(self) -> dict[str, str]:
        return self.master.metadata()

    def domains(self) -> dict[str, str]:
        return parse_domains(self.metadata().get("POOL_DOMAINS", ""))

    def domain(self, sd_uuid: str, active: bool = True) -> FileDomain:
        status = self.domains().get(sd_uuid)
        if status is None:
            raise errors.StorageDomainNotInPool(sd=sd_uuid,
                                                pool=self.sp_uuid)
        if active and status != sc.DOM_ACTIVE:
            raise errors.StorageDomainNotActive(sd=sd_uuid)
        return self._find(sd_uuid)

    def spm_status(self) -> SpmStatus:
        if self.is_spm:
            return SpmStatus(self.host_id, SpmRole.SPM, self.spm_lver)
        role = SpmRole.CONTEND if self.contending else SpmRole.FREE
        owner, lver = self.lease_holder()
        return SpmStatus(owner, role, lver)

    def lease_holder(self) -> tuple[int, int]:
        """(host id, lease version) of the SDM lease's holder as sanlock
        reads it from the storage; (-1, -1) when it is free."""
        leases = self.master.md_path("leases")
        bs = self.master.block_size
        owners = clusterlock.lease_owners(self.master.sd_uuid,
                                          sc.SDM_LEASE_NAME, leases,
                                          sc.SDM_LEASE_OFFSET, bs)
        if not owners:
            return -1, -1
        return owners[0], clusterlock.lease_version(
            leases, sc.SDM_LEASE_OFFSET, bs)

    def require_spm(self) -> None:
        if not self.is_spm:
            raise errors.NotSPM(pool=self.sp_uuid)

    # SPM.

    def spm_start(self, prev_id: int = -1, prev_lver: int = -1) -> None:
        """Run inside the spmStart task.

        ``prev_id``/``prev_lver`` are what the engine last saw; as
        upstream (where they are obsolete) a mismatch with the storage is
        only logged: sanlock decides. A lease another live host holds
        fails the task with 651 (AcquireLockFailure), this host Free again.
        """
        with self._lock:
            if self.is_spm:
                return
            owner, lver = self.lease_holder()
            if (owner, lver) != (prev_id, prev_lver):
                log.info("SPM_START pool=%s expected prev_id=%s lver=%s, "
                         "storage has id=%s lver=%s", self.sp_uuid, prev_id,
                         prev_lver, owner, lver)
            leases = self.master.md_path("leases")
            self.contending = True
            try:
                # The id may be lost (storage trouble): take it again.
                self.master.acquire_host_id(self.host_id)
                self.spm_lver = clusterlock.acquire(
                    self.master.sd_uuid, sc.SDM_LEASE_NAME, leases,
                    sc.SDM_LEASE_OFFSET, self.master.block_size)
            finally:
                self.contending = False
            try:
                self.master.update_metadata(
                    POOL_SPM_ID=str(self.host_id),
                    POOL_SPM_LVER=str(self.spm_lver))
            except Exception:
                clusterlock.release(self.master.sd_uuid, sc.SDM_LEASE_NAME,
                                    leases, sc.SDM_LEASE_OFFSET)
                raise
            self.is_spm = True
        log.info("SPM_START pool=%s host_id=%s lver=%s", self.sp_uuid,
                 self.host_id, self.spm_lver)
        self._tasks.recover(self.task_store())
        self.demote_stale_masters()

    def demote_stale_masters(self) -> None:
        """Members (active ones, reachable) that still say Master while
        another is: an old master back after reconstructMaster, or a
        switchMaster cut short. SPM only; a domain that cannot be read is
        left for the next time."""
        for sd_uuid, status in self.domains().items():
            if status != sc.DOM_ACTIVE:
                continue
            try:
                master_mod.demote_stale(self._find(sd_uuid), self.master)
            except (OSError, errors.StorageError) as e:
                log.warning("STALE_MASTER sd=%s error=%s", sd_uuid, e)

    def switch_master(self, old_uuid: str, new_uuid: str,
                      version: int) -> None:
        """switchMaster (run in its SPM task; checked before it starts by
        check_switch_master)."""
        with self._lock:
            self.check_switch_master(old_uuid, new_uuid, version)
            new = self._find(new_uuid)
            old = self.master
            # Task records first, so that a crash after the switch finds
            # them on the new master (its SPM rolls back the unfinished).
            old_store = self.task_store()
            self._tasks.move_store(TaskStore(
                new.io, os.path.join(new.master_dir(), "tasks")))
            try:
                lver = master_mod.switch(old, new, self.host_id, version,
                                         self.host_id)
            except Exception:
                self._tasks.move_store(old_store)
                raise
            self.master = new
            self.spm_lver = lver

    def check_switch_master(self, old_uuid: str, new_uuid: str,
                            version: int) -> None:
        self.require_spm()
        master_mod.check_switch(self.master, old_uuid, new_uuid, version,
                                self.domains(), self.sp_uuid)

    def task_store(self) -> TaskStore:
        return TaskStore(self.master.io,
                         os.path.join(self.master.master_dir(), "tasks"))

    def spm_stop(self) -> None:
        with self._lock:
            if not self.is_spm:
                return
            self._check_idle()
            self.master.update_metadata(POOL_SPM_ID="-1")
            self._release_spm()
        log.info("SPM_STOP pool=%s", self.sp_uuid)

    def _check_idle(self) -> None:
        busy = [t.id for t in self._tasks.running()
                if t.verb != TaskKind.SPM_START.value]
        if busy:
            raise errors.TaskNotFinished("tasks still running",
                                         tasks=",".join(busy))

    def _release_spm(self) -> None:
        clusterlock.release(self.master.sd_uuid, sc.SDM_LEASE_NAME,
                            self.master.md_path("leases"),
                            sc.SDM_LEASE_OFFSET)
        self.is_spm = False
        self._tasks.forget_all()

    # Membership (SPM only).

    def attach(self, sd_uuid: str) -> None:
        self.require_spm()
        with self._lock:
            dom = self._find(sd_uuid)
            owner = dom.metadata().get("POOL_UUID", "")
            if owner:
                raise errors.StorageDomainAlreadyAttached(sd=sd_uuid,
                                                          pool=owner)
            dom.update_metadata(POOL_UUID=self.sp_uuid)
            self._set_status(sd_uuid, sc.DOM_ATTACHED)

    def detach(self, sd_uuid: str) -> None:
        self.require_spm()
        with self._lock:
            if sd_uuid == self.master.sd_uuid:
                raise errors.InvalidParameter("cannot detach the master",
                                              sd=sd_uuid)
            dom = self.domain(sd_uuid, active=False)
            if self.domains()[sd_uuid] == sc.DOM_ACTIVE:
                raise errors.InvalidParameter(
                    "deactivate the domain first", sd=sd_uuid)
            doms = self.domains()
            del doms[sd_uuid]
            self.master.update_metadata(POOL_DOMAINS=dump_domains(doms))
            dom.update_metadata(POOL_UUID="")

    def activate(self, sd_uuid: str) -> FileDomain:
        self.require_spm()
        with self._lock:
            dom = self.domain(sd_uuid, active=False)
            # As upstream's activateSD: a returning old master is Regular.
            master_mod.demote_stale(dom, self.master)
            self._set_status(sd_uuid, sc.DOM_ACTIVE)
            return dom

    def deactivate(self, sd_uuid: str) -> None:
        self.require_spm()
        with self._lock:
            if sd_uuid == self.master.sd_uuid:
                raise errors.InvalidParameter(
                    "cannot deactivate the master", sd=sd_uuid)
            self.domain(sd_uuid, active=False)
            self._set_status(sd_uuid, sc.DOM_ATTACHED)

    def destroy(self) -> None:
        """Detach every domain and give up the SPM role (SPM only).

        Regular domains first, each losing its POOL_UUID before the pool
        metadata forgets it (a crash in between leaves a listed domain
        that is free, never an attached one the pool does not know). The
        master last, while the SPM lease still guards it: its pool keys
        go and it becomes a regular domain; once the lease is released,
        its task records are removed. Refused with 403 while tasks run,
        before anything changes.
        """
        self.require_spm()
        with self._lock:
            self._check_idle()
            master_uuid = self.master.sd_uuid
            for sd_uuid in sorted(self.domains()):
                if sd_uuid != master_uuid:
                    self._forget(sd_uuid)
            md = {k: v for k, v in self.metadata().items()
                  if k not in POOL_KEYS}
            md.update(POOL_UUID="", ROLE=sc.REGULAR)
            self.master.write_metadata(md)
            self._release_spm()
        log.info("DESTROY pool=%s master=%s", self.sp_uuid, master_uuid)
        try:
            self.master.io.call("rmtree", path=self.master.master_dir())
        except (OSError, errors.StorageError) as e:
            log.warning("DESTROY pool=%s leftover=%s error=%s", self.sp_uuid,
                        self.master.master_dir(), e)

    def _forget(self, sd_uuid: str) -> None:
        try:
            dom = self._find(sd_uuid)
            if dom.metadata().get("POOL_UUID") == self.sp_uuid:
                dom.update_metadata(POOL_UUID="")
        except errors.StorageDomainDoesNotExist:
            log.warning("DESTROY pool=%s missing_domain=%s", self.sp_uuid,
                        sd_uuid)
        doms = self.domains()
        doms.pop(sd_uuid, None)
        self.master.update_metadata(POOL_DOMAINS=dump_domains(doms))

    def _set_status(self, sd_uuid: str, status: str) -> None:
        doms = self.domains()
        doms[sd_uuid] = status
        self.master.update_metadata(POOL_DOMAINS=dump_domains(doms))

    def disconnect(self) -> None:
        if self.is_spm:
            raise errors.IsSPM(pool=self.sp_uuid)
        self.master.release_host_id(self.host_id, wait=False)
        log.info("DISCONNECT pool=%s", self.sp_uuid)
