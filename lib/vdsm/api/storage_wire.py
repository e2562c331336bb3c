"""Storage's typed values as the wire carries them.

Upstream's shapes: sizes as decimal strings where upstream sends strings
(``disktotal``, ``capacity`` ...), upstream's key names and key order.
The metadata's own strings (domain type and class, volume format and
legality ...) travel as they are: upstream sends its metadata values.
"""

from __future__ import annotations

from typing import Any

from vdsm.storage.domain import DomainInfo
from vdsm.storage.domains import DomainStats
from vdsm.storage.hostpools import PoolInfo
from vdsm.storage.imagedir import Drive
from vdsm.storage.jobs import JobInfo, JobStatus
from vdsm.storage.monitor import DomainHealth
from vdsm.storage.pool import SpmRole, SpmStatus
from vdsm.storage.qemuimg import Measure
from vdsm.storage.tasks import (Task, TaskKind, TaskResult, TaskState,
                                TaskStatus)
from vdsm.storage.volinspect import QemuImageInfo
from vdsm.storage.volume import VolumeInfo, VolumeSize

# Domains.


def domain_info(info: DomainInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "uuid": info.uuid, "type": info.type, "class": info.dom_class,
        "name": info.name, "role": info.role, "pool": list(info.pools),
        "version": info.version, "remotePath": info.remote_path,
        "block_size": info.block_size, "alignment": info.alignment}
    if info.master_version is not None:
        out["master_ver"] = info.master_version
    return out


def domain_stats(stats: DomainStats) -> dict[str, Any]:
    # No metadata area on file domains: upstream's constant answers.
    return {"disktotal": str(stats.space.total),
            "diskfree": str(stats.space.free),
            "mdavalid": True, "mdathreshold": True,
            "mdasize": 0, "mdafree": 0, "valid": stats.valid}


def repo_stats(health: dict[str, DomainHealth]) -> dict[str, Any]:
    """Host.getStorageRepoStats and getStats' storageDomains."""
    return {sd: {"code": h.code, "valid": h.valid,
                 "delay": f"{h.delay:.6f}", "lastCheck": f"{h.age():.1f}",
                 "acquired": h.acquired, "version": h.version,
                 "actual": h.actual}
            for sd, h in health.items()}


# Pools.

_SPM_ROLE = {SpmRole.SPM: "SPM", SpmRole.FREE: "Free",
             SpmRole.CONTEND: "Contend"}


def spm_status(status: SpmStatus) -> dict[str, Any]:
    return {"spmId": status.host_id, "spmStatus": _SPM_ROLE[status.role],
            "spmLver": status.lver}


def pool_info(info: PoolInfo) -> dict[str, Any]:
    dominfo = {}
    for sd, dom in info.domains.items():
        entry: dict[str, Any] = {"status": dom.status, "alerts": []}
        if dom.space is not None:
            entry.update(diskfree=str(dom.space.free),
                         disktotal=str(dom.space.total),
                         version=dom.version)
        dominfo[sd] = entry
    return {"info": {"name": info.name, "master_uuid": info.master_uuid,
                     "master_ver": info.master_version,
                     "spm_id": info.spm.host_id, "lver": info.spm.lver,
                     "domains": info.domains_value,
                     "pool_status": "connected", "type": info.type,
                     "isoprefix": "", "version": info.version},
            "dominfo": dominfo}


# Volumes and images.


def volume_info(info: VolumeInfo) -> dict[str, Any]:
    return {"uuid": info.uuid, "image": info.image, "domain": info.domain,
            "capacity": str(info.capacity),
            "apparentsize": str(info.size.apparent),
            "truesize": str(info.size.true), "format": info.format,
            "type": info.type, "voltype": info.voltype,
            "disktype": info.disktype, "description": info.description,
            "parent": info.parent, "legality": info.legality,
            "status": "OK" if info.legality == "LEGAL" else "ILLEGAL",
            "ctime": info.ctime, "generation": info.generation,
            "children": list(info.children),
            "lease": {"path": info.lease_path, "offset": 0}}


def volume_size(size: VolumeSize) -> dict[str, Any]:
    return {"apparentsize": str(size.apparent), "truesize": str(size.true)}


def qemu_image_info(info: QemuImageInfo) -> dict[str, Any]:
    """Volume.getQemuImageInfo: upstream's keys, only those qemu has."""
    out: dict[str, Any] = {"format": info.format,
                           "virtualsize": info.virtual_size}
    if info.cluster_size is not None:
        out["clustersize"] = info.cluster_size
    if info.backing_file is not None:
        out["backingfile"] = info.backing_file
    if info.compat is not None:
        out["compat"] = info.compat
    return out


def measure(result: Measure) -> dict[str, Any]:
    out: dict[str, Any] = {"required": result.required,
                           "fully-allocated": result.fully_allocated}
    if result.bitmaps is not None:
        out["bitmaps"] = result.bitmaps
    return out


def prepared_image(drive: Drive) -> dict[str, Any]:
    return {"path": drive.path, "format": drive.format,
            "info": {"type": "file", "path": drive.path},
            "imgVolumesInfo": [
                {"domainID": c.sd_id, "imageID": c.img_id,
                 "volumeID": c.vol_id, "path": c.path,
                 "leasePath": c.lease_path,
                 "leaseOffset": c.lease_offset} for c in drive.chain]}


# Tasks and jobs.

# Task states the engine knows (AsyncTaskStatusEnum): ours are upstream's
# names except the recovery of a task interrupted by a restart, which
# upstream reports as "cleaning" (rollbacks running).
_TASK_STATE = {TaskState.RUNNING: "running", TaskState.ABORTING: "aborting",
               TaskState.RECOVERING: "cleaning",
               TaskState.FINISHED: "finished"}
_TASK_RESULT = {TaskResult.NONE: "", TaskResult.SUCCESS: "success",
                TaskResult.FAILURE: "failure",
                TaskResult.CLEAN_SUCCESS: "cleanSuccess",
                TaskResult.CLEAN_FAILURE: "cleanFailure"}


# Each kind's name on the wire: the verb that started it, or upstream's
# task name for the HTTP transfers (named from the stream's side).
_TASK_VERB = {TaskKind.SPM_START: "StoragePool.spmStart",
              TaskKind.SWITCH_MASTER: "StoragePool.switchMaster",
              TaskKind.CREATE_VOLUME: "Volume.create",
              TaskKind.DELETE_VOLUME: "Volume.delete",
              TaskKind.EXTEND_VOLUME: "Volume.extendSize",
              TaskKind.DELETE_IMAGE: "Image.delete",
              TaskKind.MOVE_IMAGE: "Image.move",
              TaskKind.COPY_VOLUME: "Volume.copy",
              TaskKind.CLONE_STRUCTURE: "Image.cloneStructure",
              TaskKind.SYNC_DATA: "Image.syncData",
              TaskKind.COPY_DATA: "SDM.copy_data",
              TaskKind.UPDATE_VOLUME: "SDM.update_volume",
              TaskKind.SPARSIFY_VOLUME: "SDM.sparsify_volume",
              TaskKind.AMEND_VOLUME: "SDM.amend_volume",
              TaskKind.PREPARE_MERGE: "StoragePool.prepareMerge",
              TaskKind.MERGE_SUBCHAIN: "SDM.merge",
              TaskKind.FINALIZE_MERGE: "StoragePool.finalizeMerge",
              TaskKind.STREAM_TO_VOLUME: "downloadImageFromStream",
              TaskKind.STREAM_FROM_VOLUME: "uploadImageToStream",
              TaskKind.CREATE_LEASE: "Lease.create",
              TaskKind.DELETE_LEASE: "Lease.delete",
              TaskKind.REBUILD_LEASES: "Lease.rebuild_leases"}
_KIND = {kind.value: kind for kind in TaskKind}


def task_info(task: Task) -> dict[str, Any]:
    """Task.getInfo: the task id and its verb (a record of an unknown
    kind: the verb as recorded)."""
    kind = _KIND.get(task.verb)
    return {"id": task.id,
            "verb": _TASK_VERB[kind] if kind is not None else task.verb}


def task_status(status: TaskStatus) -> dict[str, Any]:
    return {"taskID": status.id, "taskState": _TASK_STATE[status.state],
            "taskResult": _TASK_RESULT[status.result], "code": status.code,
            "message": status.message}


def job_info(job: JobInfo) -> dict[str, Any]:
    """A job's HostJobInfo (Host.getJobs, |jobs|status| events)."""
    out: dict[str, Any] = {"id": job.id, "status": job.status.value,
                           "description": job.description,
                           "job_type": job.job_type}
    if job.progress is not None:
        out["progress"] = job.progress
    if job.error is not None and job.status is JobStatus.FAILED:
        out["error"] = {"code": job.error.code,
                        "message": job.error.message}
    return out
