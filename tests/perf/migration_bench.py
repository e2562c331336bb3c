"""Benchmark: live migration through VM.migrate vs raw ``virsh migrate``.

    cd tests && PYTHONPATH=../lib /opt/vdsm-venv/bin/python \
        perf/migration_bench.py [--rounds 3] [--memory 512] [--dirty 16]

Brings up two hosts (tests/fixtures/cluster.py), then for an idle guest of
``--memory`` MiB and one rewriting ``--dirty`` MiB of its memory forever
(the test guest's vdsm.dirty=N), migrates back and forth ``--rounds``
times each way:

* through vdsm: VM.migrate on the source vdsmd (which asks the
  destination's with VM.migrationCreate, then runs libvirt's p2p
  migration); total = from the call to the source's Down event; the
  downtime is getMigrationStatus's (libvirt's completed job stats); the
  engine's VM.destroy of the source's copy is not counted;
* raw: ``virsh migrate --live --p2p --persistent --unsafe`` of a twin
  guest (same XML, defined in libvirt directly) between the same two
  libvirtds; total = the virsh command; downtime from ``virsh domjobinfo
  --completed``.

Same bandwidth (``--bandwidth`` MiB/s) and the same maximum downtime
(libvirt's default, 300 ms, given to vdsm as its schedule's init step) on
both sides. Prints medians and the vdsm/raw ratios. Everything is removed
at the end (the cluster's down).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import libvirt  # noqa: E402

from cluster import migrating as m  # noqa: E402
from fixtures import cluster as cluster_mod  # noqa: E402
from fixtures.virt import StatusEvents  # noqa: E402

DOWNTIME_MS = 300


def virsh(host: cluster_mod.Host, *args: str, timeout: float = 600
          ) -> str:
    return subprocess.run(["virsh", "-c", host.libvirt_uri, *args],
                          check=True, capture_output=True, text=True,
                          timeout=timeout).stdout


def wait_guest(host: cluster_mod.Host, vm_id: str, dirty: bool) -> None:
    console = m.Console(host, vm_id)
    if dirty:
        console.wait_for("VDSM-TEST-DIRTYING")
    console.ping(timeout=300)
    console.close()


def vdsm_round(src, dst, vm_id: str, bandwidth: int) -> tuple[float, int]:
    with src.client() as cli:
        events = StatusEvents(cli.subscribe())
        start = time.monotonic()
        cli.VM.migrate(vmID=vm_id, params={
            "dst": dst.address, "maxBandwidth": bandwidth,
            "convergenceSchedule": {
                "init": [{"name": "setDowntime",
                          "params": [str(DOWNTIME_MS)]}],
                "stalling": []}})
        events.wait(vm_id, "Down", timeout=600)
        total = time.monotonic() - start
        downtime = cli.VM.getMigrationStatus(vmID=vm_id).get("downtime")
        cli.VM.destroy(vmID=vm_id)        # the engine's step
    m.wait_status(dst, vm_id, "Up")
    return total, int(downtime if downtime is not None else -1)


def raw_round(src, dst, name: str, bandwidth: int) -> tuple[float, int]:
    start = time.monotonic()
    virsh(src, "migrate", "--live", "--p2p", "--persistent", "--unsafe",
          "--bandwidth", str(bandwidth), "--migrateuri",
          f"tcp://{dst.address}", name, dst.libvirt_tls_uri)
    total = time.monotonic() - start
    info = virsh(src, "domjobinfo", "--completed", name)
    found = re.search(r"Total downtime:\s+(\d+)", info)
    virsh(src, "undefine", name)
    return total, int(found.group(1)) if found else -1


def bench(hosts, memory: int, dirty: int, rounds: int, bandwidth: int
          ) -> dict[str, list[tuple[float, int]]]:
    cmdline = f"vdsm.dirty={dirty}" if dirty else ""
    vm_id, twin = str(uuid.uuid4()), str(uuid.uuid4())
    a, b = hosts[0], hosts[1]
    with a.client() as cli:
        events = StatusEvents(cli.subscribe())
        cli.VM.create(vmID=vm_id, vmParams={"xml": m.vm_xml(
            vm_id, None, memory_mib=memory, bridge=None, cmdline=cmdline)})
        events.wait(vm_id, "Up", timeout=300)
    xml = m.vm_xml(twin, None, memory_mib=memory, bridge=None,
                   cmdline=cmdline)
    path = os.path.join(a.root, "twin.xml")
    with open(path, "w") as f:
        f.write(xml)
    virsh(a, "define", path)
    virsh(a, "start", f"{m.PREFIX}{twin[:8]}")
    wait_guest(a, vm_id, bool(dirty))
    wait_guest(a, twin, bool(dirty))
    results: dict[str, list[tuple[float, int]]] = {"vdsm": [], "raw": []}
    where = {"vdsm": (a, b), "raw": (a, b)}
    for _ in range(rounds * 2):
        src, dst = where["vdsm"]
        results["vdsm"].append(vdsm_round(src, dst, vm_id, bandwidth))
        where["vdsm"] = (dst, src)
        src, dst = where["raw"]
        results["raw"].append(raw_round(src, dst, f"{m.PREFIX}{twin[:8]}",
                                        bandwidth))
        where["raw"] = (dst, src)
    m.destroy_everywhere(hosts, vm_id)
    for host in hosts:
        conn = libvirt.open(host.libvirt_uri)
        try:
            dom = conn.lookupByUUIDString(twin)
            dom.destroy()
            dom.undefine()
        except libvirt.libvirtError:
            pass
        finally:
            conn.close()
    return results


def report(label: str, results: dict[str, list[tuple[float, int]]]) -> None:
    med = {k: (statistics.median(t for t, _ in v),
               statistics.median(d for _, d in v))
           for k, v in results.items()}
    print(f"{label}:")
    for k in ("vdsm", "raw"):
        runs = ", ".join(f"{t:.2f}s/{d}ms" for t, d in results[k])
        print(f"  {k:4}  total {med[k][0]:6.2f} s  downtime {med[k][1]:5.0f}"
              f" ms  ({runs})")
    raw_t, raw_d = med["raw"]
    print(f"  ratio vdsm/raw: total {med['vdsm'][0] / raw_t:.2f}x, "
          f"downtime "
          + (f"{med['vdsm'][1] / raw_d:.2f}x" if raw_d > 0 else "n/a"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3,
                        help="migrations each way per guest and path")
    parser.add_argument("--memory", type=int, default=512, help="MiB")
    parser.add_argument("--dirty", type=int, default=16,
                        help="MiB the dirtying guest rewrites")
    parser.add_argument("--bandwidth", type=int, default=1000,
                        help="MiB/s, both paths")
    args = parser.parse_args()
    m.guest_dir()
    with cluster_mod.running(2, m.CONF) as hosts:
        print(f"2 hosts up; {args.memory} MiB guests, bandwidth "
              f"{args.bandwidth} MiB/s, max downtime {DOWNTIME_MS} ms, "
              f"{args.rounds * 2} migrations per path")
        report("idle guest", bench(hosts, args.memory, 0, args.rounds,
                                   args.bandwidth))
        report(f"dirtying guest ({args.dirty} MiB rewritten)",
               bench(hosts, args.memory, args.dirty, args.rounds,
                     args.bandwidth))


if __name__ == "__main__":
    main()
