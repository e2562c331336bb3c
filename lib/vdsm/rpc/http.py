"""HTTP/1.1 on the API port: one request per connection, streamed.

The engine's image transfers (OVF_STORE upload ``PUT``, RetrieveImageData
``GET``) come on port 54321 next to STOMP (see protocol.py). This module is
the transport only: ``parse_head`` (sans-IO) turns the request head into a
``Request``; ``HttpConnection`` reads it from the socket and hands an
``Exchange`` to the ``Handler`` (``vdsm.api.image_transfer``), which reads
the body and writes the reply through it, a chunk at a time, with
back-pressure both ways: nothing is ever held whole in memory.

One request per connection, ``Connection: close`` on every reply (the
engine sends ``connection: close`` itself). A request with
``Expect: 100-continue`` (curl's uploads) gets ``100 Continue`` when the
handler first reads the body, so a refused upload is refused before its
body is sent. A reply sent before the body was read is followed by a short
discard of what the client still sends (a bounded lingering close), so the
client reads the reply instead of a connection reset.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from http import HTTPStatus
from typing import Protocol

from vdsm.rpc.dispatch import Peer

log = logging.getLogger("vdsm.rpc.http")

MAX_HEAD = 64 * 1024
MAX_HEADERS = 100
# A client that sends nothing for this long is dropped (upstream: 60 s).
IO_TIMEOUT = 60.0
# After a refusal: how much of an unread body to discard, for how long.
LINGER_BYTES = 16 * 1024 * 1024
LINGER_SECONDS = 2.0
READ_SIZE = 256 * 1024
WRITE_HIGH_WATER = 1024 * 1024

METHODS = ("GET", "PUT")
# Sizes up to 10**18 - 1 bytes.
MAX_DIGITS = 18


class HeadError(Exception):
    """The request head is not HTTP we serve; ``status`` is the reply."""

    def __init__(self, status: HTTPStatus, text: str) -> None:
        super().__init__(text)
        self.status = status


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    version: str
    # Names lower-cased; a repeated header: the first wins.
    headers: dict[str, str]
    content_length: int | None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def head_end(data: bytes) -> int:
    """Where the head ends in data (-1: not yet); bare LF accepted."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = data.find(sep)
        if i >= 0:
            return i + len(sep)
    return -1


def parse_head(head: bytes) -> Request:
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise HeadError(HTTPStatus.BAD_REQUEST, "non-ASCII head") from None
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HeadError(HTTPStatus.BAD_REQUEST, "bad request line")
    method, target, version = parts
    if method not in METHODS:
        raise HeadError(HTTPStatus.METHOD_NOT_ALLOWED,
                        f"method {method} not served")
    if len(lines) - 1 > MAX_HEADERS:
        raise HeadError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                        "too many headers")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HeadError(HTTPStatus.BAD_REQUEST, f"bad header {line!r}")
        headers.setdefault(name.lower(), value.strip())
    if "transfer-encoding" in headers:
        raise HeadError(HTTPStatus.LENGTH_REQUIRED,
                        "only bodies with a Content-Length are served")
    return Request(method, target, version, headers,
                   _content_length(headers.get("content-length")))


def _content_length(value: str | None) -> int | None:
    if value is None:
        return None
    # ASCII digits only (the head is ASCII), and few of them: int() of
    # thousands of digits raises.
    if not value.isdigit() or len(value) > MAX_DIGITS:
        raise HeadError(HTTPStatus.BAD_REQUEST,
                        f"bad Content-Length {value[:40]!r}")
    return int(value)


def encode_head(status: int, headers: dict[str, str]) -> bytes:
    reason = HTTPStatus(status).phrase
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


class Exchange:
    """One request and its reply, as the handler sees them."""

    def __init__(self, request: Request, peer: Peer, body: bytes,
                 reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.request = request
        self.peer = peer
        self._buffered = body
        self._reader = reader
        self._writer = writer
        self.remaining = request.content_length or 0
        # A reply streams: let the socket take larger steps (bounded).
        writer.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self.head_sent = False
        self._continue_sent = False

    async def read(self, size: int = READ_SIZE) -> bytes:
        """Up to size bytes of the body; b"" once it is all read.

        Raises ConnectionError if the client closes before its end.
        """
        if self.remaining <= 0:
            return b""
        if not self._buffered:
            await self._send_continue()
            self._buffered = await asyncio.wait_for(
                self._reader.read(min(size, self.remaining)), IO_TIMEOUT)
            if not self._buffered:
                raise ConnectionError(
                    f"client closed with {self.remaining} bytes unsent")
        data = self._buffered[:min(size, self.remaining)]
        self._buffered = self._buffered[len(data):]
        self.remaining -= len(data)
        return data

    async def _send_continue(self) -> None:
        expect = self.request.header("expect") or ""
        if self._continue_sent or self.head_sent or \
                expect.lower() != "100-continue":
            return
        self._continue_sent = True
        self._writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await self._drain()

    async def send_head(self, status: int, headers: dict[str, str]) -> None:
        if self.head_sent:
            raise RuntimeError("reply head already sent")
        self.head_sent = True
        self._writer.write(encode_head(status, headers))
        await self._drain()

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._drain()

    async def _drain(self) -> None:
        await asyncio.wait_for(self._writer.drain(), IO_TIMEOUT)

    async def linger(self) -> None:
        """Discard a body the reply made useless, within bounds."""
        if self.remaining <= 0 or not self._continue_sent and \
                (self.request.header("expect") or "").lower() == \
                "100-continue":
            return
        budget = min(self.remaining, LINGER_BYTES) - len(self._buffered)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER_SECONDS
        while budget > 0:
            left = deadline - loop.time()
            if left <= 0:
                return
            try:
                data = await asyncio.wait_for(
                    self._reader.read(min(READ_SIZE, budget)), left)
            except asyncio.TimeoutError:
                return
            if not data:
                return
            budget -= len(data)


class Handler(Protocol):
    async def handle(self, exchange: Exchange) -> None:
        """Serve the request; send the reply head before any body.

        Runs on the event loop: blocking work goes to threads.
        """


class HttpConnection:
    def __init__(self, name: str, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, handler: Handler,
                 timeout: float) -> None:
        self.name = name
        self._reader = reader
        self._writer = writer
        self._handler = handler
        self._timeout = timeout
        self._peer = Peer(writer.get_extra_info("peername"),
                          writer.get_extra_info("sockname"))

    async def run(self, initial: bytes) -> None:
        try:
            exchange = await self._read_request(initial)
            if exchange is not None:
                await self._serve(exchange)
        except (ConnectionError, OSError, ssl.SSLError,
                asyncio.TimeoutError) as e:
            log.info("DROP connection=%s reason=%r", self.name, str(e))
            transport = self._writer.transport
            # A lost SSL transport fails abort() (Python 3.11).
            if not transport.is_closing():
                transport.abort()
            return
        await self._close()

    async def _read_request(self, data: bytes) -> Exchange | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        while (end := head_end(data)) < 0:
            if len(data) > MAX_HEAD:
                await self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                                   "request head too large")
                return None
            chunk = await asyncio.wait_for(self._reader.read(READ_SIZE),
                                           max(deadline - loop.time(), 0))
            if not chunk:
                raise ConnectionError("closed before the request head")
            data += chunk
        try:
            request = parse_head(data[:end])
        except HeadError as e:
            await self._refuse(e.status, str(e))
            return None
        log.info("HTTP connection=%s method=%s target=%s length=%s",
                 self.name, request.method, request.target,
                 request.content_length)
        return Exchange(request, self._peer, data[end:], self._reader,
                        self._writer)

    async def _serve(self, exchange: Exchange) -> None:
        try:
            await self._handler.handle(exchange)
        except (ConnectionError, OSError, ssl.SSLError,
                asyncio.TimeoutError):
            raise
        except Exception:
            log.exception("FAIL connection=%s http handler", self.name)
            if exchange.head_sent:
                raise ConnectionError("handler failed mid-reply")
            await exchange.send_head(HTTPStatus.INTERNAL_SERVER_ERROR,
                                     {"Content-Length": "0"})
        if not exchange.head_sent:
            log.error("FAIL connection=%s handler sent no reply", self.name)
            await exchange.send_head(HTTPStatus.INTERNAL_SERVER_ERROR,
                                     {"Content-Length": "0"})
        await exchange.linger()

    async def _refuse(self, status: HTTPStatus, text: str) -> None:
        log.info("REFUSE connection=%s status=%d reason=%r", self.name,
                 status, text)
        body = (text + "\n").encode()
        self._writer.write(encode_head(status, {
            "Content-Type": "text/plain", "Content-Length": str(len(body))})
            + body)
        await asyncio.wait_for(self._writer.drain(), IO_TIMEOUT)

    async def _close(self) -> None:
        transport = self._writer.transport
        try:
            if not transport.is_closing():
                # Once only: a second close() of an SSL transport unlinks
                # its protocol (Python 3.11).
                self._writer.close()
            await asyncio.wait_for(self._writer.wait_closed(), 5)
        except asyncio.TimeoutError:
            transport.abort()
        except (ConnectionError, OSError, ssl.SSLError):
            pass  # Lost already: nothing is left to close.
        log.info("CLOSE connection=%s", self.name)
