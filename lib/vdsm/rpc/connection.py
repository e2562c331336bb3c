"""One STOMP connection: frames in, requests dispatched, frames out.

The parser is sans-IO (rpc/stomp.py); this module owns the socket side:
reading with the heart-beat deadline, writing with back-pressure limits,
the outgoing heart-beat task, and the subscription table of the
connection. Requests run concurrently; their responses are written as they
complete, so they may leave in another order than they came (clients match
JSON-RPC ids).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from vdsm.common import clock
from vdsm.common.log import quote
from vdsm.rpc import jsonrpc, stomp
from vdsm.rpc.broker import DEFAULT_REPLY_TO, REQUESTS, Broker
from vdsm.rpc.dispatch import Dispatcher, Peer

log = logging.getLogger("vdsm.rpc")

READ_SIZE = 256 * 1024
# Close a client that does not read its responses: this much unsent data.
MAX_WRITE_BUFFER = 64 * 1024 * 1024
MIN_HEARTBEAT_MS = 1000


class Closing(Exception):
    """The connection must end now (DISCONNECT or a fatal error)."""


class StompConnection:
    def __init__(self, name: str, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, broker: Broker,
                 dispatcher: Dispatcher, max_frame_size: int) -> None:
        self.name = name
        self._reader = reader
        self._writer = writer
        self._broker = broker
        self._dispatcher = dispatcher
        self._parser = stomp.Parser(max_frame_size)
        self._subs: dict[str, str] = {}
        self._tasks: set[asyncio.Task] = set()
        self._last_write = clock.monotonic()
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
                try:
                    data = await asyncio.wait_for(
                        self._reader.read(READ_SIZE), self._recv_timeout)
                except asyncio.TimeoutError:
                    log.info("DROP connection=%s reason=heart-beat timeout",
                             self.name)
                    return
                if not data:
                    log.debug("EOF connection=%s", self.name)
                    return
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
        for frame in self._parser.feed(data):
            await self._handle(frame)

    # Frames.

    async def _handle(self, frame: stomp.Frame) -> None:
        handler = getattr(self, "_on_" + frame.command.lower(), None)
        if handler is None:
            self._error(f"unexpected frame {frame.command}")
            return
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
        self._subs[sub_id] = dest
        self._broker.subscribe(self, sub_id, dest)
        log.debug("SUBSCRIBE connection=%s id=%s destination=%s",
                  self.name, quote(sub_id), quote(dest))

    def _on_unsubscribe(self, frame: stomp.Frame) -> None:
        sub_id = frame.headers.get("id")
        dest = self._subs.pop(sub_id, None) if sub_id is not None else None
        if dest is None:
            self._error(f"no subscription with id {sub_id!r}")
            return
        self._broker.unsubscribe(self, sub_id, dest)  # type: ignore[arg-type]

    def _on_send(self, frame: stomp.Frame) -> None:
        dest = frame.headers.get("destination")
        if dest not in REQUESTS:
            self._error(f"unknown destination {dest!r}")
            return
        reply_to = frame.headers.get("reply-to", DEFAULT_REPLY_TO)
        flow_id = frame.headers.get("ovirtCorrelationId")
        self._spawn(self._request(frame.body, reply_to, flow_id))

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

    async def _request(self, body: bytes, reply_to: str,
                       flow_id: str | None) -> None:
        msg = jsonrpc.parse(body)
        reply = await self._dispatcher.dispatch(msg, self._peer, flow_id)
        if reply is None or self._closed:
            return
        if not self._broker.send(reply_to, reply):
            # Nobody subscribed to reply-to: answer on this connection.
            self.send_message(reply_to, "", "0", reply)

    # Output.

    def send_message(self, destination: str, sub_id: str, message_id: str,
                     body: bytes) -> None:
        headers = {"destination": destination,
                   "content-type": "application/json",
                   "subscription": sub_id, "message-id": message_id}
        self._send(stomp.Frame("MESSAGE", headers, body))

    def _send(self, frame: stomp.Frame) -> None:
        self._write(stomp.encode(frame))

    def _write(self, data: bytes) -> None:
        if self._closed:
            return
        self._writer.write(data)
        self._last_write = clock.monotonic()
        if self._writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            log.info("DROP connection=%s reason=client not reading",
                     self.name)
            self._writer.transport.abort()
            self._closed = True

    async def _heartbeats(self) -> None:
        assert self._send_interval is not None
        while not self._closed:
            idle = clock.monotonic() - self._last_write
            if idle >= self._send_interval:
                self._write(stomp.HEARTBEAT)
                idle = 0.0
            await asyncio.sleep(self._send_interval - idle)

    # Lifecycle.

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

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
