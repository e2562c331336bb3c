"""Benchmark: Host.getStats over the wire vs reading /proc directly.

    cd tests && PYTHONPATH=../lib /opt/vdsm-venv/bin/python \
        perf/host_stats_bench.py [--calls N]

Starts a real vdsmd (TLS, its own PKI and config in a temporary
directory), then times N Host.getStats calls from one client against N
direct reads and parses of /proc/stat and /proc/meminfo in this process,
the least work any stats answer needs. Prints both rates and their ratio;
the cost above the baseline is the RPC stack (TLS, STOMP, JSON, schema
checks, executor hop), since getStats itself only reads the samples
taken in the background.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from fixtures.vdsmd import Vdsmd  # noqa: E402

from vdsm import pki  # noqa: E402
from vdsm.host import procfs  # noqa: E402


# Best of a few rounds: the machine is shared, the minimum is the cost.
ROUNDS = 3


def direct(calls: int) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.monotonic()
        for _ in range(calls):
            procfs.parse_stat(procfs.read("/proc/stat"))
            procfs.parse_meminfo(procfs.read("/proc/meminfo"))
        best = min(best, time.monotonic() - start)
    return best


def over_rpc(daemon: Vdsmd, calls: int) -> float:
    with daemon.client() as cli:
        cli.Host.getStats()                 # warm up: connection, caches
        best = float("inf")
        for _ in range(ROUNDS):
            start = time.monotonic()
            for _ in range(calls):
                cli.Host.getStats()
            best = min(best, time.monotonic() - start)
        return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--strict", action="store_true",
                        help="keep the daemon's strict result checks on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="host-stats-bench-") as root:
        paths = pki.Paths(os.path.join(root, "pki"))
        pki.create(paths, hostname="localhost")
        strict = "true" if args.strict else "false"
        os.makedirs(os.path.join(root, "vdsmd"))
        daemon = Vdsmd(os.path.join(root, "vdsmd"), paths,
                       {"vars": {"strict_schema": strict},
                        "logging": {"log_level": "INFO"}})
        daemon.start()
        try:
            daemon.wait_ready()
            baseline = direct(args.calls)
            rpc = over_rpc(daemon, args.calls)
        finally:
            daemon.stop()
    print(f"calls={args.calls} strict_schema={strict}")
    print(f"direct /proc/stat+meminfo: {args.calls / baseline:10.0f}/s "
          f"({baseline / args.calls * 1e6:8.1f} us each)")
    print(f"Host.getStats over RPC:    {args.calls / rpc:10.0f}/s "
          f"({rpc / args.calls * 1e6:8.1f} us each)")
    print(f"ratio rpc/direct: {rpc / baseline:.1f}x")


if __name__ == "__main__":
    main()
