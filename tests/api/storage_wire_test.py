"""api/storage_wire: storage's typed values as the wire carries them.

The expected JSON texts are the replies the verbs sent before storage
returned typed values (same keys, same order, strings where upstream
sends strings), so a change of the wire shows here byte by byte.
"""

from __future__ import annotations

import json

from vdsm.api import storage_wire
from vdsm.common import clock
from vdsm.storage.domain import DomainInfo, Space
from vdsm.storage.domains import DomainStats
from vdsm.storage.hostpools import PoolDomain, PoolInfo
from vdsm.storage.imagedir import ChainEntry, Drive
from vdsm.storage.jobs import JobError, JobInfo, JobStatus
from vdsm.storage.monitor import DomainHealth
from vdsm.storage.pool import SpmRole, SpmStatus
from vdsm.storage.tasks import (Task, TaskKind, TaskResult, TaskState,
                                TaskStatus)
from vdsm.storage.volume import VolumeInfo, VolumeSize

SD = "11111111-1111-1111-1111-111111111111"
SP = "22222222-2222-2222-2222-222222222222"
IMG = "33333333-3333-3333-3333-333333333333"
VOL = "44444444-4444-4444-4444-444444444444"
BLANK = "00000000-0000-0000-0000-000000000000"


def text(value):
    return json.dumps(value)


def test_domain_info_and_stats():
    info = DomainInfo(uuid=SD, name="data", type="NFS", dom_class="Data",
                      role="Master", version="5", pools=[SP],
                      remote_path="srv:/x", master_version=3,
                      block_size=512, alignment=1048576)
    assert text(storage_wire.domain_info(info)) == (
        '{"uuid": "%s", "type": "NFS", "class": "Data", "name": "data", '
        '"role": "Master", "pool": ["%s"], "version": "5", '
        '"remotePath": "srv:/x", "block_size": 512, "alignment": 1048576, '
        '"master_ver": 3}' % (SD, SP))
    regular = DomainInfo(SD, "d", "LOCALFS", "Data", "Regular", "5", [],
                         "/x", None, 4096, 1048576)
    assert "master_ver" not in storage_wire.domain_info(regular)
    assert text(storage_wire.domain_stats(DomainStats(
        Space(total=1000, free=400), valid=False))) == (
        '{"disktotal": "1000", "diskfree": "400", "mdavalid": true, '
        '"mdathreshold": true, "mdasize": 0, "mdafree": 0, '
        '"valid": false}')


def test_repo_stats():
    health = DomainHealth(code=0, valid=True, delay=0.5,
                          last_check=clock.monotonic() - 2.0,
                          acquired=True, version=5, actual=True)
    wire = storage_wire.repo_stats({SD: health})[SD]
    assert list(wire) == ["code", "valid", "delay", "lastCheck",
                          "acquired", "version", "actual"]
    assert wire["delay"] == "0.500000"
    assert 2.0 <= float(wire["lastCheck"]) < 60
    never = storage_wire.repo_stats({SD: DomainHealth()})[SD]
    assert never["lastCheck"] == "0.0" and never["actual"] is False


def test_pool_info_and_spm_status():
    spm = SpmStatus(1, SpmRole.SPM, 7)
    info = PoolInfo(
        name="dc", master_uuid=SD, master_version=2, spm=spm,
        domains_value=f"{SD}:Active", type="NFS", version="5",
        domains={SD: PoolDomain("Active", Space(2000, 500), 5),
                 IMG: PoolDomain("Unknown", None, None)})
    assert text(storage_wire.pool_info(info)) == (
        '{"info": {"name": "dc", "master_uuid": "%s", "master_ver": 2, '
        '"spm_id": 1, "lver": 7, "domains": "%s:Active", '
        '"pool_status": "connected", "type": "NFS", "isoprefix": "", '
        '"version": "5"}, "dominfo": {"%s": {"status": "Active", '
        '"alerts": [], "diskfree": "500", "disktotal": "2000", '
        '"version": 5}, "%s": {"status": "Unknown", "alerts": []}}}'
        % (SD, SD, SD, IMG))
    assert text(storage_wire.spm_status(SpmStatus(-1, SpmRole.FREE, -1))) \
        == '{"spmId": -1, "spmStatus": "Free", "spmLver": -1}'


def test_volume_info_size_and_prepared_image():
    info = VolumeInfo(
        uuid=VOL, image=IMG, domain=SD, capacity=1024,
        size=VolumeSize(apparent=512, true=256), format="COW",
        type="SPARSE", voltype="LEAF", disktype="DATA", description="d",
        parent=BLANK, legality="ILLEGAL", generation=2, ctime="17",
        path="/p/v", lease_path="/p/v.lease", children=[IMG])
    assert text(storage_wire.volume_info(info)) == (
        '{"uuid": "%s", "image": "%s", "domain": "%s", "capacity": "1024", '
        '"apparentsize": "512", "truesize": "256", "format": "COW", '
        '"type": "SPARSE", "voltype": "LEAF", "disktype": "DATA", '
        '"description": "d", "parent": "%s", "legality": "ILLEGAL", '
        '"status": "ILLEGAL", "ctime": "17", "generation": 2, '
        '"children": ["%s"], "lease": {"path": "/p/v.lease", '
        '"offset": 0}}' % (VOL, IMG, SD, BLANK, IMG))
    assert text(storage_wire.volume_size(VolumeSize(3, 4))) == \
        '{"apparentsize": "3", "truesize": "4"}'
    drive = Drive(path="/run/v", format="qcow2", sd_id=SD, img_id=IMG,
                  vol_id=VOL, chain=[ChainEntry(SD, IMG, VOL, "/run/v",
                                                "/p/v.lease", 0)])
    assert text(storage_wire.prepared_image(drive)) == (
        '{"path": "/run/v", "format": "qcow2", "info": {"type": "file", '
        '"path": "/run/v"}, "imgVolumesInfo": [{"domainID": "%s", '
        '"imageID": "%s", "volumeID": "%s", "path": "/run/v", '
        '"leasePath": "/p/v.lease", "leaseOffset": 0}]}' % (SD, IMG, VOL))


def test_tasks_and_jobs():
    status = TaskStatus(VOL, TaskState.FINISHED, TaskResult.CLEAN_SUCCESS,
                        411, "task was interrupted and rolled back")
    assert text(storage_wire.task_status(status)) == (
        '{"taskID": "%s", "taskState": "finished", '
        '"taskResult": "cleanSuccess", "code": 411, '
        '"message": "task was interrupted and rolled back"}' % VOL)
    running = TaskStatus(VOL, TaskState.RECOVERING, TaskResult.NONE, 0, "")
    assert storage_wire.task_status(running)["taskState"] == "cleaning"
    task = Task(VOL, TaskKind.CREATE_VOLUME.value)
    assert storage_wire.task_info(task) == {"id": VOL,
                                            "verb": "Volume.create"}
    # A record of another kind keeps its verb as recorded.
    assert storage_wire.task_info(Task(VOL, "Volume.create"))["verb"] == \
        "Volume.create"
    job = JobInfo(VOL, JobStatus.FAILED, "copy_data", "storage", 50.0,
                  JobError(252, "bad"))
    assert text(storage_wire.job_info(job)) == (
        '{"id": "%s", "status": "failed", "description": "copy_data", '
        '"job_type": "storage", "progress": 50.0, '
        '"error": {"code": 252, "message": "bad"}}' % VOL)
    done = JobInfo(VOL, JobStatus.DONE, "", "storage", None, None)
    assert "progress" not in storage_wire.job_info(done)


def test_qemu_image_info_and_measure():
    from vdsm.storage.qemuimg import Measure
    from vdsm.storage.volinspect import QemuImageInfo
    qcow = QemuImageInfo("qcow2", 1048576, 65536, VOL, "1.1")
    assert text(storage_wire.qemu_image_info(qcow)) == (
        '{"format": "qcow2", "virtualsize": 1048576, "clustersize": 65536, '
        f'"backingfile": "{VOL}", "compat": "1.1"}}')
    raw = QemuImageInfo("raw", 1048576, None, None, None)
    assert storage_wire.qemu_image_info(raw) == {
        "format": "raw", "virtualsize": 1048576}
    assert text(storage_wire.measure(Measure(393216, 1114112, 0))) == (
        '{"required": 393216, "fully-allocated": 1114112, "bitmaps": 0}')
    assert storage_wire.measure(Measure(1, 2, None)) == {
        "required": 1, "fully-allocated": 2}
