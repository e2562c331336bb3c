"""JSON-RPC 2.0 messages, sans-IO.

``parse(body)`` turns a STOMP body into a ``Message``: the requests it
holds and, for entries that are not valid requests, their error responses.
``encode_responses()`` builds the reply body: a batch whose answer is one
response is answered with that bare object (doc/protocol.md), notifications
get nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from vdsm.common import exception


@dataclass
class Request:
    method: str
    params: Any
    id: Any
    notification: bool = False


@dataclass
class Message:
    requests: list[Request] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    batch: bool = False


def parse(body: bytes) -> Message:
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        reason = str(e) or type(e).__name__
        return Message(errors=[error(None, exception.ParseError(reason))])
    if isinstance(obj, list):
        if not obj:
            err = exception.InvalidRequest("empty batch")
            return Message(errors=[error(None, err)])
        msg = Message(batch=True)
        for item in obj:
            _add(msg, item)
        return msg
    msg = Message()
    _add(msg, obj)
    return msg


def _add(msg: Message, obj: Any) -> None:
    try:
        msg.requests.append(_request(obj))
    except exception.InvalidRequest as e:
        req_id = obj.get("id") if isinstance(obj, dict) else None
        if not isinstance(req_id, (str, int, type(None))):
            req_id = None
        msg.errors.append(error(req_id, e))


def _request(obj: Any) -> Request:
    if not isinstance(obj, dict):
        raise exception.InvalidRequest("request must be an object")
    if obj.get("jsonrpc") != "2.0":
        raise exception.InvalidRequest("jsonrpc must be \"2.0\"")
    method = obj.get("method")
    if not isinstance(method, str) or not method:
        raise exception.InvalidRequest("method must be a string")
    params = obj.get("params", {})
    if not isinstance(params, (dict, list)):
        raise exception.InvalidRequest("params must be an object or array")
    if "id" not in obj:
        return Request(method, params, None, notification=True)
    req_id = obj["id"]
    if not isinstance(req_id, (str, int, type(None))) or \
            isinstance(req_id, bool):
        raise exception.InvalidRequest("id must be a string or number")
    return Request(method, params, req_id)


def response(req_id: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": req_id,
            "result": True if result is None else result}


def error(req_id: Any, err: exception.VdsmError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": req_id, "error": err.info()}


def notification(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def encode_responses(responses: list[dict[str, Any]],
                     batch: bool) -> bytes | None:
    if not responses:
        return None
    value: Any = responses if batch and len(responses) > 1 else responses[0]
    return encode(value)


# One encoder for every reply: json.dumps with separators builds one per
# call.
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def encode(value: Any) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")
