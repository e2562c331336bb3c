"""JSON-RPC 2.0 messages, sans-IO."""

from __future__ import annotations

import json

from vdsm.rpc import jsonrpc


def req(method="Host.ping2", id=1, **extra):
    return dict({"jsonrpc": "2.0", "method": method, "id": id}, **extra)


def test_single_request():
    msg = jsonrpc.parse(json.dumps(req(params={"a": 1})).encode())
    assert not msg.batch
    assert msg.errors == []
    assert msg.requests[0].method == "Host.ping2"
    assert msg.requests[0].params == {"a": 1}
    assert msg.requests[0].id == 1


def test_parse_error():
    msg = jsonrpc.parse(b"{not json")
    assert msg.requests == []
    assert msg.errors[0]["error"]["code"] == -32700
    assert msg.errors[0]["id"] is None


def test_not_utf8():
    msg = jsonrpc.parse(b"\xff\xfe")
    assert msg.errors[0]["error"]["code"] == -32700


def test_empty_batch():
    msg = jsonrpc.parse(b"[]")
    assert msg.errors[0]["error"]["code"] == -32600


def test_batch_with_invalid_entries():
    body = json.dumps([req(id=1), 5, {"jsonrpc": "1.0", "id": 3,
                                      "method": "x"},
                       req(id=4, params="bad")]).encode()
    msg = jsonrpc.parse(body)
    assert msg.batch
    assert [r.id for r in msg.requests] == [1]
    assert [(e["id"], e["error"]["code"]) for e in msg.errors] == [
        (None, -32600), (3, -32600), (4, -32600)]


def test_notification():
    msg = jsonrpc.parse(json.dumps({"jsonrpc": "2.0",
                                    "method": "Host.ping2"}).encode())
    assert msg.requests[0].notification


def test_bad_id_type():
    msg = jsonrpc.parse(json.dumps(req(id={"a": 1})).encode())
    assert msg.errors[0]["error"]["code"] == -32600
    assert msg.errors[0]["id"] is None


def test_one_response_of_batch_is_bare():
    body = jsonrpc.encode_responses([jsonrpc.response(1, True)], batch=True)
    assert json.loads(body) == {"jsonrpc": "2.0", "id": 1, "result": True}


def test_many_responses_are_array():
    body = jsonrpc.encode_responses(
        [jsonrpc.response(1, 1), jsonrpc.response(2, None)], batch=True)
    assert json.loads(body) == [
        {"jsonrpc": "2.0", "id": 1, "result": 1},
        {"jsonrpc": "2.0", "id": 2, "result": True}]


def test_no_responses():
    assert jsonrpc.encode_responses([], batch=True) is None


def test_too_deeply_nested():
    msg = jsonrpc.parse(b"[" * 100_000 + b"]" * 100_000)
    assert msg.errors[0]["error"]["code"] == -32700
