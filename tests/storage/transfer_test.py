"""storage/transfer.py in-process: streams into and out of a volume.

The HTTP side is tests/storage/http_transfer_test.py; here the pipes are
the test's own, so a stalled or vanished peer is exact.
"""

from __future__ import annotations

import os

import pytest

from storage.storagefixtures import MIB, make_pool, new_id, wait_task
from storage.volume_test import create

from vdsm.common.exception import ResourceUnavailable
from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage import transfer
from vdsm.storage.transfer import Target

pytestmark = pytest.mark.root


@pytest.fixture
def vol(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    return svc, Target(sp, sd, img, create(svc, sp, sd, img, size=MIB))


def closed(fd):
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def upload(svc, target, data, length=None):
    r, w = os.pipe()
    t = svc.transfers.write(target, len(data) if length is None else length,
                            r)
    os.write(w, data)
    os.close(w)
    t.done.exception(timeout=60)
    return wait_task(svc, t.task_id)


def test_write_then_read(vol):
    svc, target = vol
    data = os.urandom(100_000)
    assert upload(svc, target, data).result == "success"
    r, w = os.pipe()
    t = svc.transfers.read(target, len(data), w)
    got = b""
    while chunk := os.read(r, 65536):
        got += chunk
    os.close(r)
    assert got == data
    assert wait_task(svc, t.task_id).result == "success"


def test_volume_id_optional_for_single_volume_image(vol):
    svc, target = vol
    one = Target(target.sp_uuid, target.sd_uuid, target.img_uuid)
    assert upload(svc, one, b"a" * 512).result == "success"


def test_short_input_fails_and_leaves_illegal(vol):
    svc, target = vol
    status = upload(svc, target, b"b" * 1000, length=4096)
    assert status.result == "cleanSuccess" and status.code == 261
    md = svc.images.volume(target.sd_uuid, target.img_uuid,
                           target.vol_uuid).metadata()
    assert md["LEGALITY"] == sc.ILLEGAL


def test_refused_closes_fd_and_makes_no_task(vol):
    svc, target = vol
    before = len(svc.tasks.all())
    for bad, err in [
            (Target(target.sp_uuid, target.sd_uuid, new_id(),
                    target.vol_uuid), errors.ImageDoesNotExistInDomain),
            (Target(target.sp_uuid, target.sd_uuid, target.img_uuid,
                    new_id()), errors.VolumeDoesNotExist),
            (target, errors.InvalidParameter)]:
        r, w = os.pipe()
        with pytest.raises(err):
            svc.transfers.write(bad, MIB + 1, r)
        assert closed(r)
        os.close(w)
    assert len(svc.tasks.all()) == before


def test_snapshot_not_streamed(vol):
    svc, target = vol
    img = new_id()
    base = create(svc, target.sp_uuid, target.sd_uuid, img,
                  fmt=sc.COW_FORMAT)
    top = create(svc, target.sp_uuid, target.sd_uuid, img,
                 fmt=sc.COW_FORMAT, parent=base)
    r, w = os.pipe()
    with pytest.raises(errors.CopyImageError):
        svc.transfers.read(Target(target.sp_uuid, target.sd_uuid, img, top),
                           512, w)
    assert closed(w)
    os.close(r)


def test_transfers_bounded(env, monkeypatch):
    monkeypatch.setattr(transfer, "MAX_TRANSFERS", 2)
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    targets = []
    for _ in range(3):
        img = new_id()
        targets.append(Target(sp, sd, img, create(svc, sp, sd, img,
                                                  size=MIB)))
    pipes = [os.pipe() for _ in range(3)]
    # Two stalled uploads hold both slots.
    running = [svc.transfers.write(targets[i], 4096, pipes[i][0])
               for i in range(2)]
    with pytest.raises(ResourceUnavailable):
        svc.transfers.write(targets[2], 4096, pipes[2][0])
    assert closed(pipes[2][0])
    for t, (_, w) in zip(running, pipes):
        os.write(w, b"c" * 4096)
        os.close(w)
        assert wait_task(svc, t.task_id).result == "success"
    os.close(pipes[2][1])
    assert upload(svc, targets[2], b"d" * 4096).result == "success"
