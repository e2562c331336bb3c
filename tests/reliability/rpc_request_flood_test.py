"""Issue 15 item 5: clients sending requests as fast as they can, never
reading, cannot starve another client.

Each flooder gets at most [vars] max_requests_per_connection requests
running, is no longer read from past that (TCP pushes back: its sends
stall), and a quarter of the executor stays for connections with nothing
running. A well-behaved client keeps getting answers, none refused with
code 40 (answers counted, no timing asserts).
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from fixtures.stomp_peer import REQUESTS, RawStomp, client_address
from vdsm.rpc import stomp

FLOODERS = 8
GOOD_CALLS = 30


def request_frames(count, start=0):
    frames = []
    for i in range(start, start + count):
        body = json.dumps({"jsonrpc": "2.0", "method": "Host.echo",
                           "params": {"message": "x" * 64},
                           "id": i}).encode()
        frames.append(stomp.encode(stomp.Frame(
            "SEND", {"destination": REQUESTS, "reply-to": "r"}, body)))
    return b"".join(frames)


def flood(peer, sent, stop):
    """Send requests until the server stops reading (sends time out)."""
    peer.sock.settimeout(2)
    batch = request_frames(500)
    while not stop.is_set():
        try:
            peer.sock.sendall(batch)
        except (socket.timeout, TimeoutError):
            sent.append("stalled")
            return
        except OSError:
            sent.append("closed")
            return
        sent.append(500)


def wait_until(condition, timeout=60):
    """A bounded wait for a condition (not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def good_calls(daemon, count):
    answers = errors = 0
    with daemon.client() as good:
        for i in range(count):
            try:
                if good.Host.echo(message=f"good-{i}") == f"good-{i}":
                    answers += 1
            except Exception as e:  # noqa: BLE001 - counted and shown
                errors += 1
                print(f"good client error: {e!r}")
    return answers, errors


@pytest.mark.stress
def test_request_flood_leaves_room_for_others(vdsmd_factory):
    daemon = vdsmd_factory({"vars": {
        "max_requests_per_connection": "16",
        "max_write_buffer": str(256 * 1024),
        "connection_max_idle": "4"}})
    flooders = []
    results = [[] for _ in range(FLOODERS)]
    stop = threading.Event()
    threads = []
    try:
        for i in range(FLOODERS):
            peer = RawStomp(daemon, source=client_address(i), rcvbuf=4096)
            peer.connect()
            peer.send("SUBSCRIBE", {"destination": "r", "id": "1"})
            flooders.append(peer)
            t = threading.Thread(target=flood,
                                 args=(peer, results[i], stop))
            t.start()
            threads.append(t)
        during = good_calls(daemon, GOOD_CALLS)
        all_stalled = wait_until(
            lambda: all(r and not isinstance(r[-1], int) for r in results))
        stalled = good_calls(daemon, GOOD_CALLS)
        dropped = wait_until(lambda: sum(
            "reason=client not reading" in line
            for line in daemon.log().splitlines()) >= FLOODERS)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        for peer in flooders:
            peer.close()
    sent = [sum(x for x in r if isinstance(x, int)) for r in results]
    log = daemon.log()
    calls = sum(1 for line in log.splitlines()
                if "CALL method=Host.echo" in line)
    refused = sum(1 for line in log.splitlines() if "code=40" in line)
    print(f"\nrequest flood: {FLOODERS} flooders sent {sum(sent)} requests "
          f"(at most {max(sent)} each) before the server stopped reading, "
          f"{calls} calls ran, {refused} refused with code 40; good client "
          f"answers {during[0]}/{GOOD_CALLS} during the flood, "
          f"{stalled[0]}/{GOOD_CALLS} with every flooder stalled")
    assert during == (GOOD_CALLS, 0)
    assert stalled == (GOOD_CALLS, 0)
    assert refused == 0
    # Every flooder was stopped by back-pressure, then dropped.
    assert all_stalled, results
    assert dropped, [line for line in log.splitlines() if "DROP" in line]
    with daemon.client() as c:
        assert c.Host.ping2() is True
