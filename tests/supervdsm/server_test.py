"""supervdsmd end to end: a real daemon (root) and real clients.

Clients of other uids are child processes that setuid() before
connecting. The slow, concurrent and failing calls use the tests-only
module tests/fixtures/supervdsm_testapi.py, which the fixture loads through
VDSM_SUPERVDSM_TEST_MODULES (production never sets it).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from vdsm.common.exception import VdsmError
from vdsm.supervdsm import errors

pytestmark = pytest.mark.root

LIB = os.path.join(os.path.dirname(__file__), "..", "..", "lib")

CLIENT_SCRIPT = """
import json, sys
from vdsm.supervdsm.client import SupervdsmClient
sock, method, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
try:
    result = SupervdsmClient(sock, 30).call(method, *args)
    print(json.dumps({"result": result}))
except Exception as e:
    print(json.dumps({"error": type(e).__name__,
                      "code": getattr(e, "code", None), "message": str(e)}))
"""


def call_as(uid, gid, sock, method, *args, extra_groups=()):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(LIB))
    p = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, sock, method, json.dumps(args)],
        user=uid, group=gid, extra_groups=list(extra_groups), env=env,
        cwd="/",
        capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_root_client_calls_allowed_function(supervdsmd):
    path = os.path.join(supervdsmd.repository, "made-by-root")
    assert supervdsmd.client().call("fs.mkdir", path, 0o750) is True
    st = os.stat(path)
    assert st.st_mode & 0o777 == 0o750
    assert st.st_uid == pwd.getpwnam(supervdsmd.user).pw_uid


def test_unprivileged_allowed_user(supervdsmd):
    user = pwd.getpwnam(supervdsmd.user)
    path = os.path.join(supervdsmd.repository, "made-by-user")
    # As vdsmd runs: its primary group and the socket's group.
    reply = call_as(user.pw_uid, user.pw_gid, supervdsmd.socket,
                    "fs.mkdir", path,
                    extra_groups=[os.stat(supervdsmd.socket).st_gid])
    assert reply == {"result": True}
    assert os.path.isdir(path)


def test_other_uid_refused_by_peercred(supervdsmd):
    # Same group as the socket, so connect() succeeds and only the
    # SO_PEERCRED check can refuse it.
    other = 4242
    assert other != pwd.getpwnam(supervdsmd.user).pw_uid
    gid = os.stat(supervdsmd.socket).st_gid
    path = os.path.join(supervdsmd.repository, "refused")
    reply = call_as(other, gid, supervdsmd.socket, "fs.mkdir", path)
    assert reply["error"] == "NotAllowed"
    assert "uid 4242" in reply["message"]
    assert not os.path.exists(path)
    assert "REFUSED" in supervdsmd.log()


def test_other_group_cannot_connect(supervdsmd):
    reply = call_as(4242, 4242, supervdsmd.socket, "fs.mkdir",
                    os.path.join(supervdsmd.repository, "x"))
    assert reply["error"] == "Unavailable"
    assert "Permission denied" in reply["message"]


def test_socket_mode_and_group(supervdsmd):
    import grp
    st = os.stat(supervdsmd.socket)
    assert st.st_mode & 0o777 == 0o660
    assert st.st_uid == 0
    assert st.st_gid == grp.getgrnam(supervdsmd.socket_group).gr_gid
    assert st.st_gid != grp.getgrnam("kvm").gr_gid


@pytest.mark.parametrize("method", [
    "fs.rmtree",             # no such function
    "no_such_module.mkdir",  # no such module
    "runtime.run",           # a real function, not on the allowlist
    "fs.os",                 # a module attribute, not a function
    "fs.runtime",
    "mount",                 # no dot
    "supervdsm_testapi.sleep",  # tests-only module not loaded here
])
def test_name_not_on_allowlist_refused(supervdsmd, method):
    with pytest.raises(errors.NoSuchFunction):
        supervdsmd.client().call(method, "/")


@pytest.mark.parametrize("args,kwargs", [
    (["{repo}/bad", "0755"], {}),          # str for int
    (["{repo}/bad", True], {}),            # bool is not an int
    (["{repo}/bad", 0o755, 1], {}),        # too many
    ([], {"path": "{repo}/bad", "mod": 1}),  # unknown keyword
    ([["{repo}/bad"]], {}),                # list for str
    ([], {}),                              # missing
])
def test_bad_argument_types_refused_before_running(supervdsmd, args, kwargs):
    repo = supervdsmd.repository
    args = [a.format(repo=repo) if isinstance(a, str) else
            [x.format(repo=repo) for x in a] if isinstance(a, list) else a
            for a in args]
    kwargs = {k: v.format(repo=repo) if isinstance(v, str) else v
              for k, v in kwargs.items()}
    with pytest.raises(errors.InvalidArguments) as e:
        supervdsmd.client().call("fs.mkdir", *args, **kwargs)
    assert e.value.code == 1000
    assert not os.path.exists(os.path.join(repo, "bad"))
    assert "CALL" not in supervdsmd.log()


def test_remote_vdsm_error_keeps_class_and_code(supervdsmd):
    client = supervdsmd.client()
    path = os.path.join(supervdsmd.repository, "not-mounted")
    client.call("fs.mkdir", path)
    with pytest.raises(errors.MountFailed) as e:
        client.call("mount.umount", path)
    assert e.value.code == 477
    assert "not mounted" in str(e.value)


def test_remote_invalid_path(supervdsmd):
    with pytest.raises(errors.InvalidPath) as e:
        supervdsmd.client().call("fs.mkdir", "/etc/vdsm-test-forbidden")
    assert e.value.code == 1000
    assert "not under an allowed root" in str(e.value)
    assert not os.path.exists("/etc/vdsm-test-forbidden")


def test_remote_non_vdsm_error(make_supervdsmd):
    server = make_supervdsmd(test_modules=True)
    with pytest.raises(errors.RemoteError) as e:
        server.client().call("supervdsm_testapi.fail", "boom")
    assert isinstance(e.value, VdsmError)
    assert e.value.remote_class == "ValueError"
    assert e.value.code == 100
    assert "boom" in str(e.value)


def test_killed_mid_call_then_next_call_works(make_supervdsmd):
    server = make_supervdsmd(test_modules=True)
    client = server.client()
    assert client.call("supervdsm_testapi.sleep", 0) == 0
    failure = {}

    def slow_call():
        try:
            client.call("supervdsm_testapi.sleep", 60)
        except Exception as e:
            failure["error"] = e

    t = threading.Thread(target=slow_call)
    t.start()
    wait_for(lambda: re.search(
        r"CALL conn=\d+ id=2 method=supervdsm_testapi.sleep$", server.log(),
        re.M))
    server.kill()
    t.join(30)
    assert not t.is_alive()
    err = failure["error"]
    assert isinstance(err, errors.ConnectionLost)
    assert isinstance(err, VdsmError) and err.code == 100
    assert "supervdsm connection lost during call" in str(err)
    assert "supervdsm_testapi.sleep" in str(err)

    server.start()
    # The pool still holds the connection of the first call, whose server
    # is dead: the client must reconnect transparently.
    assert client.call("supervdsm_testapi.sleep", 0) == 0
    path = os.path.join(server.repository, "after-restart")
    assert client.call("fs.mkdir", path) is True


def test_call_while_daemon_down_then_up(supervdsmd):
    client = supervdsmd.client()
    supervdsmd.stop()
    with pytest.raises(errors.Unavailable):
        client.call("fs.mkdir", os.path.join(supervdsmd.repository, "a"))
    supervdsmd.start()
    assert client.call("fs.mkdir", os.path.join(supervdsmd.repository, "a"))


def test_call_timeout(make_supervdsmd):
    server = make_supervdsmd({"supervdsm": {"call_timeout": "1"}},
                             test_modules=True)
    client = server.client()
    with pytest.raises(errors.CallTimeout):
        client.call("supervdsm_testapi.sleep", 30)
    assert client.call("supervdsm_testapi.sleep", 0) == 0


def test_concurrent_calls(make_supervdsmd):
    server = make_supervdsmd(test_modules=True)
    client = server.client()
    parties = 6
    results = []

    def meet():
        results.append(client.call("supervdsm_testapi.meet", parties, 20))

    threads = [threading.Thread(target=meet) for _ in range(parties)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [True] * parties


def raw_exchange(path, data):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(data)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(
                "!I", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


@pytest.mark.parametrize("data", [
    struct.pack("!I", 5) + b"nope!",                  # not JSON
    struct.pack("!I", 2) + b"[]",                     # not an object
    struct.pack("!I", 0xFFFFFFFF),                    # far too large
    struct.pack("!I", 11) + b'{"id": "x"}',           # bad request
    struct.pack("!I", 4) + b"\xff\xfe{}",             # not UTF-8
])
def test_garbage_never_hurts_the_daemon(supervdsmd, data):
    reply = raw_exchange(supervdsmd.socket, data)
    if reply:
        (size,) = struct.unpack("!I", reply[:4])
        message = json.loads(reply[4:4 + size])
        assert message["error"]["class"] == "ProtocolError"
        assert message["id"] is None
    path = os.path.join(supervdsmd.repository, "still-alive")
    assert supervdsmd.client().call("fs.mkdir", path) is True


def test_client_disconnect_mid_call_keeps_daemon(make_supervdsmd):
    server = make_supervdsmd(test_modules=True)
    req = json.dumps({"id": 1, "method": "supervdsm_testapi.sleep",
                      "args": [0.5], "kwargs": {}}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(server.socket)
        s.sendall(struct.pack("!I", len(req)) + req)
    assert server.client().call("supervdsm_testapi.sleep", 0) == 0


def test_log_is_key_value_lines(supervdsmd):
    supervdsmd.client().call("fs.mkdir",
                             os.path.join(supervdsmd.repository, "l"))
    log = supervdsmd.log()
    assert "Starting (version=" in log
    assert "Ready for requests" in log
    assert re.search(r"CALL conn=\d+ id=1 method=fs.mkdir$", log, re.M)
    assert re.search(r"DONE conn=\d+ id=1 method=fs.mkdir elapsed=[0-9.]+$",
                     log, re.M)


def wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_get_proxy_is_process_wide_per_socket(supervdsmd):
    from vdsm.supervdsm import client
    proxy = client.get_proxy(supervdsmd.config)
    try:
        assert client.get_proxy(supervdsmd.config) is proxy
        path = os.path.join(supervdsmd.repository, "via-proxy")
        assert proxy.call("fs.mkdir", path) is True
    finally:
        proxy.close()


def test_second_daemon_does_not_steal_the_socket(supervdsmd):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(LIB))
    from fixtures.supervdsm import SUPERVDSMD
    p = subprocess.run([sys.executable, SUPERVDSMD, "--config",
                        supervdsmd.config_path], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "another supervdsmd serves" in supervdsmd.log()
    path = os.path.join(supervdsmd.repository, "still-first")
    assert supervdsmd.client().call("fs.mkdir", path) is True


def test_stale_socket_is_replaced(make_supervdsmd):
    server = make_supervdsmd()
    server.kill()
    assert os.path.exists(server.socket)  # left behind by SIGKILL
    server.start()
    path = os.path.join(server.repository, "after-stale")
    assert server.client().call("fs.mkdir", path) is True


def test_non_json_arguments_refused_by_client(supervdsmd):
    path = os.path.join(supervdsmd.repository, "never")
    with pytest.raises(errors.InvalidArguments, match="not JSON"):
        supervdsmd.client().call("fs.mkdir", path, {1, 2})
    assert not os.path.exists(path)


def test_fixture_cleanup_unmounts_and_detaches(make_supervdsmd):
    # make_supervdsmd only for its root check: this test drives its own.
    from fixtures.supervdsm import Supervdsmd
    server = Supervdsmd()
    server.start()
    try:
        client = server.client()
        mnt = os.path.join(server.repository, "m")
        client.call("fs.mkdir", mnt)
        client.call("mount.mount", "tmpfs", mnt, "tmpfs")
        image = os.path.join(server.repository, "img")
        with open(image, "wb") as f:
            f.truncate(1024**2)
        device = client.call("devices.loop_attach", image)
    finally:
        server.cleanup()
    with open("/proc/self/mountinfo") as f:
        assert not any(line.split()[4] == mnt for line in f)
    assert not os.path.exists(
        f"/sys/block/{os.path.basename(device)}/loop/backing_file")
    assert not os.path.exists(server.workdir)
