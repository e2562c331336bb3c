"""Streams into and out of a volume: the engine's OVF_STORE transfers.

The engine writes each OVF_STORE disk with an HTTP ``PUT`` and reads it
back with a ``GET`` (RetrieveImageData); both are SPM tasks, as upstream's
``downloadImageFromStream`` and ``uploadImageToStream`` (the names say
where the data goes from the stream's side; here ``TaskKind``
``STREAM_TO_VOLUME`` and ``STREAM_FROM_VOLUME``, named on the wire by
api/storage_wire.py). The caller (the HTTP handler)
gives one end of a pipe; the task runs ``dd`` between the pipe and the
volume file, so the data never sits in vdsmd's memory, the pipe bounds
what is in flight, a stuck storage blocks only ``dd``, and ``Task.stop``
kills it.

Everything about the request is checked before the task starts (ids,
SPM, a single-volume image, the length against the volume), so a refused
transfer changes nothing. While data is written the volume is ILLEGAL;
LEGAL again (and its generation bumped) only once all of it is on disk.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import Callable

from vdsm.common import commands
from vdsm.common.exception import ResourceUnavailable
from vdsm.common.keyedlock import KeyedLocks
from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage import imagedir as img_mod
from vdsm.storage.hostpools import HostPools
from vdsm.storage.tasks import Task, TaskKind, TaskManager
from vdsm.storage.volume import Volume

log = logging.getLogger("vdsm.storage.transfer")

# Upstream's task verbs: data from the stream into the volume (PUT) and
# from the volume to the stream (GET).
WRITE_VERB = TaskKind.STREAM_TO_VOLUME
READ_VERB = TaskKind.STREAM_FROM_VOLUME

BLOCK = 1024 * 1024
# The engine gives up on an upload after UploadFileMaxTimeInMinutes
# (default 5): dd gets far longer, a hung storage is what stops it.
DD_TIMEOUT = 3600.0
# Transfers at once (each a task thread and a dd); more are refused with
# code 40. The engine sends one per OVF_STORE disk, a few per domain.
MAX_TRANSFERS = 32

_COPIED = re.compile(rb"^(\d+) bytes", re.MULTILINE)


@dataclass(frozen=True)
class Target:
    """What a transfer request names; vol_uuid None: the image's only
    volume (upstream's Volume-Id header is optional)."""

    sp_uuid: str
    sd_uuid: str
    img_uuid: str
    vol_uuid: str | None = None


@dataclass(frozen=True)
class Transfer:
    task_id: str
    length: int
    # Resolves when the task's data work has ended (its result or error
    # is the task's); upstream answers the PUT at this point.
    done: concurrent.futures.Future


# A transfer's data work, run by its task: (task, volume, length, fd).
_Work = Callable[[Task, Volume, int, int], None]


class ImageTransfers:
    def __init__(self, pools: HostPools, tasks: TaskManager) -> None:
        self._pools = pools
        self._tasks = tasks
        # One transfer at a time per volume: an upload never interleaves
        # with another upload or a download of the same data.
        self._locks = KeyedLocks()
        self._slots = threading.BoundedSemaphore(MAX_TRANSFERS)

    def write(self, target: Target, length: int, source_fd: int) -> Transfer:
        """Start copying length bytes from source_fd into the volume.

        source_fd (a pipe's read end) belongs to the transfer from this
        call on: closed when the copy ends, or at once if refused.
        """
        try:
            vol = self._volume(target)
            if vol.metadata()["FORMAT"] != "RAW":
                raise errors.InvalidParameter(
                    "only RAW volumes take a stream", vol=vol.vol_uuid)
            capacity = int(vol.metadata()["CAP"])
            if length > capacity:
                raise errors.InvalidParameter(
                    "body larger than the volume", length=length,
                    capacity=capacity)
        except BaseException:
            os.close(source_fd)
            raise
        return self._start(WRITE_VERB, vol, length, source_fd,
                           self._write_data)

    def read(self, target: Target, length: int, sink_fd: int) -> Transfer:
        """Start copying the volume's first length bytes into sink_fd.

        sink_fd (a pipe's write end) belongs to the transfer, as in write.
        """
        try:
            vol = self._volume(target)
            if not vol.is_legal():
                raise errors.VolumeIsIllegal(vol=vol.vol_uuid)
            size = int(vol.dom.io.call("stat", path=vol.path)["size"])
            if length > size:
                raise errors.InvalidParameter(
                    "range beyond the volume's data", length=length,
                    size=size)
        except BaseException:
            os.close(sink_fd)
            raise
        return self._start(READ_VERB, vol, length, sink_fd, self._read_data)

    # Checks.

    def _volume(self, target: Target) -> Volume:
        sd_uuid = sc.check_uuid(target.sd_uuid, "Storage-Domain-Id")
        img_uuid = sc.check_uuid(target.img_uuid, "Image-Id")
        dom = self._pools.spm_pool(target.sp_uuid).domain(sd_uuid)
        vols = img_mod.volumes(dom, img_uuid)
        if target.vol_uuid is None:
            if len(vols) != 1:
                raise errors.CopyImageError(
                    "the image has more than one volume: name one",
                    img=img_uuid)
            vol_uuid = vols[0]
        else:
            vol_uuid = sc.check_uuid(target.vol_uuid, "Volume-Id")
            if vol_uuid not in vols:
                raise errors.VolumeDoesNotExist(vol=vol_uuid)
        vol = Volume(dom, img_uuid, vol_uuid)
        if len(vols) != 1 or vol.parent() != sc.BLANK_UUID:
            # As upstream: import/export takes one-volume images only.
            raise errors.CopyImageError(
                "only an image of a single volume is streamed",
                img=img_uuid)
        return vol

    # The task.

    def _start(self, verb: TaskKind, vol: Volume, length: int, fd: int,
               work: _Work) -> Transfer:
        done: concurrent.futures.Future = concurrent.futures.Future()
        if not self._slots.acquire(blocking=False):
            os.close(fd)
            raise ResourceUnavailable(
                f"{MAX_TRANSFERS} image transfers running already")

        def run(task: Task) -> None:
            try:
                with self._locks.hold(vol.path):
                    work(task, vol, length, fd)
            except BaseException as e:
                done.set_exception(e)
                raise
            finally:
                _close(fd)
                self._slots.release()
            done.set_result(None)

        try:
            task_id = self._tasks.start(verb, run)
        except BaseException:
            os.close(fd)
            self._slots.release()
            raise
        log.info("TRANSFER task=%s verb=%s vol=%s img=%s sd=%s length=%d",
                 task_id, verb.value, vol.vol_uuid, vol.img_uuid,
                 vol.dom.sd_uuid,
                 length)
        return Transfer(task_id, length, done)

    def _write_data(self, task: Task, vol: Volume, length: int,
                    fd: int) -> None:
        md = vol.update(LEGALITY=sc.ILLEGAL)
        _dd(task, [f"if=/dev/fd/{fd}", f"of={vol.path}",
                   "conv=notrunc,fsync"], length, fd)
        md["LEGALITY"] = sc.LEGAL
        md["GEN"] = str(int(md.get("GEN", "0")) + 1)
        vol.write_metadata(md)

    def _read_data(self, task: Task, vol: Volume, length: int,
                   fd: int) -> None:
        _dd(task, [f"if={vol.path}", f"of=/dev/fd/{fd}"], length, fd)


def _dd(task: Task, files: list[str], length: int, fd: int) -> None:
    """Copy exactly length bytes with dd; short (the peer went away, or
    the data ended) is an error."""
    argv = ["dd", *files, f"bs={BLOCK}", f"count={length}",
            "iflag=count_bytes,fullblock"]
    try:
        res = commands.run(argv, timeout=DD_TIMEOUT, pass_fds=[fd],
                           on_start=task.on_child,
                           env={"LC_ALL": "C",
                                "PATH": os.environ.get("PATH", "")})
    except commands.CommandError as e:
        task.check_stopped()
        raise errors.CopyImageError(
            "dd failed", rc=e.rc, stderr=e.stderr.strip()[-200:]) from None
    copied = _COPIED.findall(res.stderr.encode())
    got = int(copied[-1]) if copied else -1
    if got != length:
        raise errors.CopyImageError("short copy", copied=got,
                                    length=length)


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
