"""supervdsmd under a flood of refused and of too many connections.

A real supervdsmd (root). The attacker is a child process of another uid
(4242) in the socket's group, as every qemu process was when the socket
was root:kvm (upstream's layout): it can connect, and only SO_PEERCRED
refuses it. It opens 200 connections and keeps writing a byte to each
(what kept the old per-connection "linger" threads alive), while the test
counts supervdsmd's threads and makes calls as root.
"""

from __future__ import annotations

import grp
import json
import os
import resource
import socket
import subprocess
import sys
import time

import pytest

from vdsm.supervdsm import errors
from vdsm.supervdsm.client import SupervdsmClient

pytestmark = pytest.mark.root

LIB = os.path.join(os.path.dirname(__file__), "..", "..", "lib")
FLOOD = 200

# argv: socket path, connections. Prints one JSON line once every
# connection was answered and written to once, then keeps writing to the
# open ones until stdin closes.
ATTACKER = r"""
import json, socket, struct, sys, threading
path, count = sys.argv[1], int(sys.argv[2])
socks, replies = [], []
for _ in range(count):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)     # blocking: waits while the backlog is full
    s.settimeout(10)
    socks.append(s)
for s in socks:
    try:
        data = b""
        while len(data) < 4 or \
                len(data) < 4 + struct.unpack("!I", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        replies.append(json.loads(data[4:])["error"]["class"])
    except Exception as e:
        replies.append(type(e).__name__)
def trickle():
    open_ = 0
    for s in socks:
        try:
            s.send(b"x", socket.MSG_NOSIGNAL)
            open_ += 1
        except OSError:
            pass
    return open_
trickle()
print(json.dumps({"replies": replies, "open": trickle()}), flush=True)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()),
                 daemon=True).start()
while not stop.wait(0.2):
    trickle()
"""


def threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads line")


def start_attacker(sock: str, gid: int, count: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(LIB))
    return subprocess.Popen(
        [sys.executable, "-c", ATTACKER, sock, str(count)],
        user=4242, group=gid, extra_groups=[], env=env, cwd="/",
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_kvm_group_flood_costs_no_thread(make_supervdsmd):
    # The socket in group kvm, as upstream has it and as this daemon had
    # it: the flood below is what any qemu process could do.
    kvm = grp.getgrnam("kvm").gr_gid
    server = make_supervdsmd({"supervdsm": {"socket_group": "kvm"}})
    client = server.client()
    assert client.call("fs.mkdir", os.path.join(server.repository, "a"))
    baseline = threads(server.proc.pid)
    attacker = start_attacker(server.socket, kvm, FLOOD)
    try:
        report = json.loads(attacker.stdout.readline())
        during = threads(server.proc.pid)
        # Keeps serving while the attacker goes on writing.
        path = os.path.join(server.repository, "during-flood")
        assert client.call("fs.mkdir", path) is True
        assert SupervdsmClient(server.socket, 30).call(
            "fs.mkdir", path + "-new-connection") is True
        after = threads(server.proc.pid)
    finally:
        attacker.stdin.close()
        attacker.wait(30)
        attacker.stdout.close()
    refused = report["replies"].count("NotAllowed")
    print(f"supervdsmd threads: baseline={baseline} during={during} "
          f"after-calls={after}; refused={refused}/{FLOOD}, "
          f"still open={report['open']}")
    assert report["replies"] == ["NotAllowed"] * FLOOD
    assert report["open"] == 0          # dropped at once, not lingering
    assert during <= baseline
    assert after <= baseline + 1        # the second client's connection
    log = server.log()
    assert "REFUSED" in log and "suppressed=" in log
    assert log.count("REFUSED") < FLOOD  # rate-limited


def test_default_socket_group_keeps_kvm_out(supervdsmd):
    kvm = grp.getgrnam("kvm").gr_gid
    assert os.stat(supervdsmd.socket).st_gid != kvm
    attacker = start_attacker(supervdsmd.socket, kvm, 1)
    out, _ = attacker.communicate("", timeout=60)  # closes the pipes
    assert attacker.returncode != 0 and out == ""   # connect(): EACCES
    assert "REFUSED" not in supervdsmd.log()


def test_max_connections(make_supervdsmd):
    server = make_supervdsmd({"supervdsm": {"max_connections": "3"}})
    held = [SupervdsmClient(server.socket, 30) for _ in range(3)]
    for i, c in enumerate(held):
        assert c.call("fs.mkdir", os.path.join(server.repository, f"h{i}"))
    extra = SupervdsmClient(server.socket, 30)
    with pytest.raises(errors.RemoteError) as e:
        extra.call("fs.mkdir", os.path.join(server.repository, "extra"))
    assert e.value.code == 40
    assert e.value.remote_class == "ResourceUnavailable"
    assert not os.path.exists(os.path.join(server.repository, "extra"))
    assert "BUSY" in server.log()
    held.pop().close()
    wait_for(lambda: try_call(extra, server.repository))


def try_call(client: SupervdsmClient, repo: str) -> bool:
    try:
        return client.call("fs.mkdir", os.path.join(repo, "extra")) is True
    except errors.RemoteError:
        return False


def test_out_of_fds_survives_accept_errors(make_supervdsmd):
    server = make_supervdsmd({"supervdsm": {"max_connections": "1000"}})
    pid = server.proc.pid
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    limit = in_use + 10
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
    held = []
    try:
        for _ in range(40):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(1)
            held.append(s)
            try:
                s.connect(server.socket)
            except OSError:
                break           # the backlog is full: enough
        wait_for(lambda: "ACCEPT-ERROR error=EMFILE" in server.log())
        assert server.proc.poll() is None
    finally:
        for s in held:
            s.close()
    client = server.client()
    path = os.path.join(server.repository, "after-emfile")
    assert client.call("fs.mkdir", path) is True
    assert server.proc.poll() is None
    assert len(os.listdir(f"/proc/{pid}/fd")) <= limit


def wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)
