"""Issue 15 item 4: subscription floods and slow event readers.

SUBSCRIBE floods that never read are closed at [vars] max_subscriptions
(one ERROR, one DROP each) with vdsmd's memory bounded; events fan out
with their frame encoded once; subscribers that do not read are dropped
at max_write_buffer while a reading subscriber gets every event and a
client's calls keep being answered (answers counted, no timing).
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from fixtures.inprocess_rpc import InProcessServer
from fixtures.stomp_peer import (RawStomp, client_address, open_fds,
                                 rss_kib)
from vdsm.rpc import stomp
from vdsm.rpc.broker import EVENTS, Broker

BLOB = "x" * 2000
SUBSCRIBE = stomp.encode(stomp.Frame("SUBSCRIBE", {
    "destination": EVENTS, "id": "{}"})).decode()


def subscribe_flood(peer, count):
    data = "".join(SUBSCRIBE.replace("{}", str(i)) for i in range(count))
    try:
        peer.sock.sendall(data.encode())
    except OSError:
        pass  # Closed by the server on the way: what we want.


def drops(log, reason):
    return [line for line in log.splitlines()
            if "DROP connection=" in line and reason in line]


@pytest.mark.stress
def test_subscribe_flood_closed_at_cap(vdsmd_factory):
    cap = 64
    daemon = vdsmd_factory({"vars": {"max_subscriptions": str(cap)}})
    with RawStomp(daemon, source="127.0.0.2") as good:
        good.connect()
        good.send("SUBSCRIBE", {"destination": "r", "id": "1"})
        rss0, fds0 = rss_kib(daemon.proc.pid), open_fds(daemon.proc.pid)
        flooders = []
        answers = 0
        try:
            for i in range(20):
                peer = RawStomp(daemon, source=client_address(i),
                                rcvbuf=4096)
                flooders.append(peer)
                peer.connect()
                subscribe_flood(peer, 10_000)
                good.request("Host.ping2", {}, f"ping-{i}")
                if good.response(timeout=30).get("result") is True:
                    answers += 1
            closed = sum(peer.closed_within(10) for peer in flooders)
            rss1 = rss_kib(daemon.proc.pid)
        finally:
            for peer in flooders:
                peer.close()
    log = daemon.log()
    print(f"\nsubscription flood: 20 x 10,000 SUBSCRIBE, {closed} closed, "
          f"RSS +{rss1 - rss0} KiB; good client answers {answers}/20")
    assert closed == 20
    assert len(drops(log, f"over {cap} subscriptions")) == 20
    assert answers == 20
    assert rss1 - rss0 < 20 * 1024
    # A client that reads nothing gets up to 10 s to take its ERROR frame
    # (drain, then close): the descriptors come back after that.
    deadline = time.monotonic() + 30
    while open_fds(daemon.proc.pid) > fds0 + 8:
        assert time.monotonic() < deadline, open_fds(daemon.proc.pid)
        time.sleep(0.2)


class Recorder:
    def __init__(self, sub_ids):
        self.got = []
        self.sub_ids = sub_ids

    def deliver(self, sub_id, tail):
        self.got.append((sub_id, tail))


def test_event_frame_encoded_once():
    broker = Broker()
    subscribers = [Recorder([f"s{i}"]) for i in range(50)]
    for sub in subscribers:
        broker.subscribe(sub, sub.sub_ids[0], EVENTS)
    assert broker.send(EVENTS, b'{"jsonrpc":"2.0"}') == 50
    tails = {id(tail) for sub in subscribers for _, tail in sub.got}
    assert len(tails) == 1  # One encoding, shared by all.
    head = stomp.message_head(EVENTS, "s7")
    frame = stomp.Parser().feed(head + subscribers[7].got[0][1])[0]
    assert frame.command == "MESSAGE"
    assert frame.headers["subscription"] == "s7"
    assert frame.headers["destination"] == EVENTS
    assert frame.body == b'{"jsonrpc":"2.0"}'


@pytest.fixture
def small_buffer_server(host_pki):
    srv = InProcessServer(host_pki, {"vars": {
        "max_write_buffer": str(256 * 1024)}})
    yield srv
    srv.close()


@pytest.mark.stress
def test_slow_event_readers_dropped_others_served(small_buffer_server,
                                                  caplog, monkeypatch):
    srv = small_buffer_server
    caplog.set_level(logging.INFO, logger="vdsm.rpc")
    # Unknown test events are logged (BAD_EVENT) and sent: not this test's
    # concern.
    monkeypatch.setattr(logging.getLogger("vdsm.events"), "disabled", True)
    slow = []
    for i in range(10):
        peer = RawStomp(srv, source=client_address(i), rcvbuf=4096)
        peer.connect()
        subscribe_flood(peer, 64)
        slow.append(peer)
    events = 2000
    with srv.client() as good:
        sub = good.subscribe()
        deadline = time.monotonic() + 10
        while srv.subscribers(EVENTS) < 10 * 64 + 1:
            assert time.monotonic() < deadline, srv.subscribers(EVENTS)
            time.sleep(0.02)

        def publish():
            for i in range(events):
                srv.events.publish(f"|test|flood|{i}",
                                   {"i": i, "blob": BLOB})
        publisher = threading.Thread(target=publish)
        publisher.start()
        answers = 0
        while publisher.is_alive():
            if good.Host.ping2() is True:
                answers += 1
        publisher.join()
        got = [sub.get(timeout=30)[1]["i"] for _ in range(events)]
        answers += good.Host.ping2() is True
        # The slow readers' subscriptions are gone with them.
        left = srv.subscribers(EVENTS)
    for peer in slow:
        peer.close()
    dropped = len([r for r in caplog.records
                   if "reason=client not reading" in r.getMessage()])
    print(f"\nevent flood: {events} events x {10 * 64 + 1} subscriptions, "
          f"{dropped}/10 slow readers dropped; the reading subscriber got "
          f"{len(got)}, its client {answers} answers during the flood")
    assert got == list(range(events))
    assert dropped == 10
    assert left == 1
    assert answers >= 1
