"""supervdsm call throughput, beside a raw UNIX-socket echo in the same run.

    cd tests && sudo PYTHONPATH=../lib python perf/supervdsm_bench.py \
        [--calls 2000] [--threads 1,4,16]

Rows, per client thread count:

* ``supervdsm``: ``fs.mkdir`` of an existing directory (a cheap real
  privileged call: allowlist and type checks, one worker thread, a
  symlink-free walk, mkdirat, EEXIST) through a real supervdsmd and
  ``SupervdsmClient``;
* ``echo``: the baseline, the same request bytes sent to a minimal server
  thread on a UNIX socket that answers each length-prefixed message with a
  fixed reply (framing and one round trip, no work).

The figure is calls/s and the ratio supervdsm/echo.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from fixtures.supervdsm import Supervdsmd  # noqa: E402
from vdsm.supervdsm import protocol  # noqa: E402
from vdsm.supervdsm.channel import Channel  # noqa: E402
from vdsm.supervdsm.client import SupervdsmClient  # noqa: E402


def echo_server(path: str) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)

    def serve(conn: socket.socket) -> None:
        chan = Channel(conn)
        while True:
            msg = chan.recv()
            if msg is None:
                break
            chan.send(protocol.result(msg["id"], False))
        conn.close()

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener


def run(client: SupervdsmClient, path: str, calls: int, threads: int
        ) -> float:
    per_thread = calls // threads

    def work() -> None:
        for _ in range(per_thread):
            client.call("fs.mkdir", path)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.monotonic()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return per_thread * threads / (time.monotonic() - start)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--threads", default="1,4,16")
    args = p.parse_args()
    server = Supervdsmd({"logging": {"log_level": "WARNING"}})
    server.start()
    tmp = tempfile.mkdtemp()
    echo_path = os.path.join(tmp, "echo.sock")
    listener = echo_server(echo_path)
    target = os.path.join(server.repository, "d")
    try:
        real = SupervdsmClient(server.socket, 30)
        real.call("fs.mkdir", target)
        echo = SupervdsmClient(echo_path, 30)
        print(f"{'threads':>7} {'supervdsm/s':>12} {'echo/s':>10} "
              f"{'ratio':>6}")
        for threads in [int(t) for t in args.threads.split(",")]:
            a = run(real, target, args.calls, threads)
            b = run(echo, target, args.calls, threads)
            print(f"{threads:>7} {a:>12.0f} {b:>10.0f} {a / b:>6.2f}")
        real.close()
        echo.close()
    finally:
        listener.close()
        server.cleanup()


if __name__ == "__main__":
    main()
