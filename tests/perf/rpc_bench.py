"""Host.ping2 over TLS beside a raw TLS echo server, in the same run.

Rows: "client" calls through vdsm.client (what tests and vdsm-client
use), "raw-stomp" through a blocking STOMP peer (the server's own cost),
"tls-echo" the baseline; then, at 16 connections with ``--vms`` running
VMs (BIOS-only KVM guests of 32 MiB waiting for a boot device, all named
``rpcbench-*`` and removed at the end, even on failure), Host.getStats
and Host.getAllVmStats through the raw STOMP peer, each beside the echo.

    cd tests && PYTHONPATH=../lib python perf/rpc_bench.py [--seconds S]
        [--vms N]   (0: no VMs, no stats rows)

Starts a real vdsmd (mutual TLS, its own PKI) and a minimal asyncio TLS
echo server (a separate process, same PKI), then measures calls per
second and p50/p99 latency with 1 and 16 concurrent connections, each
connection making sequential calls. The ratio vdsmd/echo is the figure:
the echo server is the floor any TLS request/response service pays here.
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from fixtures.vdsmd import LIB, Vdsmd  # noqa: E402
from fixtures.virt import StatusEvents, cleanup_domains  # noqa: E402
from vdsm import client, pki  # noqa: E402
from vdsm.rpc import stomp  # noqa: E402

ECHO_SERVER = """
import asyncio, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ctx.load_verify_locations(sys.argv[3])
ctx.verify_mode = ssl.CERT_REQUIRED
async def echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=ctx)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""

# About the size of a ping2 request frame.
PAYLOAD = b"x" * 160


def measure(make_call, connections: int, seconds: float) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(connections + 1)
    stop_at = [0.0]

    def worker():
        call, close = make_call()
        mine = []
        try:
            start.wait()
            while time.monotonic() < stop_at[0]:
                t = time.monotonic()
                call()
                mine.append(time.monotonic() - t)
        finally:
            close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    start.wait()
    for t in threads:
        t.join()
    latencies.sort()
    return {"rate": len(latencies) / seconds,
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000}


def vdsm_caller(daemon: Vdsmd):
    def make():
        cli = daemon.client()
        return (lambda: cli.Host.ping2()), cli.close
    return make


def _tls_socket(port: int, paths: pki.Paths) -> ssl.SSLSocket:
    ctx = client.client_ssl_context(paths.root)
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))


def echo_caller(port: int, paths: pki.Paths):
    def make():
        sock = _tls_socket(port, paths)

        def call():
            sock.sendall(PAYLOAD)
            got = 0
            while got < len(PAYLOAD):
                got += len(sock.recv(65536))
        return call, sock.close
    return make


def raw_stomp_caller(port: int, paths: pki.Paths,
                     method: str = "Host.ping2"):
    """A blocking STOMP peer: the server's cost without our client's."""
    def make():
        # Responses go to every subscriber of reply-to: one each.
        reply_to = f"r-{threading.get_ident()}"
        request = stomp.encode(stomp.Frame(
            "SEND", {"destination": "jms.topic.vdsm_requests",
                     "reply-to": reply_to},
            b'{"jsonrpc":"2.0","method":"%s","params":{},"id":1}'
            % method.encode()))
        sock = _tls_socket(port, paths)
        sock.sendall(stomp.encode(stomp.Frame(
            "CONNECT", {"accept-version": "1.2"})))
        sock.sendall(stomp.encode(stomp.Frame(
            "SUBSCRIBE", {"destination": reply_to, "id": "1"})))
        parser = stomp.Parser()
        while not parser.feed(sock.recv(65536)):
            pass

        def call():
            sock.sendall(request)
            while not parser.feed(sock.recv(65536)):
                pass
        return call, sock.close
    return make


VM_PREFIX = "rpcbench-"


def bios_xml(vm_id: str) -> str:
    return f"""<domain type='kvm'>
  <name>{VM_PREFIX}{vm_id[:8]}</name><uuid>{vm_id}</uuid>
  <memory unit='MiB'>32</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features><devices/>
</domain>"""


def start_vms(daemon: Vdsmd, count: int) -> None:
    """``count`` VMs Up, and sampled (Host.getAllVmStats lists them)."""
    with daemon.client(timeout=120) as cli:
        events = StatusEvents(cli.subscribe())
        ids = [str(uuid.uuid4()) for _ in range(count)]
        for vm_id in ids:
            cli.VM.create(vmID=vm_id, vmParams={"xml": bios_xml(vm_id)})
        for vm_id in ids:
            events.wait(vm_id, "Up", timeout=300)
        deadline = time.monotonic() + 60
        while len(cli.Host.getAllVmStats()) < count:
            if time.monotonic() > deadline:
                raise RuntimeError("VMs not sampled in 60 s")
            time.sleep(0.5)


def row(conns: int, name: str, r: dict) -> None:
    print(f"{conns:>5} {name:>14} {r['rate']:>9.0f} {r['p50']:>8.2f} "
          f"{r['p99']:>8.2f}")


def ratio(conns: int, name: str, r: dict, base: dict) -> None:
    print(f"{conns:>5} {'ratio':>14} {name}: "
          f"{r['rate'] / base['rate']:.2f}x "
          f"the echo's calls/s, p50 {r['p50'] / base['p50']:.2f}x, "
          f"p99 {r['p99'] / base['p99']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--vms", type=int, default=100)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="rpc-bench-")
    paths = pki.Paths(os.path.join(root, "pki"))
    pki.create(paths, hostname="localhost")
    os.makedirs(os.path.join(root, "vdsmd"))
    # Production settings: no strict schema checks of results, INFO logs.
    daemon = Vdsmd(os.path.join(root, "vdsmd"), paths,
                   {"vars": {"strict_schema": "false"},
                    "logging": {"log_level": "INFO"}})
    daemon.start()
    daemon.wait_ready()
    echo = subprocess.Popen(
        [sys.executable, "-c", ECHO_SERVER, paths.cert, paths.key,
         paths.ca_cert], stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=LIB))
    try:
        echo_port = int(echo.stdout.readline())
        print(f"{'conns':>5} {'server':>14} {'calls/s':>9} {'p50 ms':>8} "
              f"{'p99 ms':>8}")
        for conns in (1, 16):
            ours = measure(vdsm_caller(daemon), conns, args.seconds)
            raw = measure(raw_stomp_caller(daemon.port, paths), conns,
                          args.seconds)
            base = measure(echo_caller(echo_port, paths), conns,
                           args.seconds)
            for name, r in (("client", ours), ("raw-stomp", raw),
                            ("tls-echo", base)):
                row(conns, name, r)
            for name, r in (("client", ours), ("raw-stomp", raw)):
                ratio(conns, name, r, base)
        if args.vms:
            start_vms(daemon, args.vms)
            conns = 16
            base = measure(echo_caller(echo_port, paths), conns,
                           args.seconds)
            row(conns, "tls-echo", base)
            for method in ("Host.getStats", "Host.getAllVmStats"):
                r = measure(raw_stomp_caller(daemon.port, paths, method),
                            conns, args.seconds)
                name = f"{method[5:]}@{args.vms}"
                row(conns, name, r)
                ratio(conns, name, r, base)
    finally:
        echo.kill()
        echo.wait()
        echo.stdout.close()
        daemon.stop()
        if args.vms:
            cleanup_domains(VM_PREFIX)


if __name__ == "__main__":
    main()
