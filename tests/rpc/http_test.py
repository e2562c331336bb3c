"""The HTTP side of port 54321 without a socket: detection, heads."""

from __future__ import annotations

import pytest

from vdsm.rpc import http
from vdsm.rpc.protocol import Protocol, detect


@pytest.mark.parametrize("prefix,expected", [
    (b"", None),
    (b"P", None),
    (b"PUT", None),
    (b"PUT /", Protocol.HTTP),
    (b"GET / HTTP/1.1\r\n", Protocol.HTTP),
    (b"CONNECT\n", Protocol.STOMP),
    (b"SEND\n", Protocol.STOMP),
    (b"CONN", None),
    (b"POST / HTTP/1.1", Protocol.UNKNOWN),
    (b"PUT x", Protocol.UNKNOWN),
    (b"\x16\x03\x01", Protocol.UNKNOWN),
])
def test_detect(prefix, expected):
    assert detect(prefix) is expected


def test_parse_engine_put():
    head = (b"PUT / HTTP/1.1\r\nconnection: close\r\n"
            b"Storage-Pool-Id: a\r\nStorage-Domain-Id: b\r\n"
            b"Image-Id: c\r\nVolume-Id: d\r\n"
            b"Content-Type: application/octet-stream\r\n"
            b"Content-Length: 10240\r\nHost: h:54321\r\n\r\n")
    assert http.head_end(head + b"body") == len(head)
    req = http.parse_head(head)
    assert (req.method, req.target, req.content_length) == ("PUT", "/",
                                                             10240)
    assert req.header("storage-pool-id") == "a"
    assert req.header("Volume-Id") == "d"


def test_parse_first_header_wins_and_bare_lf():
    req = http.parse_head(b"GET / HTTP/1.1\nRange: bytes=0-1\n"
                          b"Range: bytes=0-9\n\n")
    assert req.header("Range") == "bytes=0-1"
    assert req.content_length is None


@pytest.mark.parametrize("head,status", [
    (b"GET /\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\n\r\n", 405),
    (b"PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    (b"PUT / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", 400),
    (b"PUT / HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
     400),
    (b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
    (b"PUT / HTTP/1.1\r\nno colon\r\n\r\n", 400),
    (b"PUT / HTTP/1.1\r\n bad: name\r\n\r\n", 400),
    (b"PUT / HTTP/1.1\r\nX: \xff\r\n\r\n", 400),
    (b"PUT / HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", 431),
])
def test_parse_refused(head, status):
    with pytest.raises(http.HeadError) as e:
        http.parse_head(head)
    assert e.value.status == status


def test_encode_head_closes():
    head = http.encode_head(206, {"Task-Id": "t", "Content-Length": "3"})
    assert head == (b"HTTP/1.1 206 Partial Content\r\nTask-Id: t\r\n"
                    b"Content-Length: 3\r\nConnection: close\r\n\r\n")
