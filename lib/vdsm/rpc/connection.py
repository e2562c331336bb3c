"""One STOMP connection: frames in, requests dispatched, frames out.

The parser is sans-IO (rpc/stomp.py); this module owns the socket side:
reading with the heart-beat and idle deadlines, writing with back-pressure
limits, the outgoing heart-beat task, and the subscription table of the
connection. Requests run concurrently; their responses are written as they
complete, so they may leave in another order than they came (clients match
JSON-RPC ids).

What one client may cost (``Limits``, from [vars]): a connection that sent
nothing complete (no frame, no heart-beat) for ``connection_max_idle`` s is
closed; more than ``max_subscriptions`` subscriptions is a frame error; at
most ``max_requests_per_connection`` requests run at once, and past three
quarters of the executor's capacity (``RequestShare``) a connection that
already has one running waits: the rest is kept for the others. While a
connection waits, or while its replies are not being read, it is not read
from either (TCP pushes back on the client); a client whose unsent replies
pass ``max_write_buffer`` bytes is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from vdsm.common import clock
from vdsm.common.config import Config
from vdsm.common.log import quote
from vdsm.rpc import jsonrpc, stomp
from vdsm.rpc.broker import DEFAULT_REPLY_TO, REQUESTS, Broker
from vdsm.rpc.dispatch import Dispatcher, Peer

log = logging.getLogger("vdsm.rpc")

READ_SIZE = 256 * 1024
# Replies not yet sent past which the connection is not read from until
# they drain.
READ_PAUSE_BUFFER = 1024 * 1024
MIN_HEARTBEAT_MS = 1000


@dataclass(frozen=True)
class Limits:
    max_idle: float = 300.0          # 0: no idle limit
    max_subscriptions: int = 64
    max_requests: int = 32
    max_write_buffer: int = 16 * 1024 * 1024

    @classmethod
    def from_config(cls, config: Config) -> Limits:
        return cls(
            max_idle=config.getfloat("vars", "connection_max_idle"),
            max_subscriptions=config.getint("vars", "max_subscriptions"),
            max_requests=config.getint("vars",
                                       "max_requests_per_connection"),
            max_write_buffer=config.getint("vars", "max_write_buffer"))


class RequestShare:
    """Requests running, over all connections, against the executor's
    capacity (workers + queue)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.running = 0
        # Past this, only a connection with nothing running may start one.
        self.reserve_at = max(1, capacity * 3 // 4)

    def may_start(self, mine: int, count: int, limit: int) -> bool:
        if mine == 0:
            return True
        return (mine + count <= limit
                and self.running + count <= self.reserve_at)


class Closing(Exception):
    """The connection must end now (DISCONNECT or a fatal error)."""


class StompConnection:
    def __init__(self, name: str, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, broker: Broker,
                 dispatcher: Dispatcher, max_frame_size: int,
                 limits: Limits | None = None,
                 share: RequestShare | None = None) -> None:
        self.name = name
        self._reader = reader
        self._writer = writer
        self._broker = broker
        self._dispatcher = dispatcher
        self._parser = stomp.Parser(max_frame_size)
        self._limits = limits or Limits()
        self._share = share or RequestShare(1 << 30)
        self._subs: dict[str, str] = {}
        # The encoded head of each subscription's MESSAGE frames.
        self._heads: dict[str, bytes] = {}
        self._tasks: set[asyncio.Task] = set()
        self._running = 0
        self._room = asyncio.Event()
        self._last_write = self._last_read = clock.monotonic()
        self._last_complete = self._last_read
        self._recv_timeout: float | None = None
        self._send_interval: float | None = None
        self._closed = False
        self._peer = Peer(writer.get_extra_info("peername"),
                          writer.get_extra_info("sockname"))

    def __repr__(self) -> str:
        return f"<StompConnection {self.name}>"

    async def run(self, initial: bytes) -> None:
        try:
            await self._process(initial)
            while not self._closed:
                if not await self._replies_drained():
                    return
                try:
                    data = await asyncio.wait_for(
                        self._reader.read(READ_SIZE), self._read_timeout())
                except asyncio.TimeoutError:
                    self._drop_silent()
                    return
                if not data:
                    log.debug("EOF connection=%s", self.name)
                    return
                self._last_read = clock.monotonic()
                await self._process(data)
        except stomp.FrameError as e:
            log.info("DROP connection=%s reason=%r", self.name, str(e))
            self._send(stomp.Frame("ERROR", {"message": str(e)[:200]},
                                   str(e).encode()))
        except Closing:
            pass
        except (ConnectionError, OSError) as e:
            log.info("DROP connection=%s reason=%r", self.name, str(e))
        finally:
            await self._close()

    async def _process(self, data: bytes) -> None:
        heartbeats = self._parser.heartbeats
        frames = self._parser.feed(data)
        if frames or self._parser.heartbeats != heartbeats:
            self._last_complete = clock.monotonic()
        for frame in frames:
            await self._handle(frame)

    # Deadlines and back-pressure.

    def _read_timeout(self) -> float | None:
        """Until the heart-beat or the idle deadline, whichever is first."""
        now = clock.monotonic()
        deadlines = []
        if self._recv_timeout is not None:
            deadlines.append(self._last_read + self._recv_timeout)
        if self._limits.max_idle:
            deadlines.append(self._last_complete + self._limits.max_idle)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - now)

    def _drop_silent(self) -> None:
        now = clock.monotonic()
        if (self._recv_timeout is not None
                and now - self._last_read >= self._recv_timeout):
            log.info("DROP connection=%s reason=heart-beat timeout",
                     self.name)
        else:
            log.info("DROP connection=%s reason=idle (nothing complete "
                     "in %ss)", self.name, self._limits.max_idle)

    async def _replies_drained(self) -> bool:
        """Wait while replies pile up unread; False: dropped."""
        transport = self._writer.transport
        if transport.get_write_buffer_size() <= READ_PAUSE_BUFFER:
            return True
        try:
            await asyncio.wait_for(self._writer.drain(),
                                   self._limits.max_idle or None)
        except asyncio.TimeoutError:
            log.info("DROP connection=%s reason=client not reading",
                     self.name)
            transport.abort()
            self._closed = True
            return False
        except (ConnectionError, OSError):
            return False
        return True

    async def _admit(self, count: int) -> None:
        """Wait until this connection may start ``count`` requests."""
        limit = self._limits.max_requests
        while not self._share.may_start(self._running, count, limit):
            self._room.clear()
            await self._room.wait()
        self._running += count
        self._share.running += count

    def _finished(self, count: int) -> None:
        self._running -= count
        self._share.running -= count
        self._room.set()

    # Frames.

    async def _handle(self, frame: stomp.Frame) -> None:
        handler = getattr(self, "_on_" + frame.command.lower(), None)
        if handler is None:
            self._error(f"unexpected frame {frame.command}")
            return
        if frame.command == "SEND":
            await self._on_send(frame)
        else:
            handler(frame)
        receipt = frame.headers.get("receipt")
        if receipt is not None:
            self._send(stomp.Frame("RECEIPT", {"receipt-id": receipt}))
        if frame.command == "DISCONNECT":
            await self._drain()
            raise Closing()

    def _on_connect(self, frame: stomp.Frame) -> None:
        versions = frame.headers.get("accept-version", "").split(",")
        if "1.2" not in versions:
            raise stomp.FrameError("accept-version must include 1.2")
        cx, cy = stomp.parse_heartbeat(frame.headers.get("heart-beat"))
        # We send every cy ms and expect something every cx ms.
        send_ms = max(cy, MIN_HEARTBEAT_MS) if cy else 0
        recv_ms = max(cx, MIN_HEARTBEAT_MS) if cx else 0
        self._send(stomp.Frame("CONNECTED", {
            "version": "1.2", "heart-beat": f"{send_ms},{recv_ms}"}))
        if recv_ms:
            # Generous: network delays must not kill a live client.
            self._recv_timeout = recv_ms * 2 / 1000 + 1
        else:
            self._recv_timeout = None
        if send_ms:
            self._send_interval = send_ms / 1000
            self._spawn(self._heartbeats())
        log.info("CONNECT connection=%s heart-beat=%d,%d", self.name,
                 send_ms, recv_ms)

    _on_stomp = _on_connect

    def _on_subscribe(self, frame: stomp.Frame) -> None:
        dest = frame.headers.get("destination")
        sub_id = frame.headers.get("id")
        if not dest or sub_id is None:
            self._error("SUBSCRIBE needs destination and id")
            return
        if sub_id in self._subs:
            self._error(f"subscription id {sub_id!r} already in use")
            return
        if len(self._subs) >= self._limits.max_subscriptions:
            raise stomp.FrameError(
                f"over {self._limits.max_subscriptions} subscriptions")
        self._subs[sub_id] = dest
        self._heads[sub_id] = stomp.message_head(dest, sub_id)
        self._broker.subscribe(self, sub_id, dest)
        log.debug("SUBSCRIBE connection=%s id=%s destination=%s",
                  self.name, quote(sub_id), quote(dest))

    def _on_unsubscribe(self, frame: stomp.Frame) -> None:
        sub_id = frame.headers.get("id")
        dest = self._subs.pop(sub_id, None) if sub_id is not None else None
        self._heads.pop(sub_id, None)  # type: ignore[arg-type]
        if dest is None:
            self._error(f"no subscription with id {sub_id!r}")
            return
        self._broker.unsubscribe(self, sub_id, dest)  # type: ignore[arg-type]

    async def _on_send(self, frame: stomp.Frame) -> None:
        dest = frame.headers.get("destination")
        if dest not in REQUESTS:
            self._error(f"unknown destination {dest!r}")
            return
        reply_to = frame.headers.get("reply-to", DEFAULT_REPLY_TO)
        flow_id = frame.headers.get("ovirtCorrelationId")
        msg = jsonrpc.parse(frame.body)
        count = max(1, len(msg.requests))
        # Not reading more until this connection has room (back-pressure).
        await self._admit(count)
        task = self._spawn(self._request(msg, reply_to, flow_id))
        # Counted off when the task ends, even cancelled before it ran.
        task.add_done_callback(lambda _: self._finished(count))

    def _on_disconnect(self, frame: stomp.Frame) -> None:
        log.debug("DISCONNECT connection=%s", self.name)

    def _on_ack(self, frame: stomp.Frame) -> None:
        pass

    _on_nack = _on_begin = _on_commit = _on_abort = _on_ack

    def _error(self, text: str) -> None:
        log.info("ERROR connection=%s message=%r", self.name, text)
        self._send(stomp.Frame("ERROR", {"message": text[:200]},
                               text.encode()))

    # Requests.

    async def _request(self, msg: jsonrpc.Message, reply_to: str,
                       flow_id: str | None) -> None:
        reply = await self._dispatcher.dispatch(msg, self._peer, flow_id)
        if reply is None or self._closed:
            return
        if not self._broker.send(reply_to, reply):
            # Nobody subscribed to reply-to: answer on this connection.
            self._write(stomp.message_head(reply_to, "")
                        + stomp.message_tail("0", reply))

    # Output.

    def deliver(self, sub_id: str, tail: bytes) -> None:
        """A MESSAGE to subscription ``sub_id``; ``tail`` is the part
        every subscriber gets (stomp.message_tail), encoded once."""
        head = self._heads.get(sub_id)
        if head is not None:
            self._write(head + tail)

    def _send(self, frame: stomp.Frame) -> None:
        self._write(stomp.encode(frame))

    def _write(self, data: bytes) -> None:
        if self._closed:
            return
        transport = self._writer.transport
        # Checked before writing: one large reply to a reading client
        # passes, a backlog of unread ones does not.
        if transport.get_write_buffer_size() > self._limits.max_write_buffer:
            log.info("DROP connection=%s reason=client not reading",
                     self.name)
            transport.abort()
            self._closed = True
            return
        self._writer.write(data)
        self._last_write = clock.monotonic()

    async def _heartbeats(self) -> None:
        assert self._send_interval is not None
        while not self._closed:
            idle = clock.monotonic() - self._last_write
            if idle >= self._send_interval:
                self._write(stomp.HEARTBEAT)
                idle = 0.0
            await asyncio.sleep(self._send_interval - idle)

    # Lifecycle.

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("FAIL connection=%s task failed", self.name,
                      exc_info=task.exception())

    async def _drain(self) -> None:
        try:
            await asyncio.wait_for(self._writer.drain(), 5)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass

    async def _close(self) -> None:
        self._closed = True
        for sub_id, dest in self._subs.items():
            self._broker.unsubscribe(self, sub_id, dest)
        self._subs.clear()
        self._heads.clear()
        for task in list(self._tasks):
            task.cancel()
        transport = self._writer.transport
        try:
            if not transport.is_closing():
                await self._drain()
                # Once only: a second close() of an SSL transport unlinks
                # its protocol, and abort() then fails (Python 3.11).
                self._writer.close()
            await asyncio.wait_for(self._writer.wait_closed(), 5)
        except asyncio.TimeoutError:
            transport.abort()
        except (ConnectionError, OSError):
            pass  # Lost already: nothing is left to close.
        log.info("CLOSE connection=%s", self.name)
