"""External leases: ``services.storage.leases`` (the Lease.* verbs).

A lease is a sanlock resource in a domain's xleases volume, named by
its lease id, found through the volume's index (xlease.py). Any host
looks leases up (``lookup``: what a VM's lease device names); only the
SPM changes them (create, delete, rebuild_leases), as SPM tasks whose
input is checked before the task starts, so bad input gets its code at
once and changes nothing.

A lease may carry metadata in its sanlock lock value block (LVB): the
engine's job fencing (upstream's JobMetadata, JSON). ``fence`` takes the
lease (so the host running the job must have lost it), checks that the
metadata is what the caller expects, and writes it back with the
generation raised and the job FENCED.

Recovery: a create or delete records its rollback (remove the lease,
whatever state its record is in) before it writes; a rebuild records a
rebuild. A task cut short by a crash is rolled back when this host is
SPM again (tasks.py), so no record stays "updating".
"""

from __future__ import annotations

import enum
import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable

from vdsm.common.keyedlock import KeyedLocks
from vdsm.storage import clusterlock
from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage import xlease
from vdsm.storage.domain import FileDomain
from vdsm.storage.hostpools import HostPools
from vdsm.storage.repository import Repository
from vdsm.storage.tasks import Task, TaskKind, TaskManager
from vdsm.storage.xlease import LeaseInfo, LeasesVolume

log = logging.getLogger("vdsm.storage.leases")

__all__ = ["LeaseInfo", "Leases", "lookup"]


def lookup(dom: FileDomain, lease_id: str) -> LeaseInfo:
    """Where lease_id of domain dom lives (path and offset in its
    xleases volume). 2009 if the domain has no xleases volume, 936 if
    no such lease."""
    io = _xleases(dom)
    try:
        vol = LeasesVolume(dom.sd_uuid, io)
    except errors.LeaseIndexNotFormatted:
        raise errors.NoSuchLease(lease=lease_id) from None
    return vol.lookup(lease_id)


def _xleases(dom: FileDomain) -> xlease.BlockIO:
    if not dom.supports_xleases():
        raise errors.UnsupportedOperation(
            "storage domain does not support external leases",
            sd=dom.sd_uuid)
    return dom.xleases()


class JobStatus(enum.StrEnum):
    PENDING = "PENDING"
    FAILED = "FAILED"
    SUCCEEDED = "SUCCEEDED"
    FENCED = "FENCED"


@dataclass(frozen=True)
class JobMetadata:
    """Upstream's JobMetadata, the only LeaseMetadata type."""

    job_id: str
    generation: int
    job_status: JobStatus
    type: str = "JOB"
    created: int | None = None
    modified: int | None = None
    host_hardware_id: str | None = None

    def encode(self) -> bytes:
        d = {k: (str(v) if isinstance(v, JobStatus) else v)
             for k, v in asdict(self).items() if v is not None}
        return json.dumps(d, sort_keys=True,
                          separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> JobMetadata | None:
        if not data:
            return None
        try:
            return job_metadata(json.loads(data))
        except (ValueError, errors.InvalidParameter) as e:
            log.warning("LVB unreadable data=%r error=%s", data, e)
            return None


def job_metadata(d: Any) -> JobMetadata:
    """A JobMetadata from its dict (the wire's or the LVB's); 1000 if
    it is not one."""
    if not isinstance(d, dict) or d.get("type", "JOB") != "JOB":
        raise errors.InvalidParameter("lease metadata must be a JOB", value=d)
    try:
        md = JobMetadata(
            job_id=sc.check_uuid(d["job_id"], "job_id"),
            generation=_uint(d["generation"], "generation"),
            job_status=JobStatus(d["job_status"]),
            created=_opt_uint(d.get("created"), "created"),
            modified=_opt_uint(d.get("modified"), "modified"),
            host_hardware_id=_opt_str(d.get("host_hardware_id")))
    except KeyError as e:
        raise errors.InvalidParameter(f"lease metadata lacks {e}") from None
    except ValueError as e:
        raise errors.InvalidParameter(f"bad lease metadata: {e}") from None
    return md


def _uint(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.InvalidParameter(f"{name} is not an unsigned int",
                                      value=value)
    return value


def _opt_uint(value: Any, name: str) -> int | None:
    return None if value is None else _uint(value, name)


def _opt_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise errors.InvalidParameter("host_hardware_id is not a string")
    return value


@dataclass(frozen=True)
class LeaseStatus:
    owners: list[int]       # host ids holding it now; [] if free
    version: int            # sanlock's lease version (lver)
    metadata: JobMetadata | None


class Leases:
    def __init__(self, repository: Repository, pools: HostPools,
                 tasks: TaskManager,
                 host_hardware_id: Callable[[], str | None]) -> None:
        self._repo = repository
        self._pools = pools
        self._tasks = tasks
        self._hardware_id = host_hardware_id
        # Changes of one domain's xleases, one at a time.
        self._locks = KeyedLocks()
        tasks.rollbacks["remove_lease"] = self._rollback_remove
        tasks.rollbacks["rebuild_leases"] = self._rollback_rebuild

    # Any host.

    def lookup(self, sd_id: str, lease_id: str) -> LeaseInfo:
        """The typed lookup for lease devices: domain id and lease id ->
        path and offset."""
        dom = self._repo.find_domain(sc.check_uuid(sd_id, "sd_id"))
        return lookup(dom, xlease.check_lease_id(lease_id))

    info = lookup

    def status(self, sd_id: str, lease_id: str) -> LeaseStatus:
        """Owners and version from sanlock; the metadata (LVB) only of
        a free lease, read by taking it a moment (sanlock shows the LVB
        to a holder only), so the version grows by one then."""
        dom = self._repo.find_domain(sc.check_uuid(sd_id, "sd_id"))
        info = lookup(dom, xlease.check_lease_id(lease_id))
        bs = dom.block_size
        owners = clusterlock.lease_owners(sd_id, lease_id, info.path,
                                          info.offset, bs)
        metadata = None
        if not owners:
            with self._held(info):
                metadata = JobMetadata.decode(self._get_lvb(info, bs))
        res = clusterlock.read_lease(info.path, info.offset, bs)
        return LeaseStatus(owners=owners, version=res.version if res else 0,
                           metadata=metadata)

    def fence(self, sd_id: str, lease_id: str, expected: JobMetadata
              ) -> JobMetadata:
        """Take the lease (651 if its holder still has it), check its
        metadata is ``expected`` (911 if the generation differs, 1000
        if another job's), write it with the generation raised and the
        job FENCED; return what was written."""
        dom = self._repo.find_domain(sc.check_uuid(sd_id, "sd_id"))
        info = lookup(dom, xlease.check_lease_id(lease_id))
        with self._locks.hold(sd_id), self._held(info):
            current = JobMetadata.decode(self._get_lvb(info, dom.block_size))
            _check_expected(current, expected)
            assert current is not None
            fenced = replace(current, generation=current.generation + 1,
                             job_status=JobStatus.FENCED,
                             modified=int(time.time()),
                             host_hardware_id=self._hardware_id())
            clusterlock.set_lvb(sd_id, lease_id, info.path, info.offset,
                                _fits(fenced, dom.block_size))
        log.info("FENCE sd=%s lease=%s generation=%s", sd_id, lease_id,
                 fenced.generation)
        return fenced

    # SPM.

    def create(self, sd_id: str, lease_id: str,
               metadata: JobMetadata | None = None) -> str:
        dom = self._spm_domain(sd_id)
        xlease.check_lease_id(lease_id)
        lvb = None if metadata is None else _fits(metadata, dom.block_size)
        io = _xleases(dom)
        self._check_absent(dom, io, lease_id)

        def run(task: Task) -> None:
            with self._locks.hold(sd_id):
                vol = self._volume(dom, io)
                task.add_rollback("remove_lease", sd_id=sd_id,
                                  lease_id=lease_id)
                info = vol.add(lease_id)
                if lvb is not None:
                    with self._held(info):
                        clusterlock.set_lvb(sd_id, lease_id, info.path,
                                            info.offset, lvb)
        return self._tasks.start(TaskKind.CREATE_LEASE, run)

    def delete(self, sd_id: str, lease_id: str) -> str:
        dom = self._spm_domain(sd_id)
        xlease.check_lease_id(lease_id)
        lookup(dom, lease_id)

        def run(task: Task) -> None:
            task.add_rollback("remove_lease", sd_id=sd_id, lease_id=lease_id)
            self._remove(dom, lease_id)
        return self._tasks.start(TaskKind.DELETE_LEASE, run)

    def rebuild(self, sd_id: str) -> str:
        dom = self._spm_domain(sd_id)
        io = _xleases(dom)

        def run(task: Task) -> None:
            task.add_rollback("rebuild_leases", sd_id=sd_id)
            with self._locks.hold(sd_id):
                xlease.rebuild_index(sd_id, io)
        return self._tasks.start(TaskKind.REBUILD_LEASES, run)

    # Helpers.

    def _spm_domain(self, sd_id: str) -> FileDomain:
        sd_id = sc.check_uuid(sd_id, "sd_id")
        sp_uuid = self._pools.member_of(sd_id)
        if sp_uuid is None:
            # Not in a pool this host is connected to: not its SPM.
            self._repo.find_domain(sd_id)
            raise errors.NotSPM("domain in no connected pool", sd=sd_id)
        return self._pools.spm_pool(sp_uuid).domain(sd_id)

    def _check_absent(self, dom: FileDomain, io: xlease.BlockIO,
                      lease_id: str) -> None:
        try:
            vol = LeasesVolume(dom.sd_uuid, io)
        except errors.LeaseIndexNotFormatted:
            return
        recnum = vol.index.find(lease_id)
        if recnum != -1:
            if vol.index.record(recnum).updating:
                raise errors.LeaseUpdating(lease=lease_id)
            raise errors.LeaseExists(lease=lease_id)
        free = vol.index.find_free()
        if free == -1 or free >= xlease.capacity(io.size()):
            raise errors.NoSpaceForLease(lease=lease_id)

    def _volume(self, dom: FileDomain, io: xlease.BlockIO) -> LeasesVolume:
        """The volume, its index formatted first if it never was (a
        domain laid out before this version)."""
        try:
            return LeasesVolume(dom.sd_uuid, io)
        except errors.LeaseIndexNotFormatted:
            log.info("FORMAT_ON_DEMAND sd=%s", dom.sd_uuid)
            xlease.format_index(dom.sd_uuid, io)
            return LeasesVolume(dom.sd_uuid, io)

    def _remove(self, dom: FileDomain, lease_id: str) -> None:
        with self._locks.hold(dom.sd_uuid):
            self._volume(dom, _xleases(dom)).remove(lease_id)

    def _held(self, info: LeaseInfo) -> _Held:
        return _Held(info)

    @staticmethod
    def _get_lvb(info: LeaseInfo, block_size: int) -> bytes:
        return clusterlock.get_lvb(info.sd_id, info.lease_id, info.path,
                                   info.offset, block_size)

    # Rollbacks (run on failure, stop, or after a crash by the next SPM).

    def _rollback_remove(self, sd_id: str, lease_id: str) -> None:
        try:
            self._remove(self._repo.find_domain(sd_id), lease_id)
        except errors.NoSuchLease:
            return    # cut short before the record was written

    def _rollback_rebuild(self, sd_id: str) -> None:
        dom = self._repo.find_domain(sd_id)
        with self._locks.hold(sd_id):
            xlease.rebuild_index(sd_id, _xleases(dom))


class _Held:
    """The lease taken by this process (with its LVB) while inside."""

    def __init__(self, info: LeaseInfo) -> None:
        self.info = info

    def __enter__(self) -> LeaseInfo:
        i = self.info
        clusterlock.acquire_lvb(i.sd_id, i.lease_id, i.path, i.offset)
        return i

    def __exit__(self, *exc: object) -> None:
        i = self.info
        clusterlock.release(i.sd_id, i.lease_id, i.path, i.offset)


def _fits(md: JobMetadata, block_size: int) -> bytes:
    """md as the LVB holds it; 1000 if it does not fit in one sector."""
    data = md.encode()
    if len(data) > block_size:
        raise errors.InvalidParameter(
            f"lease metadata is {len(data)} bytes, at most {block_size}")
    return data


def _check_expected(current: JobMetadata | None,
                    expected: JobMetadata) -> None:
    if current is None:
        raise errors.InvalidParameter("the lease holds no metadata")
    if current.generation != expected.generation:
        raise errors.GenerationMismatch(requested=expected.generation,
                                        actual=current.generation)
    if (current.job_id, current.job_status, current.type) != \
            (expected.job_id, expected.job_status, expected.type):
        raise errors.InvalidParameter(
            "lease metadata differs", expected=expected.encode().decode(),
            actual=current.encode().decode())
