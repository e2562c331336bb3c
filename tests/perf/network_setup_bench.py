"""setupNetworks adding and removing 50, 100, 200 bridged networks in one
call, beside the same links made by a plain ``ip -batch`` in the same run.

    cd tests && sudo PYTHONPATH=../lib python perf/network_setup_bench.py \
        [--sizes 50,100,200] [--rounds 3] [--vdsmd]

As root, in a namespace made for the run (N veth pairs as NICs; the
machine's interfaces are never touched). Each network: a bridge named
``bnetI`` on NIC ``nicI`` with 198.18.I.1/24 (the benchmarking range) and
MTU 1500. Rows:

* ``configurator``: the network subsystem in-process (parse, validate,
  snapshot, plan, one privileged ip -batch, persistence with fsync);
* ``vdsmd`` (with --vdsmd): Host.setupNetworks through a real vdsmd over
  TLS, its privileged changes through a real supervdsmd (the production
  path);
* ``ip-batch``: the baseline, the same links by one ``ip -batch`` (add:
  bridge, MTU, port, address, up; remove: delete bridges, flush NICs).

The figure is the ratio of each row to the baseline, per size; the best
of ``--rounds`` rounds is kept.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from fixtures.network import Namespace  # noqa: E402
from vdsm.common.config import Config  # noqa: E402
from vdsm.network.configurator import Configurator  # noqa: E402
from vdsm.network.persistence import Store  # noqa: E402
from vdsm.supervdsm import caller  # noqa: E402


def networks(n: int) -> dict:
    return {f"bnet{i}": {"nic": f"nic{i}", "ipaddr": f"198.18.{i}.1",
                         "prefix": 24, "mtu": 1500} for i in range(n)}


def removals(n: int) -> dict:
    return {f"bnet{i}": {"remove": True} for i in range(n)}


def baseline_add(ns: Namespace, n: int) -> None:
    lines = []
    for i in range(n):
        lines += [f"link add name bnet{i} type bridge stp_state 0",
                  f"link set dev bnet{i} mtu 1500",
                  f"link set dev nic{i} master bnet{i}",
                  f"addr add 198.18.{i}.1/24 dev bnet{i}",
                  f"link set dev bnet{i} up"]
    ns.batch(lines)


def baseline_remove(ns: Namespace, n: int) -> None:
    ns.batch([f"link del dev bnet{i}" for i in range(n)])


def timed(func, *args) -> float:
    start = time.monotonic()
    func(*args)
    return time.monotonic() - start


def bench_configurator(ns: Namespace, n: int, workdir: str
                       ) -> tuple[float, float]:
    store = Store(os.path.join(workdir, f"netconf-{n}-{time.time()}"))
    conf = Configurator(store, caller.in_process(Config()), ns.name)
    add = timed(conf.setup_networks, networks(n), {}, {})
    assert ns.link(f"bnet{n - 1}") is not None
    remove = timed(conf.setup_networks, removals(n), {}, {})
    assert ns.link("bnet0") is None
    return add, remove


def bench_vdsmd(ns: Namespace, n: int, workdir: str) -> tuple[float, float]:
    from vdsm import pki
    from fixtures.supervdsm import Supervdsmd
    from fixtures.vdsmd import Vdsmd
    root = tempfile.mkdtemp(dir=workdir)
    paths = pki.Paths(os.path.join(root, "pki"))
    pki.create(paths, hostname="localhost")
    svdsm = Supervdsmd()
    svdsm.start()
    daemon = Vdsmd(root, paths, {
        "network": {"netns": ns.name, "privileged": "supervdsm"},
        "supervdsm": {"socket": svdsm.socket},
        "logging": {"log_level": "INFO"}})
    try:
        daemon.start()
        daemon.wait_ready()
        with daemon.client(timeout=600) as cli:
            add = timed(lambda: cli.Host.setupNetworks(
                networks=networks(n)))
            remove = timed(lambda: cli.Host.setupNetworks(
                networks=removals(n)))
    finally:
        if daemon.proc is not None:
            daemon.stop()
        svdsm.cleanup()
    return add, remove


def bench_baseline(ns: Namespace, n: int) -> tuple[float, float]:
    return timed(baseline_add, ns, n), timed(baseline_remove, ns, n)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="50,100,200")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--vdsmd", action="store_true",
                   help="also time Host.setupNetworks through a real vdsmd")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = ["configurator", "ip-batch"] + (["vdsmd"] if args.vdsmd else [])
    print(f"{'networks':>8} {'row':<13} {'add s':>8} {'remove s':>9} "
          f"{'add x':>7} {'remove x':>9}")
    with tempfile.TemporaryDirectory() as workdir:
        for n in sizes:
            ns = Namespace().create()
            try:
                ns.add_nics(*[f"nic{i}" for i in range(n)])
                best: dict[str, tuple[float, float]] = {}
                for _ in range(args.rounds):
                    for row in rows:
                        if row == "configurator":
                            t = bench_configurator(ns, n, workdir)
                        elif row == "vdsmd":
                            t = bench_vdsmd(ns, n, workdir)
                        else:
                            t = bench_baseline(ns, n)
                        old = best.get(row, (float("inf"), float("inf")))
                        best[row] = (min(old[0], t[0]), min(old[1], t[1]))
            finally:
                ns.delete()
            base = best["ip-batch"]
            for row in rows:
                add, remove = best[row]
                print(f"{n:>8} {row:<13} {add:>8.3f} {remove:>9.3f} "
                      f"{add / base[0]:>7.1f} {remove / base[1]:>9.1f}")


if __name__ == "__main__":
    main()
