"""One STOMP connection: frames in, requests dispatched, frames out.

The parser is sans-IO (rpc/stomp.py); this module owns the socket side as
an asyncio Protocol, set on the transport once the server has seen STOMP
in the first bytes (rpc/server.py). The bytes read are parsed and handled
in the loop callback that received them: no task and no extra loop
iteration per read. It also owns the heart-beat and idle deadlines (loop
timers), the write back-pressure and the subscription table of the
connection.

Requests the dispatcher answers at once (verbs answered from memory) are
answered within that callback; the others run concurrently, a task each,
and their responses are written as they complete, so they may leave in
another order than they came (clients match JSON-RPC ids).

Writes are batched: the frames produced while the loop runs one callback
(all the replies to one read, the replies completed in one iteration)
leave in one transport write, at the end of that read or from a callback
queued by the first of them.

What one client may cost (``Limits``, from [vars]): a connection that sent
nothing complete (no frame, no heart-beat) for ``connection_max_idle`` s is
closed; more than ``max_subscriptions`` subscriptions is a frame error; at
most ``max_requests_per_connection`` requests run at once, and past three
quarters of the executor's capacity (``RequestShare``) a connection that
already has one running waits: the rest is kept for the others. While a
connection waits, or while its replies are not being read (over
READ_PAUSE_BUFFER unsent), it is not read from (TCP pushes back on the
client); a client whose unsent replies pass ``max_write_buffer`` bytes, or
that reads none for ``connection_max_idle`` s, is dropped.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass
from typing import Any, Awaitable

from vdsm.common import clock
from vdsm.common.config import Config
from vdsm.common.log import quote
from vdsm.rpc import jsonrpc, stomp
from vdsm.rpc.broker import DEFAULT_REPLY_TO, REQUESTS, Broker
from vdsm.rpc.dispatch import Dispatcher, Peer, Reply

log = logging.getLogger("vdsm.rpc")

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
    """The connection must end now (DISCONNECT)."""


class StompConnection(asyncio.Protocol):
    def __init__(self, name: str, broker: Broker, dispatcher: Dispatcher,
                 max_frame_size: int, limits: Limits | None = None,
                 share: RequestShare | None = None) -> None:
        self.name = name
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
        self._loop = asyncio.get_running_loop()
        self._transport: Any = None
        self._peer = Peer()
        # Frames read, not handled yet: a SEND waiting for room, and what
        # came after it.
        self._backlog: collections.deque[stomp.Frame] = collections.deque()
        # The first SEND of the backlog and its parsed message.
        self._waiting: tuple[stomp.Frame, jsonrpc.Message] | None = None
        self._out: list[bytes] = []
        self._out_size = 0
        # A flush is due: the one ending data_received, or a queued one.
        self._flush_due = False
        # Why reading is paused: "room" (waiting for requests to end),
        # "write" (replies piling up unread).
        self._paused: set[str] = set()
        self._writing_paused = False
        self._write_limit = min(READ_PAUSE_BUFFER,
                                self._limits.max_write_buffer)
        self._last_write = self._last_read = clock.monotonic()
        self._last_complete = self._last_read
        self._recv_timeout: float | None = None
        self._send_interval: float | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._closed = False
        self.done: asyncio.Future = self._loop.create_future()

    def __repr__(self) -> str:
        return f"<StompConnection {self.name}>"

    # asyncio.Protocol.

    def connection_made(self, transport: Any) -> None:
        """Called by the server when it hands the transport over."""
        self._transport = transport
        self._peer = Peer(transport.get_extra_info("peername"),
                          transport.get_extra_info("sockname"))
        # pause_writing() past this: nothing bigger is buffered unread
        # without it, so the write limit is only checked while paused.
        transport.set_write_buffer_limits(high=self._write_limit)
        if self._limits.max_idle:
            self._set_timer("idle", self._limits.max_idle, self._check_idle)

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        self._last_read = clock.monotonic()
        self._flush_due = True
        try:
            heartbeats = self._parser.heartbeats
            try:
                frames = self._parser.feed(data)
            except stomp.FrameError as e:
                self._frame_error(e)
                return
            if frames or self._parser.heartbeats != heartbeats:
                self._last_complete = self._last_read
            self._backlog.extend(frames)
            self._handle_backlog()
        finally:
            self._flush()

    def eof_received(self) -> bool:
        log.debug("EOF connection=%s", self.name)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and not self._closed:
            log.info("DROP connection=%s reason=%r", self.name,
                     str(exc) or type(exc).__name__)
        self._closed = True
        self._out.clear()
        self._backlog.clear()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for sub_id, dest in self._subs.items():
            self._broker.unsubscribe(self, sub_id, dest)
        self._subs.clear()
        self._heads.clear()
        for task in list(self._tasks):
            task.cancel()
        log.info("CLOSE connection=%s", self.name)
        if not self.done.done():
            self.done.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True
        self._pause_reading("write")
        if self._limits.max_idle:
            self._set_timer("write", self._limits.max_idle,
                            self._not_reading)

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._cancel_timer("write")
        self._resume_reading("write")

    # Frames.

    def _handle_backlog(self) -> None:
        try:
            while self._backlog and not self._closed:
                frame = self._backlog[0]
                msg = None
                if frame.command == "SEND" and \
                        frame.headers.get("destination") in REQUESTS:
                    msg = self._parsed(frame)
                    if not self._share.may_start(
                            self._running, max(1, len(msg.requests)),
                            self._limits.max_requests):
                        # Not reading more until this connection has room
                        # (back-pressure); _finished() comes back here.
                        self._pause_reading("room")
                        return
                self._backlog.popleft()
                self._waiting = None
                self._handle(frame, msg)
            self._resume_reading("room")
        except stomp.FrameError as e:
            self._frame_error(e)
        except Closing:
            self.close()

    def _frame_error(self, e: stomp.FrameError) -> None:
        """The peer broke the protocol: ERROR, then close."""
        log.info("DROP connection=%s reason=%r", self.name, str(e))
        self._send(stomp.Frame("ERROR", {"message": str(e)[:200]},
                               str(e).encode()))
        self._backlog.clear()
        self.close()

    def _parsed(self, frame: stomp.Frame) -> jsonrpc.Message:
        """The message of the SEND first in the backlog, parsed once."""
        if self._waiting is None or self._waiting[0] is not frame:
            self._waiting = (frame, jsonrpc.parse(frame.body))
        return self._waiting[1]

    def _handle(self, frame: stomp.Frame,
                msg: jsonrpc.Message | None) -> None:
        if msg is not None:
            self._request(frame, msg)
        else:
            handler = getattr(self, "_on_" + frame.command.lower(), None)
            if handler is None:
                self._error(f"unexpected frame {frame.command}")
                return
            handler(frame)
        receipt = frame.headers.get("receipt")
        if receipt is not None:
            self._send(stomp.Frame("RECEIPT", {"receipt-id": receipt}))
        if frame.command == "DISCONNECT":
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
            self._set_timer("recv", self._recv_timeout,
                            self._check_heartbeat)
        else:
            self._recv_timeout = None
            self._cancel_timer("recv")
        if send_ms:
            self._send_interval = send_ms / 1000
            self._set_timer("send", self._send_interval, self._heartbeat)
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

    def _on_send(self, frame: stomp.Frame) -> None:
        # A SEND to a request destination goes to _request.
        self._error(
            f"unknown destination {frame.headers.get('destination')!r}")

    def _request(self, frame: stomp.Frame, msg: jsonrpc.Message) -> None:
        count = max(1, len(msg.requests))
        self._running += count
        self._share.running += count
        reply_to = frame.headers.get("reply-to", DEFAULT_REPLY_TO)
        flow_id = frame.headers.get("ovirtCorrelationId")
        try:
            reply = self._dispatcher.dispatch(msg, self._peer, flow_id)
        except BaseException:
            self._finished(count)
            raise
        if reply is None or isinstance(reply, bytes):
            self._finished(count)
            self._reply(reply, reply_to)
        else:
            task = self._spawn(self._reply_later(reply, reply_to))
            # Counted off when the task ends, even cancelled before it ran.
            task.add_done_callback(lambda _: self._finished(count))

    def _finished(self, count: int) -> None:
        self._running -= count
        self._share.running -= count
        if "room" in self._paused and not self._closed:
            self._loop.call_soon(self._handle_waiting)

    def _handle_waiting(self) -> None:
        if not self._closed and "room" in self._paused:
            self._handle_backlog()

    def _on_disconnect(self, frame: stomp.Frame) -> None:
        log.debug("DISCONNECT connection=%s", self.name)

    def _on_ack(self, frame: stomp.Frame) -> None:
        pass

    _on_nack = _on_begin = _on_commit = _on_abort = _on_ack

    def _error(self, text: str) -> None:
        log.info("ERROR connection=%s message=%r", self.name, text)
        self._send(stomp.Frame("ERROR", {"message": text[:200]},
                               text.encode()))

    # Replies.

    async def _reply_later(self, reply: Awaitable[Reply],
                           reply_to: str) -> None:
        self._reply(await reply, reply_to)

    def _reply(self, reply: Reply, reply_to: str) -> None:
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
        """Queue data for the flush ending this loop callback."""
        if self._closed:
            return
        if not self._flush_due:
            self._flush_due = True
            self._loop.call_soon(self._flush)
        self._out.append(data)
        self._out_size += len(data)
        self._last_write = clock.monotonic()
        if self._out_size > self._limits.max_write_buffer:
            # A burst (events to many subscriptions of a client that does
            # not read) is not queued past the limit: written now, and the
            # next one finds writing paused and drops the client.
            self._flush()

    def _flush(self) -> None:
        self._flush_due = False
        if not self._out or self._transport is None or self._closed:
            return
        data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
        self._out.clear()
        self._out_size = 0
        # Checked before writing: one large reply to a reading client
        # passes, a backlog of unread ones does not. Over the limit only
        # while writing is paused (the high-water mark is at most it).
        if self._writing_paused and self._transport.get_write_buffer_size() \
                > self._limits.max_write_buffer:
            log.info("DROP connection=%s reason=client not reading",
                     self.name)
            self._abort()
            return
        self._transport.write(data)

    # Deadlines.

    def _set_timer(self, name: str, delay: float, callback: Any) -> None:
        old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()
        if not self._closed:
            self._timers[name] = self._loop.call_later(delay, callback)

    def _cancel_timer(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _check_heartbeat(self) -> None:
        assert self._recv_timeout is not None
        late = clock.monotonic() - self._last_read
        if late >= self._recv_timeout:
            log.info("DROP connection=%s reason=heart-beat timeout",
                     self.name)
            self._abort()
            return
        self._set_timer("recv", self._recv_timeout - late,
                        self._check_heartbeat)

    def _check_idle(self) -> None:
        if self._paused:
            # Not read from: nothing can complete. Waiting for room is
            # ours to end (the clock restarts when reading resumes);
            # replies piling up unread are the write deadline's
            # (_not_reading), which says why the client goes.
            self._set_timer("idle", self._limits.max_idle,
                            self._check_idle)
            return
        idle = clock.monotonic() - self._last_complete
        if idle >= self._limits.max_idle:
            log.info("DROP connection=%s reason=idle (nothing complete "
                     "in %ss)", self.name, self._limits.max_idle)
            self._abort()
            return
        self._set_timer("idle", self._limits.max_idle - idle,
                        self._check_idle)

    def _not_reading(self) -> None:
        log.info("DROP connection=%s reason=client not reading", self.name)
        self._abort()

    def _heartbeat(self) -> None:
        assert self._send_interval is not None
        idle = clock.monotonic() - self._last_write
        if idle >= self._send_interval:
            self._write(stomp.HEARTBEAT)
            idle = 0.0
        self._set_timer("send", self._send_interval - idle, self._heartbeat)

    # Reading paused and resumed.

    def _pause_reading(self, why: str) -> None:
        if not self._paused and self._transport is not None \
                and not self._closed:
            self._transport.pause_reading()
        self._paused.add(why)

    def _resume_reading(self, why: str) -> None:
        if why not in self._paused:
            return
        self._paused.discard(why)
        if not self._paused and self._transport is not None \
                and not self._closed:
            # The idle clock runs only while the client can be read.
            self._last_complete = clock.monotonic()
            self._transport.resume_reading()

    # Lifecycle.

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("FAIL connection=%s task failed", self.name,
                      exc_info=task.exception())

    def close(self) -> None:
        """Write what is queued, then close (the transport flushes)."""
        if self._closed or self._transport is None:
            return
        self._flush()
        self._closed = True
        # Once only: a second close() of an SSL transport unlinks its
        # protocol, and abort() then fails (Python 3.11).
        self._transport.close()
        # A peer that never reads must not keep the socket forever.
        self._timers["close"] = self._loop.call_later(5, self._force_abort)

    def _force_abort(self) -> None:
        # Closed once (by close()) and not lost yet (connection_lost
        # cancels this timer): abort() works on it.
        if self._transport is not None:
            self._transport.abort()

    def abort_closing(self) -> None:
        """Server.stop: a connection closed but not lost yet (its peer
        does not read what is queued) is aborted now, not in 5 s."""
        timer = self._timers.pop("close", None)
        if timer is not None and not self.done.done():
            timer.cancel()
            self._force_abort()
        elif not self._closed:
            self._abort()

    def _abort(self) -> None:
        self._closed = True
        if self._transport is not None:
            abort(self._transport)


def abort(transport: asyncio.BaseTransport) -> None:
    # A lost or closed SSL transport fails abort() (Python 3.11): abort
    # only one still open.
    if not transport.is_closing():
        transport.abort()  # type: ignore[attr-defined]
