"""Server.stop ends every connection, also one whose peer does not read.

A connection closed at stop first writes what is queued; a peer that
reads nothing would keep that socket open past the loop's end (an fd
leaked by the daemon, or by a test running the server in-process). Stop
aborts what is still open after rpc.server.STOP_GRACE, and returns once
every connection is gone.
"""

from __future__ import annotations

import json
import os
import socket

from fixtures.inprocess_rpc import InProcessServer
from fixtures.stomp_peer import REQUESTS, RawStomp
from vdsm.rpc import stomp


def sockets() -> set[str]:
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


def requests(count: int) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "method": "Host.echo",
                       "params": {"message": "x" * 1024},
                       "id": 1}).encode()
    return stomp.encode(stomp.Frame(
        "SEND", {"destination": REQUESTS, "reply-to": "r"}, body)) * count


def test_stop_aborts_connection_not_reading(host_pki):
    srv = InProcessServer(host_pki, {"vars": {"connection_max_idle": "0"}})
    before = sockets()  # The listener's and the loop's own.
    try:
        peer = RawStomp(srv, rcvbuf=4096)
    except BaseException:
        srv.close()
        raise
    try:
        peer.connect()
        peer.send("SUBSCRIBE", {"destination": "r", "id": "1"})
        mine = os.readlink(f"/proc/self/fd/{peer.sock.fileno()}")
        # Requests until the server stops reading: its replies fill the
        # peer's buffer and its own, then reading pauses.
        peer.sock.settimeout(2)
        stalled = False
        batch = requests(100)
        for _ in range(1000):
            try:
                peer.sock.sendall(batch)
            except (socket.timeout, TimeoutError):
                stalled = True
                break
        assert stalled
        # Once stop returns, the server's end of the connection is closed,
        # the loop still running (the peer's own end is still open).
        srv.run(srv.server.stop())
        assert sockets() - before == {mine}
    finally:
        srv.close()
        peer.close()
