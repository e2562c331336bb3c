"""The engine's image transfers over HTTP: headers in, storage calls out.

What the engine sends (HttpImageTaskVDSCommand and its subclasses) to
``https://host:54321/``:

* ``PUT`` (UploadStreamVDSCommand, the OVF_STORE update): headers
  Storage-Pool-Id, Storage-Domain-Id, Image-Id, Volume-Id, Content-Length,
  the body. Success is ``200`` with a ``Task-Id`` header, sent once the
  data is written (the engine then polls the task).
* ``GET`` (RetrieveImageDataVDSCommand): the same ids and
  ``Range: bytes=0-<size-1>``. Success is ``206`` with ``Task-Id`` and a
  ``Content-Length`` equal to the size asked for, then the data.

Any other answer must carry ``Content-Type: application/json`` and a body
``{"status": {"code": .., "message": ..}}`` (the engine reads it as a
Vdsm status): errors of the storage get upstream's status 500 and their
code; a missing id header is 400, a missing Content-Length 411, as
upstream's handler answers them.

Storage calls run in the API executor (they touch storage); the data moves
between the socket (here, on the loop) and ``dd`` (in the task) through a
pipe, whose buffer and the transports' limits bound what is in flight.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import re
from http import HTTPStatus
from typing import Any, Awaitable, Callable

from vdsm.common import clock, exception
from vdsm.common.exception import VdsmError
from vdsm.common.executor import Executor
from vdsm.rpc.http import Exchange
from vdsm.services import Services
from vdsm.storage.transfer import Target, Transfer

log = logging.getLogger("vdsm.api.image_transfer")

POOL = "Storage-Pool-Id"
DOMAIN = "Storage-Domain-Id"
IMAGE = "Image-Id"
VOLUME = "Volume-Id"
TASK_ID = "Task-Id"

_RANGE = re.compile(r"^bytes=0-([0-9]{1,18})$")
# What the pipe transport buffers before it stops taking more, and the
# kernel's buffer of the pipe (64 KiB by default: 1 MiB moves data in
# fewer, larger steps; the default stays where the host refuses it).
PIPE_HIGH_WATER = 256 * 1024
PIPE_SIZE = 1024 * 1024
CHUNK = 256 * 1024


class RequestError(Exception):
    """A header problem, answered with status and a code-1000 body."""

    def __init__(self, status: HTTPStatus, text: str) -> None:
        super().__init__(text)
        self.status = status


class ImageTransferHandler:
    """The ``vdsm.rpc.http.Handler`` of vdsmd."""

    def __init__(self, services: Services, executor: Executor) -> None:
        self._services = services
        self._executor = executor

    async def handle(self, exchange: Exchange) -> None:
        req = exchange.request
        try:
            if not self._services.ready:
                raise exception.Recovering()
            target = _target(exchange)
            if req.method == "PUT":
                await self._put(exchange, target)
            else:
                await self._get(exchange, target)
        except RequestError as e:
            log.info("REFUSE method=%s status=%d reason=%r", req.method,
                     e.status, str(e))
            await _error(exchange, e.status,
                         exception.InvalidParameter(str(e)))
        except VdsmError as e:
            log.info("REFUSE method=%s code=%d reason=%r", req.method,
                     e.code, e.text())
            await _error(exchange, HTTPStatus.INTERNAL_SERVER_ERROR, e)

    async def _call(self, func: Callable[..., Any], *args: Any) -> Any:
        future = self._executor.submit(func, *args,
                                       name=getattr(func, "__name__", ""))
        return await asyncio.wrap_future(future)

    async def _put(self, exchange: Exchange, target: Target) -> None:
        length = exchange.request.content_length
        if length is None:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED,
                               "missing header Content-Length")
        rfd, wfd = _pipe()
        try:
            transfer: Transfer = await self._call(
                self._services.storage.transfers.write, target, length, rfd)
        except BaseException:
            os.close(wfd)
            raise
        timer = clock.Timer()
        sink = await _PipeSink.open(wfd)
        try:
            while exchange.remaining:
                # A stalled client must not hide that dd is gone
                # (Task.stop, a write error): the reply is due then.
                data = await sink.unless_broken(exchange.read(CHUNK))
                if data is None:
                    break
                await sink.write(data)
        finally:
            # On a short body dd sees the end of its input and the task
            # fails as short; the connection is then dropped.
            sink.close()
        await _finished(transfer)
        log.info("PUT task=%s bytes=%d elapsed=%.3f", transfer.task_id,
                 length - exchange.remaining, timer.elapsed())
        await exchange.send_head(HTTPStatus.OK, {
            TASK_ID: transfer.task_id, "Content-Length": "0"})

    async def _get(self, exchange: Exchange, target: Target) -> None:
        length = _range_length(exchange.request.header("Range"))
        rfd, wfd = _pipe()
        try:
            transfer: Transfer = await self._call(
                self._services.storage.transfers.read, target, length, wfd)
        except BaseException:
            os.close(rfd)
            raise
        timer = clock.Timer()
        source = await _pipe_reader(rfd)
        try:
            await exchange.send_head(HTTPStatus.PARTIAL_CONTENT, {
                "Content-Type": "application/octet-stream",
                "Content-Length": str(length),
                "Content-Range": f"bytes 0-{length - 1}/*",
                TASK_ID: transfer.task_id})
            sent = 0
            while sent < length:
                data = await source.read(CHUNK)
                if not data:
                    break
                await exchange.write(data)
                sent += len(data)
        finally:
            source.close()
        await _finished(transfer)
        log.info("GET task=%s bytes=%d elapsed=%.3f", transfer.task_id,
                 sent, timer.elapsed())
        if sent < length:
            raise ConnectionError(f"volume data ended at {sent} of "
                                  f"{length} bytes")


def _target(exchange: Exchange) -> Target:
    req = exchange.request
    ids = {name: req.header(name) for name in (POOL, DOMAIN, IMAGE)}
    missing = [name for name, value in ids.items() if not value]
    if missing:
        raise RequestError(HTTPStatus.BAD_REQUEST,
                           f"missing header(s) {', '.join(missing)}")
    return Target(sp_uuid=ids[POOL] or "", sd_uuid=ids[DOMAIN] or "",
                  img_uuid=ids[IMAGE] or "",
                  vol_uuid=req.header(VOLUME) or None)


def _range_length(value: str | None) -> int:
    """Bytes asked by ``Range: bytes=0-<last>``, the only form served
    (as upstream)."""
    if value is None:
        raise RequestError(HTTPStatus.BAD_REQUEST, "missing header Range")
    m = _RANGE.match(value)
    if m is None:
        raise RequestError(HTTPStatus.BAD_REQUEST,
                           f"unsupported Range {value[:60]!r}, expected "
                           "bytes=0-<last byte>")
    return int(m.group(1)) + 1


def _pipe() -> tuple[int, int]:
    rfd, wfd = os.pipe()
    try:
        fcntl.fcntl(wfd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass
    return rfd, wfd


async def _finished(transfer: Transfer) -> None:
    """Wait for the task's data work; its failure is the task's."""
    try:
        await asyncio.wrap_future(transfer.done)
    except Exception as e:
        log.info("TRANSFER task=%s failed: %s", transfer.task_id, e)


async def _error(exchange: Exchange, status: HTTPStatus,
                 err: VdsmError) -> None:
    if exchange.head_sent:
        raise ConnectionError(f"failed mid-reply: {err}")
    body = json.dumps({"status": err.info()}).encode()
    await exchange.send_head(status, {"Content-Type": "application/json",
                                      "Content-Length": str(len(body))})
    await exchange.write(body)


class _PipeSink(asyncio.BaseProtocol):
    """The write end of a pipe on the loop, with back-pressure; broken
    once the reader (dd) has gone."""

    def __init__(self) -> None:
        self._writable = asyncio.Event()
        self._writable.set()
        self._broken = asyncio.Event()
        self._transport: asyncio.WriteTransport | None = None

    @classmethod
    async def open(cls, fd: int) -> _PipeSink:
        loop = asyncio.get_running_loop()
        sink = cls()
        pipe = os.fdopen(fd, "wb", buffering=0)
        try:
            transport, _ = await loop.connect_write_pipe(lambda: sink, pipe)
        except BaseException:
            pipe.close()
            raise
        transport.set_write_buffer_limits(high=PIPE_HIGH_WATER)
        sink._transport = transport
        return sink

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self._broken.set()
        self._writable.set()

    async def unless_broken(self, read: Awaitable[bytes]) -> bytes | None:
        """The result of read, or None if the pipe breaks first."""
        task = asyncio.ensure_future(read)
        broken = asyncio.ensure_future(self._broken.wait())
        await asyncio.wait({task, broken},
                           return_when=asyncio.FIRST_COMPLETED)
        broken.cancel()
        if task.done():
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return None

    async def write(self, data: bytes) -> None:
        if self._broken.is_set() or self._transport is None:
            return
        self._transport.write(data)
        await self._writable.wait()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class _PipeSource:
    def __init__(self, reader: asyncio.StreamReader,
                 transport: asyncio.BaseTransport) -> None:
        self._reader = reader
        self._transport = transport

    async def read(self, size: int) -> bytes:
        return await self._reader.read(size)

    def close(self) -> None:
        self._transport.close()


async def _pipe_reader(fd: int) -> _PipeSource:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=CHUNK)
    pipe = os.fdopen(fd, "rb", buffering=0)
    try:
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe)
    except BaseException:
        pipe.close()
        raise
    return _PipeSource(reader, transport)
