"""HTTP image upload (PUT) and download (GET) beside plain dd, same run.

    cd tests && sudo PYTHONPATH=../lib /opt/vdsm-venv/bin/python \
        perf/http_transfer_bench.py [--mib 256] [--fs ext4-512]

As root: a real vdsmd (mutual TLS, its own PKI), a LOCALFS domain on a
loop file system of tests/storage/userstorage.py, the real sanlock daemon,
this host SPM, one RAW volume. Rows:

* ``put``: the engine's OVF_STORE upload, N MiB over HTTPS into the
  volume, until the reply (the data is on disk, fsync'ed); baseline: ``dd
  conv=notrunc,fsync`` of the same file into a file on the same file
  system, the floor of writing it there;
* ``get``: RetrieveImageData of the N MiB; baseline: ``dd`` of the volume
  to /dev/null (page cache warm for both).

The ratio ours/dd is the figure: TLS, the socket, the pipe and the task
cost on top of the disk. For ``get`` the page cache makes dd's floor
memory speed, so the ratio is mostly TLS on both ends (the client here is
Python's ssl too) and the loop's copying.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from fixtures.vdsmd import Vdsmd  # noqa: E402
from storage import sanlockd, userstorage  # noqa: E402

from vdsm import pki  # noqa: E402

MIB = 1024 * 1024
BLANK = "00000000-0000-0000-0000-000000000000"


def new_id() -> str:
    return str(uuid.uuid4())


def wait(cli, task_id: str) -> None:
    while True:
        status = cli.Task.getStatus(taskID=task_id)
        if status["taskState"] == "finished":
            assert status["taskResult"] == "success", status
            cli.Task.clear(taskID=task_id)
            return
        time.sleep(0.05)


def setup(cli, path: str, size: int) -> tuple[str, str, str, str]:
    cli.StoragePool.connectStorageServer(
        storagepoolID=BLANK, domainType=4,
        connectionParams=[{"id": "b", "connection": path}])
    sd, sp, img, vol = new_id(), new_id(), new_id(), new_id()
    cli.StorageDomain.create(storagedomainID=sd, domainType=4,
                             typeArgs=path, name="bench", domainClass=1)
    cli.StoragePool.create(storagepoolID=sp, name="bench", masterSdUUID=sd,
                           masterVersion=1, domainList=[sd],
                           lockRenewalIntervalSec=5, leaseTimeSec=60,
                           ioOpTimeoutSec=10, leaseRetries=3)
    cli.StoragePool.connect(storagepoolID=sp, hostID=1, scsiKey=sp,
                            masterSdUUID=sd, masterVersion=1)
    wait(cli, cli.StoragePool.spmStart(
        storagepoolID=sp, prevID=-1, prevLver="-1",
        enableScsiFencing="false", maxHostID=250))
    wait(cli, cli.Volume.create(
        storagepoolID=sp, storagedomainID=sd, imageID=img, volumeID=vol,
        size=str(size), volFormat=5, preallocate=2, diskType="OVFS",
        desc="OVF_STORE", srcImgUUID=BLANK, srcVolUUID=BLANK))
    return sp, sd, img, vol


def connection(daemon: Vdsmd) -> http.client.HTTPSConnection:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(daemon.pki.ca_cert)
    ctx.load_cert_chain(daemon.pki.cert, daemon.pki.key)
    return http.client.HTTPSConnection("127.0.0.1", daemon.port,
                                       timeout=600, context=ctx)


def headers(ids: tuple[str, str, str, str]) -> dict[str, str]:
    sp, sd, img, vol = ids
    return {"connection": "close", "Storage-Pool-Id": sp,
            "Storage-Domain-Id": sd, "Image-Id": img, "Volume-Id": vol}


def put(daemon, cli, ids, src: str, size: int) -> float:
    conn = connection(daemon)
    start = time.monotonic()
    with open(src, "rb") as f:
        conn.request("PUT", "/", body=f, headers={
            **headers(ids), "Content-Type": "application/octet-stream",
            "Content-Length": str(size)})
        resp = conn.getresponse()
        resp.read()
    elapsed = time.monotonic() - start
    conn.close()
    assert resp.status == 200, resp.status
    wait(cli, resp.getheader("Task-Id"))
    return elapsed


def get(daemon, cli, ids, size: int) -> float:
    conn = connection(daemon)
    start = time.monotonic()
    conn.request("GET", "/", headers={**headers(ids),
                                      "Range": f"bytes=0-{size - 1}"})
    resp = conn.getresponse()
    got = 0
    while chunk := resp.read(MIB):
        got += len(chunk)
    elapsed = time.monotonic() - start
    conn.close()
    assert resp.status == 206 and got == size, (resp.status, got)
    wait(cli, resp.getheader("Task-Id"))
    return elapsed


def dd(*args: str) -> float:
    start = time.monotonic()
    subprocess.run(["dd", *args, f"bs={MIB}", "status=none"], check=True)
    return time.monotonic() - start


def row(name: str, mib: int, ours: float, base: float) -> None:
    print(f"{name:<4} {mib} MiB  ours={mib / ours:8.1f} MiB/s  "
          f"dd={mib / base:8.1f} MiB/s  ratio={ours / base:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--fs", default="ext4-512")
    args = parser.parse_args()
    size = args.mib * MIB
    storages = userstorage.setup()
    work = tempfile.mkdtemp(prefix="http-bench-")
    sanlock = sanlockd.start(work)
    mount = storages[args.fs].mountpoint
    path = os.path.join(mount, "bench-" + new_id())
    os.makedirs(path)
    src = os.path.join(mount, "src-" + new_id())
    dst = os.path.join(mount, "dst-" + new_id())
    with open(src, "wb") as f:
        for _ in range(args.mib):
            f.write(os.urandom(MIB))
    paths = pki.Paths(os.path.join(work, "pki"))
    pki.create(paths, hostname="localhost")
    os.makedirs(os.path.join(work, "vdsmd"))
    daemon = Vdsmd(os.path.join(work, "vdsmd"), paths, {
        "vars": {"strict_schema": "false"},
        "logging": {"log_level": "INFO"},
        "irs": {"repository": os.path.join(work, "repo")}})
    daemon.start()
    daemon.wait_ready()
    try:
        with daemon.client() as cli:
            ids = setup(cli, path, size)
            vol_path = os.path.join(path, ids[1], "images", ids[2], ids[3])
            row("put", args.mib, put(daemon, cli, ids, src, size),
                dd(f"if={src}", f"of={dst}", "conv=notrunc,fsync"))
            row("get", args.mib, get(daemon, cli, ids, size),
                dd(f"if={vol_path}", "of=/dev/null"))
            cli.StoragePool.spmStop(storagepoolID=ids[0])
            cli.StoragePool.disconnect(storagepoolID=ids[0], hostID=1,
                                       scsiKey=ids[0])
    finally:
        daemon.stop()
        for p in (src, dst):
            if os.path.exists(p):
                os.unlink(p)
        shutil.rmtree(path, ignore_errors=True)
        if sanlock is not None:  # ours only: other sessions may use it
            sanlockd.stop(sanlock)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
