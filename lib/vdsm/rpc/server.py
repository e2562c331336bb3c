"""The API listener: TCP or mutual TLS, protocol detection, connections.

One asyncio loop serves every connection. A new socket is counted first
(``Admission``: [vars] max_connections, max_connections_per_client,
max_tls_handshakes); over a limit it is closed at once, before any TLS
work, and the refusal logged (rate-limited). Then the TLS handshake (at
most ``ssl_handshake_timeout`` seconds; a failure is one REFUSE line with
the client and OpenSSL's reason). Then the first bytes, read through
asyncio streams, choose the protocol: a STOMP command hands the transport
to a StompConnection protocol (no streams: see connection.py), ``PUT /``
or ``GET /`` goes on as an HttpConnection over the streams (image
transfers, when the daemon gives an HTTP handler; see protocol.py);
anything else, or silence for ``connection_idle_timeout``, closes the
connection.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import ssl
from asyncio import sslproto
from typing import Any

from vdsm import pki
from vdsm.common.config import Config
from vdsm.common.log import quote
from vdsm.rpc import connection, http, stomp
from vdsm.rpc.admission import Admission, RateLimit
from vdsm.rpc.broker import Broker
from vdsm.rpc.connection import StompConnection
from vdsm.rpc.dispatch import Dispatcher
from vdsm.rpc.protocol import Protocol, detect

log = logging.getLogger("vdsm.rpc")

# Bytes asyncio's TLS layer reads at once, per connection.
TLS_READ_SIZE = 32 * 1024
# Bytes a connection's stream buffers before reading pauses.
STREAM_LIMIT = 64 * 1024
# Refusal lines: at most this many per interval (seconds).
REFUSALS_BURST = 20
REFUSALS_INTERVAL = 10.0
# Server.stop: seconds a closed connection may take to flush what is
# queued before it is aborted (a peer not reading would keep its socket).
STOP_GRACE = 1.0

TLS12_CIPHERS = ("ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:"
                 "ECDHE+AES:DHE+AES:!aNULL:!eNULL:!PSK:!SRP")


def server_ssl_context(paths: pki.Paths,
                       minimum: str = "tls1.2") -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = (ssl.TLSVersion.TLSv1_3 if minimum == "tls1.3"
                           else ssl.TLSVersion.TLSv1_2)
    # TLS 1.2: ephemeral (EC)DH key exchange only, for forward secrecy
    # (no static-RSA suites); TLS 1.3 suites all have it.
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.load_cert_chain(paths.cert, paths.key)
    ctx.load_verify_locations(paths.ca_cert)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def listening_socket(address: str, port: int) -> socket.socket:
    """Bind ``address``; ``::`` is dual-stack, or 0.0.0.0 without IPv6."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError:
        if address != "::":
            raise
        address, family = "0.0.0.0", socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind((address, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class Server:
    def __init__(self, config: Config, dispatcher: Dispatcher,
                 broker: Broker,
                 ssl_context: ssl.SSLContext | None,
                 http_handler: http.Handler | None = None) -> None:
        self._dispatcher = dispatcher
        self._http = http_handler
        self._broker = broker
        self._ssl = ssl_context
        self._idle_timeout = config.getfloat("vars",
                                             "connection_idle_timeout")
        self._handshake_timeout = min(
            self._idle_timeout,
            config.getfloat("vars", "ssl_handshake_timeout"))
        self._admission = Admission(
            config.getint("vars", "max_connections"),
            config.getint("vars", "max_connections_per_client"),
            config.getint("vars", "max_tls_handshakes"))
        self._refusals = RateLimit(REFUSALS_BURST, REFUSALS_INTERVAL)
        self._limits = connection.Limits.from_config(config)
        self._share = connection.RequestShare(
            config.getint("vars", "rpc_workers")
            + config.getint("vars", "rpc_queue_size"))
        self._max_frame = config.getint("vars", "max_frame_size")
        self._address = config.get("addresses", "management_ip")
        self._port = config.getint("addresses", "management_port")
        self._ids = itertools.count(1)
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task] = set()
        self._conns: set[StompConnection] = set()
        self.port = 0

    async def start(self) -> None:
        # asyncio's TLS layer gives every connection a read buffer of
        # SSLProtocol.max_size (256 KiB in Python 3.11), allocated and
        # zeroed at the start of the handshake: most of what a connection
        # costs. Two TLS records' worth reads as fast.
        sslproto.SSLProtocol.max_size = TLS_READ_SIZE
        sock = listening_socket(self._address, self._port)
        self.port = sock.getsockname()[1]
        # TLS starts in _accept, once the connection is admitted: a
        # refused socket costs no TLS state. The stream buffers at most
        # STREAM_LIMIT before reading pauses (the parsers enforce the
        # frame and request sizes).
        self._server = await asyncio.start_server(
            self._accept, sock=sock, limit=STREAM_LIMIT)
        log.info("LISTEN address=%s port=%d tls=%s", self._address,
                 self.port, self._ssl is not None)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        # Cancelled connections were closed (what is queued is flushed);
        # one still open after STOP_GRACE is aborted, so none outlives
        # the loop with its socket.
        pending = [c for c in self._conns if not c.done.done()]
        if pending:
            await asyncio.wait([c.done for c in pending],
                               timeout=STOP_GRACE)
            for conn in pending:
                if not conn.done.done():
                    log.info("DROP connection=%s reason=still open at "
                             "stop", conn.name)
                    conn.abort_closing()
            # connection_lost comes in the next loop iterations.
            await asyncio.wait([c.done for c in pending],
                               timeout=STOP_GRACE)
        log.info("STOP port=%d", self.port)

    async def _accept(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        peer = writer.get_extra_info("peername")
        client = str(peer[0]) if peer else "-"
        refusal = self._admission.open(client)
        if refusal is not None:
            self._refuse(peer, refusal.value)
            writer.transport.abort()
            self._handlers.discard(task)
            return
        name = f"{next(self._ids)}"
        log.info("OPEN connection=%s client=%s", name,
                 _format_addr(peer))
        try:
            if self._ssl is not None and not await self._start_tls(
                    name, peer, writer):
                return
            detected = await self._detect(name, reader)
            if detected is None:
                writer.close()
                return
            proto, initial = detected
            if proto is Protocol.HTTP:
                assert self._http is not None
                await http.HttpConnection(name, reader, writer, self._http,
                                          self._idle_timeout).run(initial)
                return
            await self._serve_stomp(name, writer.transport, initial)
        except (ConnectionError, OSError, ssl.SSLError) as e:
            log.info("DROP connection=%s reason=%r", name, str(e))
            _abort(writer.transport)
        except Exception:
            # A bug: whatever a client sends must end in an ERROR frame or
            # a DROP line, never here.
            log.exception("FAIL connection=%s", name)
            _abort(writer.transport)
        finally:
            self._admission.close(client)
            self._handlers.discard(task)

    async def _serve_stomp(self, name: str, transport: Any,
                           initial: bytes) -> None:
        """Hand the transport from the streams to a StompConnection
        protocol; return when the connection has ended."""
        if transport.is_closing():
            # Lost while the stream read the first bytes: the stream's
            # protocol got connection_lost, a new one never would (its
            # done would never be set; a close() of this SSL transport
            # would unlink its protocol and break abort()).
            log.info("DROP connection=%s reason=closed before request",
                     name)
            return
        conn = StompConnection(name, self._broker, self._dispatcher,
                               self._max_frame, self._limits, self._share)
        self._conns.add(conn)
        conn.done.add_done_callback(lambda _: self._conns.discard(conn))
        transport.set_protocol(conn)
        conn.connection_made(transport)
        if not transport.is_reading():
            transport.resume_reading()  # Paused by the stream, maybe.
        conn.data_received(initial)
        try:
            await asyncio.shield(conn.done)
        except asyncio.CancelledError:
            conn.close()  # Server.stop().
            raise

    async def _start_tls(self, name: str, peer: Any,
                         writer: asyncio.StreamWriter) -> bool:
        """The TLS handshake, at most ``ssl_handshake_timeout`` seconds;
        False (the refusal logged, the socket closed) if it failed."""
        assert self._ssl is not None
        refusal = self._admission.start_handshake()
        if refusal is not None:
            self._refuse(peer, refusal.value, name)
            writer.transport.abort()
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._handshake_timeout
        try:
            await writer.start_tls(
                self._ssl, ssl_handshake_timeout=self._handshake_timeout)
        except ssl.SSLError as e:
            self._refuse(peer, _tls_reason(e), name, tls=True)
        except (ConnectionError, OSError, asyncio.TimeoutError) as e:
            # asyncio aborts a handshake past its timeout
            # (ConnectionAbortedError).
            if loop.time() >= deadline:
                reason = "handshake timeout"
            else:
                reason = f"closed during handshake ({type(e).__name__})"
            self._refuse(peer, reason, name, tls=True)
        else:
            return True
        finally:
            self._admission.end_handshake()
        _abort(writer.transport)
        return False

    def _refuse(self, peer: Any, reason: str, name: str = "-",
                tls: bool = False) -> None:
        """One INFO line per refused client, at most REFUSALS_BURST per
        REFUSALS_INTERVAL seconds; the next line says how many were held
        back."""
        allowed, held = self._refusals.allow()
        if not allowed:
            return
        log.info("REFUSE connection=%s client=%s reason=%s%s%s", name,
                 _format_addr(peer), quote(reason),
                 " tls=true" if tls else "",
                 f" (and {held} more not logged)" if held else "")

    async def _detect(self, name: str,
                      reader: asyncio.StreamReader
                      ) -> tuple[Protocol, bytes] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._idle_timeout
        data = b""
        while True:
            verdict = detect(data)
            if verdict is Protocol.HTTP and self._http is None:
                verdict = Protocol.UNKNOWN
            if verdict is Protocol.STOMP or verdict is Protocol.HTTP:
                return verdict, data
            if verdict is Protocol.UNKNOWN:
                log.info("DROP connection=%s reason=unknown protocol "
                         "prefix=%r", name, data[:stomp.MAX_COMMAND])
                return None
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.info("DROP connection=%s reason=no request in %ss",
                         name, self._idle_timeout)
                return None
            try:
                # All the stream holds (at most about 2 * STREAM_LIMIT
                # plus one TLS read): nothing is left in it when the
                # transport goes to another protocol.
                chunk = await asyncio.wait_for(
                    reader.read(4 * STREAM_LIMIT), remaining)
            except asyncio.TimeoutError:
                continue
            if not chunk:
                log.info("DROP connection=%s reason=closed before request",
                         name)
                return None
            data += chunk


def _tls_reason(e: ssl.SSLError) -> str:
    """What OpenSSL says, shortest first: no certificate, unknown CA,
    expired, TLS 1.0, plaintext ..."""
    verify = getattr(e, "verify_message", None)
    reason = e.reason or type(e).__name__
    return f"{reason}: {verify}" if verify else str(reason)


def _abort(transport: asyncio.BaseTransport) -> None:
    # A lost or closed SSL transport fails abort() (Python 3.11): abort
    # only one still open.
    if not transport.is_closing():
        transport.abort()  # type: ignore[attr-defined]


def _format_addr(addr: Any) -> str:
    if not addr:
        return "-"
    return f"{addr[0]}:{addr[1]}"


def handle_loop_exception(loop: asyncio.AbstractEventLoop,
                          context: dict[str, Any]) -> None:
    """TLS handshakes failing (plaintext, unknown CA) are one INFO line."""
    exc = context.get("exception")
    if isinstance(exc, (ssl.SSLError, ConnectionError, asyncio.TimeoutError,
                        TimeoutError)):
        log.info("DROP reason=%r", context.get("message") or str(exc))
        return
    loop.default_exception_handler(context)
