"""Issue 15 item 11, the RPC parts: the STOMP header search is linear, TLS
1.2 offers forward secrecy only."""

from __future__ import annotations

import socket
import ssl

import pytest

from fixtures.stomp_peer import client_context
from vdsm.rpc import server, stomp


class CountingSearch:
    """Wraps the parser's end-of-headers pattern, counting bytes searched."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.searched = 0

    def search(self, buf, pos=0):
        self.searched += len(buf) - pos
        return self.pattern.search(buf, pos)


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
def test_header_search_looks_at_each_byte_once(monkeypatch, line_end):
    counter = CountingSearch(stomp._HEADERS_END)
    monkeypatch.setattr(stomp, "_HEADERS_END", counter)
    parser = stomp.Parser(max_size=8 * 1024 * 1024)
    head = b"SEND" + line_end + b"x:" + b"a" * (2 * 1024 * 1024) + line_end
    data = head + line_end + b"body\0"
    frames = []
    for i in range(0, len(data), 1000):
        frames += parser.feed(data[i:i + 1000])
    assert [f.body for f in frames] == [b"body"]
    # Rescanning the buffer on each read would be ~1000 times this.
    assert counter.searched < 2 * len(data), counter.searched


def test_header_end_split_across_reads():
    parser = stomp.Parser()
    data = b"SEND\r\nx:1\r\n\r\nbody\0"
    cut = data.index(b"\r\n\r\n") + 1
    frames = []
    for part in (data[:cut], data[cut:cut + 1], data[cut + 1:cut + 2],
                 data[cut + 2:]):
        frames += parser.feed(part)
    assert [(f.headers, f.body) for f in frames] == [({"x": "1"}, b"body")]


def test_body_without_length_split_across_reads():
    parser = stomp.Parser()
    data = b"SEND\n\n" + b"z" * 10_000 + b"\0"
    frames = []
    for i in range(0, len(data), 7):
        frames += parser.feed(data[i:i + 7])
    assert [len(f.body) for f in frames] == [10_000]


def test_server_offers_forward_secrecy_only(host_pki):
    ctx = server.server_ssl_context(host_pki)
    tls12 = [c for c in ctx.get_ciphers() if c["protocol"] != "TLSv1.3"]
    assert tls12
    assert {c["kea"] for c in tls12} <= {"kx-ecdhe", "kx-dhe"}, tls12


def tls12_client(daemon, ciphers):
    ctx = client_context(daemon)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(ciphers)
    sock = socket.create_connection(("127.0.0.1", daemon.port), 10)
    try:
        return ctx.wrap_socket(sock)
    except BaseException:
        sock.close()
        raise


def test_static_rsa_tls12_client_refused(vdsmd):
    with pytest.raises((ssl.SSLError, ConnectionError)):
        tls12_client(vdsmd, "AES256-GCM-SHA384:AES128-GCM-SHA256:"
                     "AES256-SHA256:AES128-SHA")
    with tls12_client(vdsmd, "ECDHE-RSA-AES256-GCM-SHA384") as sock:
        assert sock.version() == "TLSv1.2"
        assert sock.cipher()[0] == "ECDHE-RSA-AES256-GCM-SHA384"
