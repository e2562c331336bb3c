"""HTTP image transfers on port 54321, as the engine makes them.

A real vdsmd over TLS with the client certificate, a real file storage
domain on a loop file system, the SPM role; requests built as the
engine's HttpImageTaskVDSCommand builds them (``connection: close``, the
four id headers, Content-Length / Range).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from storage.api_test import (create_volume, ok, overrides, setup_pool,
                              teardown_pool, vol_args, wait)
from storage.storagefixtures import MIB, new_id

from vdsm import client

pytestmark = pytest.mark.root

RAW = 5
SIZE = 4 * MIB


def request(vdsmd, method, ids, body=None, headers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(vdsmd.pki.ca_cert)
    ctx.load_cert_chain(vdsmd.pki.cert, vdsmd.pki.key)
    conn = http.client.HTTPSConnection("127.0.0.1", vdsmd.port, timeout=30,
                                       context=ctx)
    sp, sd, img, vol = ids
    hdrs = {"connection": "close", "Storage-Pool-Id": sp,
            "Storage-Domain-Id": sd, "Image-Id": img, "Volume-Id": vol}
    if body is not None:
        hdrs["Content-Type"] = "application/octet-stream"
        hdrs["Content-Length"] = str(len(body))
    hdrs.update(headers or {})
    hdrs = {k: v for k, v in hdrs.items() if v is not None}
    try:
        conn.putrequest(method, "/", skip_accept_encoding=True)
        for name, value in hdrs.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def status_code(body):
    return json.loads(body)["status"]["code"]


@pytest.fixture
def pool(env, vdsmd_factory):
    vdsmd = vdsmd_factory(overrides(env))
    with vdsmd.client() as cli:
        path = env.dir()
        sp, sd = setup_pool(cli, path)
        img, vol = new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img, vol, fmt=RAW,
                              size=str(SIZE)))
        vdsmd.volume = os.path.join(path, sd, "images", img, vol)
        yield vdsmd, cli, (sp, sd, img, vol)
        teardown_pool(cli, sp)


def test_upload_poll_download(pool):
    vdsmd, cli, ids = pool
    data = os.urandom(3 * MIB + 12345)
    status, headers, body = request(vdsmd, "PUT", ids, data)
    assert status == 200, body
    task_id = headers["Task-Id"]
    # A real SPM task: listed, polled to its end, cleared.
    assert task_id in cli.Host.getAllTasksStatuses()
    result = wait(cli, task_id)
    assert result["taskResult"] == "success", result
    assert cli.Task.getInfo(taskID=task_id)["verb"] == \
        "downloadImageFromStream"
    cli.Task.clear(taskID=task_id)
    assert task_id not in cli.Host.getAllTasksStatuses()
    info = cli.Volume.getInfo(**vol_args(*ids))
    assert info["legality"] == "LEGAL"
    with open(vdsmd.volume, "rb") as f:
        assert f.read(len(data)) == data

    status, headers, body = request(
        vdsmd, "GET", ids, headers={"Range": f"bytes=0-{len(data) - 1}"})
    assert status == 206
    assert headers["Content-Length"] == str(len(data))
    assert body == data
    ok(cli, headers["Task-Id"])


def test_unknown_ids_refused_nothing_written(pool):
    vdsmd, cli, (sp, sd, img, vol) = pool
    with open(vdsmd.volume, "rb") as f:
        before = f.read()
    data = b"x" * 4096
    for ids, code in [((new_id(), sd, img, vol), 309),
                      ((sp, new_id(), img, vol), 353),
                      ((sp, sd, new_id(), vol), 268),
                      ((sp, sd, img, new_id()), 201),
                      ((sp, sd, img, "../../etc"), 1000)]:
        status, headers, body = request(vdsmd, "PUT", ids, data)
        assert status == 500, (ids, body)
        assert headers["Content-Type"] == "application/json"
        assert status_code(body) == code, body
        assert "Task-Id" not in headers
    assert cli.Host.getAllTasksStatuses() == {}
    with open(vdsmd.volume, "rb") as f:
        assert f.read() == before


def test_missing_headers_refused(pool):
    vdsmd, cli, (sp, sd, img, vol) = pool
    status, _, body = request(vdsmd, "PUT", (sp, None, img, vol), b"x")
    assert status == 400 and status_code(body) == 1000
    # No Content-Length: 411, as upstream.
    status, _, _ = request(vdsmd, "PUT", (sp, sd, img, vol))
    assert status == 411
    status, _, _ = request(vdsmd, "PUT", (sp, sd, img, vol), b"x",
                           headers={"Content-Length": "ten"})
    assert status == 400
    status, _, _ = request(vdsmd, "GET", (sp, sd, img, vol))
    assert status == 400
    status, _, _ = request(vdsmd, "GET", (sp, sd, img, vol),
                           headers={"Range": "bytes=10-20"})
    assert status == 400
    status, _, _ = request(vdsmd, "GET", (sp, sd, img, vol),
                           headers={"Range": "bytes=0-" + "9" * 5000})
    assert status == 400
    assert "Traceback" not in vdsmd.log()
    assert cli.Host.getAllTasksStatuses() == {}


def test_oversize_refused(pool):
    vdsmd, cli, ids = pool
    status, _, body = request(vdsmd, "PUT", ids, b"y" * (SIZE + 1))
    assert status == 500 and status_code(body) == 1000, body
    status, _, body = request(vdsmd, "GET", ids,
                              headers={"Range": f"bytes=0-{SIZE}"})
    assert status == 500 and status_code(body) == 1000, body
    assert cli.Host.getAllTasksStatuses() == {}
    with open(vdsmd.volume, "rb") as f:
        assert b"y" not in f.read()


def test_not_spm_refused(pool):
    vdsmd, cli, ids = pool
    cli.StoragePool.spmStop(storagepoolID=ids[0])
    status, _, body = request(vdsmd, "PUT", ids, b"z" * 512)
    assert status == 500 and status_code(body) == 654, body
    ok(cli, cli.StoragePool.spmStart(storagepoolID=ids[0],
                                     prevID=-1, prevLver="-1",
                                     enableScsiFencing="false",
                                     maxHostID=250))


def test_stomp_on_the_same_port(pool):
    vdsmd, cli, ids = pool
    status, headers, _ = request(vdsmd, "PUT", ids, b"q" * 1000)
    assert status == 200
    # The same port still speaks STOMP, to a new client and an old one.
    with vdsmd.client() as other:
        assert other.Host.ping2() is True
    ok(cli, headers["Task-Id"])
    with pytest.raises(client.ServerError):
        cli.Task.getStatus(taskID=headers["Task-Id"])


def test_short_body_fails_task(pool):
    vdsmd, cli, (sp, sd, img, vol) = pool
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(vdsmd.pki.ca_cert)
    ctx.load_cert_chain(vdsmd.pki.cert, vdsmd.pki.key)
    head = (f"PUT / HTTP/1.1\r\nconnection: close\r\n"
            f"Storage-Pool-Id: {sp}\r\nStorage-Domain-Id: {sd}\r\n"
            f"Image-Id: {img}\r\nVolume-Id: {vol}\r\n"
            f"Content-Length: {MIB}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", vdsmd.port), 10) as raw:
        with ctx.wrap_socket(raw) as sock:
            sock.sendall(head + b"s" * 1000)
            deadline = time.monotonic() + 30
            while not cli.Host.getAllTasksStatuses():
                assert time.monotonic() < deadline
                time.sleep(0.05)
    # The client went away 1000 bytes in: the task fails, the volume
    # is left ILLEGAL (its data is partial).
    [task_id] = cli.Host.getAllTasksStatuses()
    result = wait(cli, task_id)
    assert result["taskResult"] == "cleanSuccess"
    assert result["code"] == 261, result
    cli.Task.clear(taskID=task_id)
    assert cli.Volume.getInfo(**vol_args(sp, sd, img, vol))[
        "legality"] == "ILLEGAL"
    # GET refuses the partial data; a new upload makes it whole again.
    status, _, body = request(vdsmd, "GET", (sp, sd, img, vol),
                              headers={"Range": "bytes=0-9"})
    assert status == 500 and status_code(body) == 227
    status, headers, _ = request(vdsmd, "PUT", (sp, sd, img, vol), b"w" * 10)
    assert status == 200
    ok(cli, headers["Task-Id"])
    assert cli.Volume.getInfo(**vol_args(sp, sd, img, vol))[
        "legality"] == "LEGAL"


def curl(vdsmd, ids, *args):
    sp, sd, img, vol = ids
    p = vdsmd.pki
    return subprocess.run(
        ["curl", "-sS", "--cacert", p.ca_cert, "--cert", p.cert, "--key",
         p.key, "-H", f"Storage-Pool-Id: {sp}", "-H",
         f"Storage-Domain-Id: {sd}", "-H", f"Image-Id: {img}", "-H",
         f"Volume-Id: {vol}", "-D", "-", *args,
         f"https://localhost:{vdsmd.port}/"],
        capture_output=True, check=True, timeout=60)


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl")
def test_curl_as_in_readme(pool, tmp_path):
    vdsmd, cli, ids = pool
    # Over 1 MiB: curl asks "Expect: 100-continue" and waits for it.
    data = os.urandom(2 * MIB + 1)
    src = tmp_path / "ovf.tar"
    src.write_bytes(data)
    out = curl(vdsmd, ids, "-T", str(src)).stdout.decode()
    assert out.startswith("HTTP/1.1 100 Continue"), out
    assert "HTTP/1.1 200 OK" in out
    task_id = re.search(r"Task-Id: (\S+)", out).group(1)
    ok(cli, task_id)
    dst = tmp_path / "back"
    curl(vdsmd, ids, "-r", f"0-{len(data) - 1}", "-o", str(dst))
    assert dst.read_bytes() == data
    # Refused before its body is sent: curl gets the JSON at once.
    res = curl(vdsmd, (ids[0], ids[1], new_id(), ids[3]), "-T", str(src))
    assert b"500 Internal Server Error" in res.stdout
    assert b'"code": 268' in res.stdout


def test_task_stop_kills_upload(pool):
    vdsmd, cli, (sp, sd, img, vol) = pool
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(vdsmd.pki.ca_cert)
    ctx.load_cert_chain(vdsmd.pki.cert, vdsmd.pki.key)
    head = (f"PUT / HTTP/1.1\r\nconnection: close\r\n"
            f"Storage-Pool-Id: {sp}\r\nStorage-Domain-Id: {sd}\r\n"
            f"Image-Id: {img}\r\nVolume-Id: {vol}\r\n"
            f"Content-Length: {MIB}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", vdsmd.port), 10) as raw:
        with ctx.wrap_socket(raw) as sock:
            # Half the body, then the client stalls: dd waits for more.
            sock.sendall(head + b"k" * (MIB // 2))
            deadline = time.monotonic() + 30
            while not cli.Host.getAllTasksStatuses():
                assert time.monotonic() < deadline
                time.sleep(0.05)
            [task_id] = cli.Host.getAllTasksStatuses()
            cli.Task.stop(taskID=task_id)
            result = wait(cli, task_id)
            assert result["taskResult"] == "cleanSuccess"
            assert result["code"] == 411, result
            # The reply still names the task, as upstream's does.
            sock.settimeout(10)
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 OK"), reply
    assert f"Task-Id: {task_id}".encode() in reply
    cli.Task.clear(taskID=task_id)
    assert cli.Volume.getInfo(**vol_args(sp, sd, img, vol))[
        "legality"] == "ILLEGAL"
