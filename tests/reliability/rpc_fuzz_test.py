"""Issue 15 item 10: nothing a client sends ends in a traceback.

Every frame error is answered with an ERROR frame and logged as one DROP
line; a few thousand mutated frames leave no traceback in vdsm.log and the
daemon answering.
"""

from __future__ import annotations

import random
import re
import socket
import ssl
import time

import pytest

from fixtures.stomp_peer import REQUESTS, RawStomp, tracebacks
from vdsm.rpc import stomp


def connection_name(daemon, peer):
    port = peer.sock.getsockname()[1]
    match = re.search(rf"OPEN connection=(\d+) client=127\.0\.0\.1:{port}\n",
                      daemon.log())
    assert match, f"no OPEN line for port {port}"
    return match.group(1)


def drops(daemon, name):
    return [line for line in daemon.log().splitlines()
            if f"DROP connection={name} " in line]


@pytest.mark.parametrize("data", [
    b"SEND\ndestination:" + REQUESTS.encode() + "\ncontent-length:\u00b2"
    "\n\n{}\0".encode(),
    b"SEND\ncontent-length:\xd9\xa1\n\n\0",
    b"SEND\ncontent-length:1_0\n\n0123456789\0",
    b"SEND\ncontent-length:99999999999999999999\n\n\0",
    b"CONNECT\naccept-version:1.2\nheart-beat:0," + b"9" * 400 + b"\n\n\0",
    b"CONNECT\naccept-version:1.2\nheart-beat:" + b"9" * 400 + b",0\n\n\0",
    b"CONNECT\naccept-version:1.2\nheart-beat:1,2,3\n\n\0",
    b"CONNECT\naccept-version:1.2\nheart-beat:\xc2\xb2,1\n\n\0",
    b"SEND\nbad\\qescape:1\n\n\0",
    b"SEND\nno colon\n\n\0",
    b"SEND\n\xff\xfe:1\n\n\0",
    b"NOPE\n\n\0",
], ids=["length-superscript", "length-arabic", "length-underscore",
        "length-huge", "heartbeat-400-digits-cy", "heartbeat-400-digits-cx",
        "heartbeat-3-values", "heartbeat-superscript", "bad-escape",
        "no-colon", "not-utf8", "unknown-command"])
def test_frame_error_is_error_frame_and_one_drop(vdsmd, data):
    with RawStomp(vdsmd) as peer:
        if not data.startswith(b"CONNECT"):
            peer.connect()
        peer.sock.sendall(data)
        error = peer.expect("ERROR")
        assert error.headers["message"]
        assert peer.closed_within(10)
        name = connection_name(vdsmd, peer)
    with vdsmd.client() as good:
        assert good.Host.ping2() is True
    assert len(drops(vdsmd, name)) == 1, drops(vdsmd, name)
    assert tracebacks(vdsmd.log()) == []


def test_clients_closing_with_unread_replies(vdsmd):
    for _ in range(20):
        with RawStomp(vdsmd) as peer:
            peer.connect()
            peer.send("SUBSCRIBE", {"destination": "r", "id": "1"})
            for i in range(50):
                peer.request("Host.echo", {"message": "x" * 1000}, i)
    with vdsmd.client() as good:
        assert good.Host.ping2() is True
    assert tracebacks(vdsmd.log()) == []


SEEDS = [
    stomp.encode(stomp.Frame("CONNECT", {"accept-version": "1.2",
                                         "heart-beat": "0,0"})),
    stomp.encode(stomp.Frame("SUBSCRIBE", {"destination": "r", "id": "1"})),
    stomp.encode(stomp.Frame("SEND", {"destination": REQUESTS,
                                      "reply-to": "r"},
                             b'{"jsonrpc":"2.0","method":"Host.ping2",'
                             b'"id":1}')),
    stomp.encode(stomp.Frame("UNSUBSCRIBE", {"id": "1"})),
    stomp.encode(stomp.Frame("ACK", {"id": "1"})),
    b"\n\n",
]
ALPHABET = b"\0\n\r:\\,0123456789\xb2\xff" + bytes(range(32, 127))


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            del data[pos:pos + rng.randint(1, 8)]
        elif op == 1:
            data[pos:pos] = bytes(rng.choice(ALPHABET)
                                  for _ in range(rng.randint(1, 8)))
        elif op == 2 and data:
            data[min(pos, len(data) - 1)] = rng.choice(ALPHABET)
        else:
            data[pos:pos] = rng.choice(SEEDS)
    return bytes(data)


FUZZ_CONNECTIONS = 150
FRAMES_PER_CONNECTION = 20


PER_CLIENT = 5


@pytest.mark.stress
def test_fuzzed_frames_leave_no_traceback(vdsmd_factory):
    # Few connections per client: a slot leaked by an error path would
    # soon lock this client out.
    vdsmd = vdsmd_factory({"vars": {
        "max_connections_per_client": str(PER_CLIENT)}})
    rng = random.Random(15)
    sent = refused = 0
    for _ in range(FUZZ_CONNECTIONS):
        stream = b"".join(
            SEEDS[0] if i == 0 and rng.random() < 0.7
            else mutate(rng, rng.choice(SEEDS))
            for i in range(FRAMES_PER_CONNECTION))
        try:
            with RawStomp(vdsmd) as peer:
                peer.sock.sendall(stream)
                sent += FRAMES_PER_CONNECTION
                if rng.random() < 0.5:
                    peer.closed_within(0.05)
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            # The server closes on the first bad frame; or refuses while
            # the previous connections are still closing.
            refused += 1
    print(f"\nfuzz: {sent} frames on {FUZZ_CONNECTIONS} connections "
          f"({refused} closed early or refused)")
    assert sent >= 2000
    # Every slot comes back: PER_CLIENT connections at once.
    deadline = time.monotonic() + 30
    while True:
        peers = []
        try:
            for _ in range(PER_CLIENT):
                peers.append(RawStomp(vdsmd))
                peers[-1].connect()
            break
        except (ConnectionError, ssl.SSLError, EOFError, OSError):
            assert time.monotonic() < deadline, "connection slots leaked"
            time.sleep(0.5)
        finally:
            for peer in peers:
                peer.close()
    assert tracebacks(vdsmd.log()) == []
