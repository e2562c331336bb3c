"""Issue 15 item 9: a connection that sent nothing complete for [vars]
connection_max_idle seconds is closed; one sending heart-beats or frames
stays."""

from __future__ import annotations

import time

import pytest

from fixtures.stomp_peer import RawStomp

IDLE = 2


@pytest.fixture
def daemon(vdsmd_factory):
    return vdsmd_factory({"vars": {"connection_max_idle": str(IDLE)}})


def idle_drops(daemon):
    return [line for line in daemon.log().splitlines()
            if "reason=idle" in line]


def test_connect_line_alone_closed(daemon):
    with RawStomp(daemon) as peer:
        peer.sock.sendall(b"CONNECT\n")
        assert peer.closed_within(IDLE * 4)
    assert len(idle_drops(daemon)) == 1


def test_connected_without_heartbeats_closed(daemon):
    with RawStomp(daemon) as peer:
        peer.connect(heartbeat="0,0")
        assert peer.closed_within(IDLE * 4)
    assert len(idle_drops(daemon)) == 1


def test_trickle_of_incomplete_frame_closed(daemon):
    """Bytes keep coming, a frame never completes."""
    with RawStomp(daemon) as peer:
        peer.connect()
        peer.sock.sendall(b"SEND\ndestination:x\n")
        closed = False
        deadline = time.monotonic() + IDLE * 4
        while time.monotonic() < deadline:
            try:
                peer.sock.sendall(b"a")
            except OSError:
                closed = True
                break
            if peer.closed_within(0.3):
                closed = True
                break
        assert closed
    assert len(idle_drops(daemon)) == 1


def test_heartbeating_and_calling_clients_stay(daemon):
    with RawStomp(daemon) as beating, RawStomp(daemon) as calling:
        beating.connect(heartbeat="0,0")
        calling.connect(heartbeat="0,0")
        calling.send("SUBSCRIBE", {"destination": "r", "id": "1"})
        for i in range(int(IDLE * 2.5 / 0.5)):
            beating.sock.sendall(b"\n")
            if i % 2 == 0:
                calling.request("Host.ping2", {}, i)
                assert calling.response()["result"] is True
            time.sleep(0.5)
        assert not beating.closed_within(0.1)
        calling.request("Host.ping2", {}, "last")
        assert calling.response()["result"] is True
    assert idle_drops(daemon) == []
