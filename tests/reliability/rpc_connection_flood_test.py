"""Issue 15 item 1: connection floods cost bounded memory and descriptors.

Idle TCP connects that never start TLS, from one client address and from
many, and authenticated connections past [vars] max_connections: vdsmd
admits up to its limits and closes the rest at accept, before any TLS
work; its RSS and open descriptors grow by at most the admitted
connections' share (asserted as limits on counts and sizes, no timing),
and a client within the limits keeps getting answers. The figures (RSS
per connection, answers during the flood) are printed.
"""

from __future__ import annotations

import socket
import ssl
import time

import pytest

from fixtures.stomp_peer import (RawStomp, client_address, open_fds,
                                 rss_kib, tcp_connect)

FLOOD = 300
# What one admitted connection may cost, TLS state and buffers included
# (asyncio's default TLS read buffer alone is 256 KiB).
MAX_KIB_PER_CONNECTION = 150
# Allocator and logging noise a flood may add besides.
SLACK_KIB = 8 * 1024
SLACK_FDS = 8


def settle(daemon, seconds=0.5):
    """Let the loop accept (or refuse) what is queued; then the figures."""
    time.sleep(seconds)
    return rss_kib(daemon.proc.pid), open_fds(daemon.proc.pid)


def ping_count(peer, n=5):
    answers = 0
    for i in range(n):
        peer.request("Host.ping2", {}, f"good-{i}")
        if peer.response(timeout=30).get("result") is True:
            answers += 1
    return answers


def refusals(daemon, reason):
    return [line for line in daemon.log().splitlines()
            if "REFUSE " in line and reason in line]


def open_idle(daemon, count, source_of):
    socks = []
    for i in range(count):
        try:
            socks.append(tcp_connect(daemon, 5, source_of(i)))
        except OSError:
            pass  # Refused at the backlog: costs the daemon nothing.
    return socks


def closed_by_server(sock):
    sock.settimeout(0.01)
    try:
        return sock.recv(1) == b""
    except (socket.timeout, TimeoutError, BlockingIOError):
        return False
    except OSError:
        return True


def idle_flood(daemon, source_of, clients):
    """FLOOD idle connects, source_of(i) the address of the i-th, while a
    good client stays subscribed: (held by the daemon, descriptors added,
    RSS added in KiB, the good client's answers of 5)."""
    with RawStomp(daemon, source="127.0.0.2") as good:
        good.connect()
        good.send("SUBSCRIBE", {"destination": "r", "id": "1"})
        rss0, fds0 = settle(daemon)
        socks = open_idle(daemon, FLOOD, source_of)
        try:
            rss1, fds1 = settle(daemon, 1.0)
            answers = ping_count(good)
            held = sum(not closed_by_server(s) for s in socks)
        finally:
            for s in socks:
                s.close()
    print(f"\npre-auth flood, {clients}: {len(socks)} connects, "
          f"{held} held, fds +{fds1 - fds0}, RSS +{rss1 - rss0} KiB, "
          f"good client answers {answers}/5")
    return held, fds1 - fds0, rss1 - rss0, answers


@pytest.mark.stress
def test_idle_connects_from_one_client(vdsmd_factory):
    limit = 20
    daemon = vdsmd_factory({"vars": {
        "max_connections_per_client": str(limit),
        "ssl_handshake_timeout": "10"}})
    held, fds, rss, answers = idle_flood(daemon, lambda i: "127.0.0.1",
                                         "one client")
    assert held <= limit
    assert fds <= limit + SLACK_FDS
    assert rss <= limit * MAX_KIB_PER_CONNECTION + SLACK_KIB
    assert answers == 5
    lines = refusals(daemon, "too many connections from this client")
    assert 1 <= len(lines) <= 20, len(lines)  # Rate-limited.


@pytest.mark.stress
def test_idle_connects_from_many_clients(vdsmd_factory):
    handshakes = 16
    daemon = vdsmd_factory({"vars": {"max_tls_handshakes": str(handshakes),
                                     "ssl_handshake_timeout": "10"}})
    held, fds, rss, answers = idle_flood(daemon, client_address,
                                         f"{FLOOD} clients")
    assert held <= handshakes
    assert fds <= handshakes + SLACK_FDS
    assert rss <= handshakes * MAX_KIB_PER_CONNECTION + SLACK_KIB
    assert answers == 5
    assert refusals(daemon, "too many TLS handshakes in progress")


@pytest.mark.stress
def test_authenticated_flood(vdsmd_factory):
    limit = 100
    daemon = vdsmd_factory({"vars": {"max_connections": str(limit)}})
    with RawStomp(daemon, source="127.0.0.2") as good:
        good.connect()
        good.send("SUBSCRIBE", {"destination": "r", "id": "1"})
        rss0, fds0 = settle(daemon)
        peers = []
        live = refused = 0
        try:
            for i in range(limit + 50):
                try:
                    peer = RawStomp(daemon, source=client_address(i),
                                    timeout=10)
                    peers.append(peer)
                    peer.connect()
                    live += 1
                except (ConnectionError, ssl.SSLError, EOFError, OSError):
                    refused += 1
            rss1, fds1 = settle(daemon)
            answers = ping_count(good)
        finally:
            for peer in peers:
                peer.close()
        rss2, fds2 = settle(daemon, 1.0)
        answers_after = ping_count(good)
    per_conn = (rss1 - rss0) / max(1, live)
    print(f"\nauthenticated flood: {live} connected, {refused} refused, "
          f"RSS +{rss1 - rss0} KiB ({per_conn:.0f} KiB per connection), "
          f"fds +{fds1 - fds0}; after close fds +{fds2 - fds0}, "
          f"RSS +{rss2 - rss0} KiB; good client answers {answers}/5, "
          f"{answers_after}/5 after")
    # The good client holds one of the limit's connections.
    assert live <= limit - 1
    assert refused >= 50
    assert fds1 - fds0 <= limit + SLACK_FDS
    assert rss1 - rss0 <= limit * MAX_KIB_PER_CONNECTION + SLACK_KIB
    assert fds2 - fds0 <= SLACK_FDS
    assert answers == answers_after == 5
    assert refusals(daemon, "too many connections")
    # Room again once the flood is gone.
    with daemon.client() as c:
        assert c.Host.ping2() is True
