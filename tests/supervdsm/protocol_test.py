"""The supervdsm wire format, without sockets."""

from __future__ import annotations

import struct

import pytest

from vdsm.supervdsm import protocol
from vdsm.supervdsm.errors import MountFailed, ProtocolError


def test_round_trip_byte_by_byte():
    msgs = [protocol.request(1, "mount.umount", ["/a"], {"lazy": True}),
            protocol.result(1, {"x": [1, 2]})]
    data = b"".join(protocol.encode(m) for m in msgs)
    dec = protocol.Decoder()
    out = []
    for i in range(len(data)):
        out.extend(dec.feed(data[i:i + 1]))
    assert out == msgs
    assert dec.pending == 0


def test_too_large_header():
    with pytest.raises(ProtocolError, match="too large"):
        protocol.Decoder().feed(struct.pack("!I", protocol.MAX_MESSAGE + 1))


def test_too_large_message():
    with pytest.raises(ProtocolError, match="too large"):
        protocol.encode({"x": "a" * protocol.MAX_MESSAGE})


@pytest.mark.parametrize("body", [b"[1]", b"nope", b"\xff", b'"s"'])
def test_not_an_object(body):
    with pytest.raises(ProtocolError):
        protocol.Decoder().feed(struct.pack("!I", len(body)) + body)


@pytest.mark.parametrize("message", [
    {"method": "a.b"},
    {"id": True, "method": "a.b"},
    {"id": 1},
    {"id": 1, "method": "a.b", "args": {}},
    {"id": 1, "method": "a.b", "kwargs": []},
])
def test_bad_request(message):
    with pytest.raises(ProtocolError):
        protocol.parse_request(message)


def test_error_carries_class_code_reason():
    err = protocol.error(3, MountFailed("no such device"))
    assert err == {"id": 3, "error": {
        "class": "MountFailed", "code": 477,
        "message": "Error during mount: no such device",
        "reason": "no such device"}}


def test_error_of_plain_exception():
    err = protocol.error(3, ValueError("bad"))
    assert err["error"] == {"class": "ValueError", "code": None,
                            "message": "bad"}
