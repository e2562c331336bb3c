"""Python client of the Vdsm API (JSON-RPC over STOMP over TLS).

    from vdsm import client
    cli = client.connect("localhost", 54321)        # host PKI by default
    cli.Host.ping2()
    cli.VM.getStats(vmID=vm_id)
    events = cli.subscribe()                        # jms.queue.events
    method, params = events.get(timeout=10)
    cli.close()

Errors of the server raise ``ServerError`` (``code``, ``message``); no
answer in time raises ``TimeoutError``; a dropped connection fails every
pending call with ``ConnectionLost``. Requests go as one-element batches on
``jms.topic.vdsm_requests`` with ``reply-to`` a private destination, as
upstream's client does, so either client works against either server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import queue
import ssl
import threading
import uuid
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from vdsm.rpc import stomp
from vdsm.rpc.broker import EVENTS, REQUESTS

log = logging.getLogger("vdsm.client")

DEFAULT_PKI = "/etc/pki/vdsm"


class Error(Exception):
    pass


class ServerError(Error):
    def __init__(self, method: str, code: int, message: str) -> None:
        self.method = method
        self.code = code
        self.message = message
        super().__init__(f"{method} failed: code={code} message={message}")


class TimeoutError(Error):
    pass


class ConnectionLost(Error):
    pass


def client_ssl_context(pki_dir: str = DEFAULT_PKI, cert: str | None = None,
                       key: str | None = None,
                       ca: str | None = None) -> ssl.SSLContext:
    """Client credentials: the host's own cert and key by default.

    Like upstream clients, the peer's hostname is not checked; its cert
    must be signed by the CA.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ca = ca or os.path.join(pki_dir, "certs", "cacert.pem")
    if not os.path.exists(ca):
        raise Error(f"CA certificate {ca} not found (run 'vdsm-tool "
                    f"configure', or give another PKI dir)")
    ctx.load_verify_locations(ca)
    if cert is None:
        cert = os.path.join(pki_dir, "certs", "vdsmcert.pem")
        key = key or os.path.join(pki_dir, "keys", "vdsmkey.pem")
    if os.path.exists(cert):
        ctx.load_cert_chain(cert, key)
    return ctx


def connect(host: str = "localhost", port: int = 54321,
            ssl_context: ssl.SSLContext | None = None, use_tls: bool = True,
            timeout: float = 60, heartbeat: tuple[int, int] = (0, 0),
            connect_timeout: float = 10) -> Client:
    if use_tls and ssl_context is None:
        ssl_context = client_ssl_context()
    return Client(host, port, ssl_context if use_tls else None, timeout,
                  heartbeat, connect_timeout)


class Subscription:
    """Notifications of one destination, as (method, params) pairs."""

    def __init__(self, destination: str, sub_id: str) -> None:
        self.destination = destination
        self.id = sub_id
        self._queue: queue.Queue = queue.Queue()

    def get(self, timeout: float | None = None) -> tuple[str, Any]:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no event on {self.destination} in "
                               f"{timeout} s")

    def _put(self, item: tuple[str, Any]) -> None:
        self._queue.put(item)


class _Namespace:
    def __init__(self, client: Client, name: str) -> None:
        self._client = client
        self._name = name

    def __getattr__(self, verb: str) -> Any:
        if verb.startswith("_"):
            raise AttributeError(verb)
        method = f"{self._name}.{verb}"

        def call(_timeout: float | None = None, **params: Any) -> Any:
            return self._client.call(method, params, timeout=_timeout)
        return call


class Client:
    """A connection and its I/O thread.

    The socket is served by an asyncio loop in a private thread (an SSL
    socket must not be read and written from two threads at once); calls
    from any thread hand their frames to that loop and wait on futures.
    """

    def __init__(self, host: str, port: int,
                 ssl_context: ssl.SSLContext | None, timeout: float,
                 heartbeat: tuple[int, int], connect_timeout: float) -> None:
        self.timeout = timeout
        self._parser = stomp.Parser(max_size=1 << 30)
        self._ids = itertools.count(1)
        self._pending: dict[Any, tuple[str, Future]] = {}
        self._pending_lock = threading.Lock()
        self._subs: dict[str, Subscription] = {}
        self._reply_to = f"client.{uuid.uuid4()}"
        self._connected: Future = Future()
        self._closed = threading.Event()
        self._writer: asyncio.StreamWriter | None = None
        self.errors: list[str] = []
        self.heartbeats_received = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        daemon=True, name="vdsm-client")
        self._thread.start()
        try:
            self._run(self._open(host, port, ssl_context), connect_timeout)
            self._send(stomp.Frame("CONNECT", {
                "accept-version": "1.2", "host": "vdsm",
                "heart-beat": f"{heartbeat[0]},{heartbeat[1]}"}))
            try:
                connected = self._connected.result(connect_timeout)
            except FutureTimeout:
                raise TimeoutError("no CONNECTED frame")
        except BaseException:
            self.close()
            raise
        self.server_heartbeat = stomp.parse_heartbeat(
            connected.headers.get("heart-beat"))
        if heartbeat[0]:
            self._run(self._start_beats(heartbeat[0] / 1000), 5)
        self._subscribe(self._reply_to, "replies")

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getattr__(self, namespace: str) -> _Namespace:
        if namespace.startswith("_"):
            raise AttributeError(namespace)
        return _Namespace(self, namespace)

    # Calls.

    def call(self, method: str, params: dict[str, Any] | list | None = None,
             timeout: float | None = None,
             flow_id: str | None = None) -> Any:
        future = self.call_async(method, params, flow_id)
        timeout = self.timeout if timeout is None else timeout
        try:
            return future.result(timeout)
        except FutureTimeout:
            with self._pending_lock:
                self._pending = {k: v for k, v in self._pending.items()
                                 if v[1] is not future}
            raise TimeoutError(f"{method}: no response in {timeout} s")

    def call_async(self, method: str, params: Any = None,
                   flow_id: str | None = None) -> Future:
        req_id = str(next(self._ids))
        future: Future = Future()
        with self._pending_lock:
            if self._closed.is_set():
                raise ConnectionLost("connection closed")
            self._pending[req_id] = (method, future)
        body = json.dumps([{"jsonrpc": "2.0", "method": method,
                            "params": {} if params is None else params,
                            "id": req_id}]).encode()
        headers = {"destination": REQUESTS[0], "reply-to": self._reply_to}
        if flow_id:
            headers["ovirtCorrelationId"] = flow_id
        self._send(stomp.Frame("SEND", headers, body))
        return future

    def subscribe(self, destination: str = EVENTS) -> Subscription:
        return self._subscribe(destination, str(uuid.uuid4()))

    def _subscribe(self, destination: str, sub_id: str) -> Subscription:
        sub = Subscription(destination, sub_id)
        self._subs[destination] = sub
        self._send(stomp.Frame("SUBSCRIBE", {
            "destination": destination, "id": sub_id, "ack": "auto"}))
        return sub

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if not self._closed.is_set() and self._writer is not None:
            try:
                self._send(stomp.Frame("DISCONNECT"))
            except Error:
                pass
        self._closed.set()
        try:
            self._run(self._aclose(), 10)
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._fail_pending(ConnectionLost("connection closed"))

    # The I/O thread.

    def _run(self, coro: Any, timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError("connection timed out")

    async def _open(self, host: str, port: int,
                    ctx: ssl.SSLContext | None) -> None:
        try:
            reader, self._writer = await asyncio.open_connection(
                host, port, ssl=ctx, server_hostname=host if ctx else None,
                limit=1 << 20)
        except OSError as e:
            raise ConnectionLost(f"cannot connect to {host}:{port}: {e}")
        self._reader_task = asyncio.get_running_loop().create_task(
            self._read(reader))

    async def _start_beats(self, interval: float) -> None:
        self._beats = asyncio.get_running_loop().create_task(
            self._beat(interval))

    async def _beat(self, interval: float) -> None:
        while self._writer is not None and not self._closed.is_set():
            self._writer.write(stomp.HEARTBEAT)
            await asyncio.sleep(interval)

    async def _aclose(self) -> None:
        for task in (getattr(self, "_beats", None),
                     getattr(self, "_reader_task", None)):
            if task is not None:
                task.cancel()
        if self._writer is not None:
            try:
                await asyncio.wait_for(self._writer.drain(), 5)
                self._writer.close()
                await asyncio.wait_for(self._writer.wait_closed(), 5)
            except (OSError, asyncio.TimeoutError, ssl.SSLError):
                self._writer.transport.abort()

    def _send(self, frame: stomp.Frame) -> None:
        if self._closed.is_set():
            raise ConnectionLost("connection closed")
        self._loop.call_soon_threadsafe(self._write, stomp.encode(frame))

    def _write(self, data: bytes) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        reason = "connection closed by server"
        try:
            while True:
                data = await reader.read(256 * 1024)
                if not data:
                    break
                before = self._parser.heartbeats
                for frame in self._parser.feed(data):
                    self._on_frame(frame)
                self.heartbeats_received += self._parser.heartbeats - before
        except (OSError, ssl.SSLError, stomp.FrameError) as e:
            reason = str(e) or type(e).__name__
        err = ConnectionLost(reason)
        if not self._connected.done():
            self._connected.set_exception(err)
        self._closed.set()
        self._fail_pending(err)

    def _on_frame(self, frame: stomp.Frame) -> None:
        if frame.command == "CONNECTED":
            if not self._connected.done():
                self._connected.set_result(frame)
        elif frame.command == "MESSAGE":
            self._on_message(frame)
        elif frame.command == "ERROR":
            text = frame.body.decode(errors="replace")
            log.warning("ERROR frame from server: %s", text)
            self.errors.append(text)

    def _on_message(self, frame: stomp.Frame) -> None:
        dest = frame.headers.get("destination")
        try:
            value = json.loads(frame.body)
        except ValueError:
            log.warning("invalid JSON from server on %s", dest)
            return
        if dest == self._reply_to:
            for item in value if isinstance(value, list) else [value]:
                self._on_response(item)
        elif dest in self._subs:
            self._subs[dest]._put((value.get("method"), value.get("params")))

    def _on_response(self, resp: dict[str, Any]) -> None:
        with self._pending_lock:
            entry = self._pending.pop(resp.get("id"), None)
        if entry is None:
            log.warning("response to unknown request %r", resp.get("id"))
            return
        method, future = entry
        if "error" in resp:
            err = resp["error"]
            future.set_exception(ServerError(method, err.get("code"),
                                             err.get("message")))
        else:
            future.set_result(resp.get("result"))

    def _fail_pending(self, err: Exception) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        for _, future in pending.values():
            if not future.done():
                future.set_exception(err)
