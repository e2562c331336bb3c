"""Host jobs: SDM.copy_data through Host.getJobs, Jobs.* and events.

The unit part drives the job view over a real TaskManager with functions
that block on an event; the end-to-end part copies real data with
qemu-img through a real vdsmd.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from storage.api_test import (create_volume, error_code, ok, overrides,
                              setup_pool, teardown_pool, vol_args)
from storage.storagefixtures import MIB, new_id
from vdsm.api import storage_wire
from vdsm.common import exception
from vdsm.storage import errors, qemuimg
from vdsm.storage import jobs as jobs_mod
from vdsm.storage.jobs import Jobs
from vdsm.storage.tasks import TaskManager


def wait_until(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def manager():
    """A TaskManager recording (job id, status) at every job change."""
    tasks = TaskManager({})
    tasks.seen = []
    tasks.on_job_change = lambda task: tasks.seen.append(
        (task.id, jobs_mod.status(task).value))
    return tasks


def wire(jobs, **filters):
    """Host.getJobs' reply: the jobs as api/storage_wire sends them."""
    return {job_id: storage_wire.job_info(job)
            for job_id, job in jobs.info(**filters).items()}


def blocking(release):
    def run(task):
        while not release.wait(0.01):
            task.check_stopped()
        task.progress = 100.0
    return run


def test_job_runs_and_is_deleted(manager):
    jobs = Jobs(manager, autodelete_delay=-1)
    release = threading.Event()
    job = new_id()
    manager.start("SDM.copy_data", blocking(release), task_id=job,
                  job_type="storage", description="copy_data")
    assert wire(jobs)[job]["status"] == "running"
    with pytest.raises(exception.JobExists):
        manager.start("SDM.copy_data", blocking(release), task_id=job,
                      job_type="storage")
    with pytest.raises(exception.JobNotDone):
        jobs.delete(job)
    release.set()
    wait_until(lambda: wire(jobs)[job]["status"] == "done")
    assert wire(jobs, job_type="storage", job_ids=[job]) == {job: {
        "id": job, "status": "done", "description": "copy_data",
        "job_type": "storage", "progress": 100.0}}
    assert wire(jobs, job_type="virt") == {}
    assert wire(jobs, job_ids=[new_id()]) == {}
    assert manager.seen == [(job, "running"), (job, "done")]
    with pytest.raises(exception.JobNotActive):
        jobs.abort(job)
    jobs.delete(job)
    assert wire(jobs) == {}
    with pytest.raises(exception.NoSuchJob):
        jobs.delete(job)
    with pytest.raises(exception.NoSuchJob):
        jobs.abort(job)


def test_abort_and_failure(manager):
    jobs = Jobs(manager, autodelete_delay=-1)
    stuck, failing = new_id(), new_id()
    manager.start("SDM.copy_data", blocking(threading.Event()),
                  task_id=stuck, job_type="storage")

    def fail(task):
        raise errors.VolumeIsIllegal(vol="x")
    manager.start("SDM.copy_data", fail, task_id=failing, job_type="storage")
    jobs.abort(stuck)
    wait_until(lambda: wire(jobs)[stuck]["status"] == "aborted")
    wait_until(lambda: wire(jobs)[failing]["status"] == "failed")
    error = wire(jobs)[failing]["error"]
    assert error["code"] == errors.VolumeIsIllegal.code
    assert "x" in error["message"]
    assert "error" not in wire(jobs)[stuck]
    assert (stuck, "aborting") in manager.seen


def test_ended_jobs_are_autodeleted_spm_tasks_are_not(manager):
    jobs = Jobs(manager, autodelete_delay=0)
    job = new_id()
    task = manager.start("Volume.create", lambda t: None)
    manager.start("SDM.copy_data", lambda t: None, task_id=job,
                  job_type="storage")
    wait_until(lambda: all(t.state == "finished" for t in manager.all()))
    assert wire(jobs) == {}
    assert [t.id for t in manager.all()] == [task]


def test_convert_reports_progress(tmp_path):
    src, dst = tmp_path / "src.raw", tmp_path / "dst.qcow2"
    with open(src, "wb") as f:
        f.write(os.urandom(64 * MIB))
    seen = []
    qemuimg.convert(str(src), str(dst), "raw", "qcow2",
                    on_progress=seen.append)
    assert seen and seen[-1] == 100.0
    assert seen == sorted(seen)
    subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", "qcow2",
                    str(src), str(dst)], check=True, capture_output=True)


@pytest.mark.root
def test_copy_data_job_end_to_end(env, vdsmd_factory):
    vdsmd = vdsmd_factory(overrides(env))
    with vdsmd.client() as cli:
        events = cli.subscribe()
        sp, sd = setup_pool(cli, env.dir())
        img, vol, img2, vol2 = new_id(), new_id(), new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img, vol, fmt=5, prealloc=2,
                              size=str(32 * MIB)))
        ok(cli, create_volume(cli, sp, sd, img2, vol2, fmt=4,
                              size=str(32 * MIB)))
        src = cli.Image.prepare(**vol_args(sp, sd, img, vol))["path"]
        with open(src, "r+b") as f:
            f.write(os.urandom(8 * MIB))
        job = new_id()
        endpoints = {
            "source": {"endpoint_type": "div", "sd_id": sd, "img_id": img,
                       "vol_id": vol},
            "destination": {"endpoint_type": "div", "sd_id": sd,
                            "img_id": img2, "vol_id": vol2}}
        cli.SDM.copy_data(job_id=job, **endpoints)
        statuses = []
        while not statuses or statuses[-1] not in ("done", "failed"):
            method, params = events.get(timeout=60)
            if method == f"|jobs|status|{job}":
                statuses.append(params["status"])
        assert statuses == ["running", "done"]

        info = cli.Host.getJobs(job_ids=[job])
        assert info[job]["status"] == "done"
        assert info[job]["progress"] == 100.0
        assert job in cli.Host.getJobs(job_type="storage")
        assert job not in cli.Host.getAllTasksStatuses()
        assert error_code(cli.SDM.copy_data, job_id=job, **endpoints) == 69
        assert error_code(cli.Jobs.abort, job_id=job) == 84
        cli.Jobs.delete(job_id=job)
        assert cli.Host.getJobs() == {}
        assert error_code(cli.Jobs.delete, job_id=job) == 66

        dst = cli.Image.prepare(**vol_args(sp, sd, img2, vol2))["path"]
        subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", "qcow2",
                        src, dst], check=True, capture_output=True)
        teardown_pool(cli, sp)
