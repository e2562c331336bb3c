"""supervdsm wire format (sans-IO): length-prefixed JSON messages.

Each message is a 4-byte big-endian unsigned length followed by that many
bytes of UTF-8 JSON, always an object:

    request   {"id": 7, "method": "mount.umount", "args": ["/rhev/.."],
               "kwargs": {"lazy": true}}
    response  {"id": 7, "result": <JSON value>}
    error     {"id": 7, "error": {"class": "MountFailed", "code": 477,
                                  "message": "...", "reason": "..."}}

(``reason`` only for VdsmErrors: the part after the class's message.)

A refused peer gets one error with ``"id": null`` and the connection is
closed. Messages larger than ``MAX_MESSAGE`` are a protocol error. Plain
JSON, never pickle: the peer can only send data, not code.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from vdsm.supervdsm.errors import ProtocolError

MAX_MESSAGE = 4 * 1024 * 1024
_HEADER = struct.Struct("!I")


def encode(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"message too large: {len(data)} bytes")
    return _HEADER.pack(len(data)) + data


class Decoder:
    """Feed bytes, get complete messages."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buf += data
        out = []
        while len(self._buf) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buf)
            if size > MAX_MESSAGE:
                raise ProtocolError(f"message too large: {size} bytes")
            end = _HEADER.size + size
            if len(self._buf) < end:
                break
            out.append(decode(bytes(self._buf[_HEADER.size:end])))
            del self._buf[:end]
        return out

    @property
    def pending(self) -> int:
        return len(self._buf)


def transmitted(message: dict[str, Any]) -> dict[str, Any]:
    """``message`` as the peer decodes it (tuples become lists, a
    non-JSON value or a too large message raises), for the in-process
    path that has no peer."""
    return decode(encode(message)[_HEADER.size:])


def decode(data: bytes) -> dict[str, Any]:
    try:
        message = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"invalid JSON: {e}") from None
    except RecursionError:
        # [[[[...]]]] nested past the interpreter's recursion limit.
        raise ProtocolError("invalid JSON: nested too deep") from None
    if not isinstance(message, dict):
        raise ProtocolError("message is not a JSON object")
    return message


def request(call_id: int, method: str, args: list[Any],
            kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "method": method, "args": args, "kwargs": kwargs}


def parse_request(message: dict[str, Any]
                  ) -> tuple[Any, str, list[Any], dict[str, Any]]:
    """Return (id, method, args, kwargs) or raise ProtocolError."""
    call_id = message.get("id")
    method = message.get("method")
    args = message.get("args", [])
    kwargs = message.get("kwargs", {})
    if not isinstance(call_id, int) or isinstance(call_id, bool):
        raise ProtocolError("request id must be an integer")
    if not isinstance(method, str):
        raise ProtocolError("request method must be a string")
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ProtocolError("args must be a list and kwargs an object")
    return call_id, method, args, kwargs


def result(call_id: Any, value: Any) -> dict[str, Any]:
    return {"id": call_id, "result": value}


def error(call_id: Any, exc: BaseException) -> dict[str, Any]:
    code = getattr(exc, "code", None)
    if not isinstance(code, int):
        code = None
    info = {"class": type(exc).__name__, "code": code, "message": str(exc)}
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):
        info["reason"] = reason
    return {"id": call_id, "error": info}
