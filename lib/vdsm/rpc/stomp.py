"""STOMP 1.2 frames, sans-IO.

Theory of operation: ``Parser.feed(data)`` takes whatever bytes arrived and
returns the frames completed so far; bytes of an incomplete frame stay
buffered. ``encode(frame)`` turns a Frame into bytes. Neither touches a
socket, so both are tested and fuzzed with plain byte strings.

Wire rules (doc/protocol.md, STOMP 1.2):

* ``COMMAND\\n`` ``name:value\\n``... ``\\n`` body ``\\0``; ``\\r\\n``
  line ends are accepted.
* Bare end-of-lines between frames are heart-beats (counted, not frames).
* Header values are escaped (``\\\\ \\r \\n \\c``), except in CONNECT and
  CONNECTED frames. A repeated header: the first wins.
* The body runs to ``content-length`` when given (the next byte must then be
  NUL), else to the first NUL.
* A frame larger than ``max_size`` is an error: the connection must close.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CLIENT_COMMANDS = frozenset({
    "CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK",
    "BEGIN", "COMMIT", "ABORT", "DISCONNECT"})
SERVER_COMMANDS = frozenset({"CONNECTED", "MESSAGE", "RECEIPT", "ERROR"})
COMMANDS = CLIENT_COMMANDS | SERVER_COMMANDS

# Longest command name: the most bytes protocol detection needs.
MAX_COMMAND = max(len(c) for c in COMMANDS)

_UNESCAPED = frozenset({"CONNECT", "CONNECTED"})
_ESCAPES = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", ":": "\\c"}
_UNESCAPES = {"\\\\": "\\", "\\r": "\r", "\\n": "\n", "\\c": ":"}
_ESCAPE_RE = re.compile(r"\\.?", re.DOTALL)
_HEADERS_END = re.compile(rb"\r?\n\r?\n")
# The longest match of _HEADERS_END: a search resumes this far back.
_HEADERS_END_MAX = 4
# Decimal digits, ASCII only: str.isdigit() and int() take other scripts.
_NUMBER = re.compile(r"[0-9]{1,10}")

DEFAULT_MAX_SIZE = 4 * 1024 * 1024
# A day: longer heart-beat intervals are taken as this.
MAX_HEARTBEAT_MS = 24 * 3600 * 1000


class FrameError(Exception):
    """The peer broke the protocol: reply ERROR, then close the connection."""


class FrameTooLarge(FrameError):
    pass


@dataclass
class Frame:
    command: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


_WITH_LENGTH = frozenset({"SEND", "MESSAGE", "ERROR"})


def encode(frame: Frame) -> bytes:
    headers = frame.headers
    if frame.body or frame.command in _WITH_LENGTH:
        headers = dict(headers)
        headers["content-length"] = str(len(frame.body))
    text = "".join([f"{name}:{value}\n"
                    for name, value in headers.items()])
    # One ":" and one "\n" per header and no "\\" or "\r": nothing to
    # escape, the usual case.
    n = len(headers)
    if frame.command not in _UNESCAPED and (
            text.count(":") != n or text.count("\n") != n
            or "\\" in text or "\r" in text):
        text = "".join([f"{_escape(name)}:{_escape(str(value))}\n"
                        for name, value in headers.items()])
    return b"".join([f"{frame.command}\n{text}\n".encode("utf-8"),
                     frame.body, b"\0"])


HEARTBEAT = b"\n"


def message_head(destination: str, sub_id: str) -> bytes:
    """The start of a MESSAGE frame to one subscription: with
    ``message_tail()``, the frame ``encode()`` makes of the same
    headers."""
    return (f"MESSAGE\ndestination:{_escape(destination)}\n"
            f"content-type:application/json\n"
            f"subscription:{_escape(sub_id)}\n").encode("utf-8")


def message_tail(message_id: str, body: bytes) -> bytes:
    """The rest of a MESSAGE frame, the same for every subscriber."""
    return (f"message-id:{_escape(message_id)}\n"
            f"content-length:{len(body)}\n\n").encode("utf-8") \
        + body + b"\0"


_ESCAPE_TABLE = str.maketrans(_ESCAPES)


def _escape(text: str) -> str:
    return text.translate(_ESCAPE_TABLE)


def _unescape(text: str) -> str:
    def replace(match: re.Match) -> str:
        try:
            return _UNESCAPES[match.group(0)]
        except KeyError:
            raise FrameError(f"undefined escape {match.group(0)!r}")
    return _ESCAPE_RE.sub(replace, text)


def detect(prefix: bytes) -> bool | None:
    """Does a connection starting with ``prefix`` speak STOMP?

    None: not enough bytes to tell yet.
    """
    data = prefix.lstrip(b"\r\n")
    if not data:
        return None
    for command in COMMANDS:
        name = command.encode()
        if data.startswith(name):
            rest = data[len(name):]
            if not rest:
                return None
            return rest[:1] in (b"\n", b"\r")
        if name.startswith(data):
            return None
    return False


class Parser:
    def __init__(self, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.max_size = max_size
        self.heartbeats = 0
        self._buf = bytearray()
        # Parsed head of the frame whose body is still coming.
        self._pending: tuple[Frame, int | None, int] | None = None
        # Where the search for the end of headers, or for the NUL ending
        # a body without content-length, resumes: each byte is looked at
        # once however the frame is split into reads.
        self._scan = 0

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def _next(self) -> Frame | None:
        if self._pending is None:
            self._skip_heartbeats()
            if not self._buf or not self._parse_head():
                return None
        return self._parse_body()

    def _skip_heartbeats(self) -> None:
        if self._buf[:1] not in (b"\n", b"\r"):
            return  # The usual case: a frame starts right here.
        i = 0
        while i < len(self._buf) and self._buf[i] in b"\r\n":
            if self._buf[i] == 0x0A:
                self.heartbeats += 1
            i += 1
        del self._buf[:i]
        self._scan = max(0, self._scan - i)

    def _parse_head(self) -> bool:
        match = _HEADERS_END.search(self._buf, self._scan)
        if match is None:
            if len(self._buf) > self.max_size:
                raise FrameTooLarge(f"headers over {self.max_size} bytes")
            self._scan = max(0, len(self._buf) - _HEADERS_END_MAX + 1)
            return False
        self._scan = 0
        head = bytes(self._buf[:match.start()])
        body_start = match.end()
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError("headers are not UTF-8")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        lines = text.split("\n")
        command = lines[0]
        if command not in COMMANDS:
            raise FrameError(f"unknown command {command[:32]!r}")
        # No backslash, nothing to unescape: the usual case.
        headers = _parse_headers(lines[1:], command not in _UNESCAPED
                                 and "\\" in text)
        length = _content_length(headers)
        if length is not None and body_start + length + 1 > self.max_size:
            raise FrameTooLarge(f"frame of {length} bytes over "
                                f"{self.max_size}")
        self._pending = (Frame(command, headers), length, body_start)
        return True

    def _parse_body(self) -> Frame | None:
        assert self._pending is not None
        frame, length, start = self._pending
        if length is None:
            end = self._buf.find(b"\0", max(start, self._scan))
            if end == -1:
                if len(self._buf) > self.max_size:
                    raise FrameTooLarge(f"frame over {self.max_size} bytes")
                self._scan = len(self._buf)
                return None
        else:
            end = start + length
            if len(self._buf) <= end:
                return None
            if self._buf[end] != 0:
                raise FrameError("content-length does not match the body "
                                 "(no NUL after it)")
        frame.body = bytes(self._buf[start:end])
        del self._buf[:end + 1]
        self._pending = None
        self._scan = 0
        return frame


def _parse_headers(lines: list[str], escaped: bool) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise FrameError(f"header without colon: {line[:64]!r}")
        if escaped:
            name, value = _unescape(name), _unescape(value)
        headers.setdefault(name, value)
    return headers


def _content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    if not _NUMBER.fullmatch(value):
        raise FrameError(f"invalid content-length {value[:32]!r}")
    return int(value)


def parse_heartbeat(value: str | None) -> tuple[int, int]:
    """``heart-beat:cx,cy`` -> (cx, cy) in ms; (0, 0) when absent.

    Each value is at most 10 ASCII digits, and is clamped to
    MAX_HEARTBEAT_MS.
    """
    if not value:
        return 0, 0
    parts = value.split(",")
    if len(parts) != 2 or not all(_NUMBER.fullmatch(p) for p in parts):
        raise FrameError(f"invalid heart-beat {value[:32]!r}")
    cx, cy = (min(int(p), MAX_HEARTBEAT_MS) for p in parts)
    return cx, cy
