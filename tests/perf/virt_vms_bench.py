"""Benchmark: VM stats and VM creation through vdsmd vs raw libvirt.

    cd tests && PYTHONPATH=../lib /opt/vdsm-venv/bin/python \
        perf/virt_vms_bench.py [--counts 1,10,50,100] [--creates 5]

Starts a real vdsmd (TLS, own PKI and config in a temporary directory),
then:

1. For each count of running VMs (BIOS-only KVM guests of 32 MiB that wait
   for a boot device), times Host.getAllVmStats over the wire beside one
   raw bulk ``virConnectGetAllDomainStats`` (NOWAIT) call made in this
   process, the libvirt work a sample costs. vdsmd answers from its last
   samples, so the ratio shows the RPC stack plus shaping against the one
   libvirt call it replaces.
2. At the largest count, vdsmd's RSS and its CPU use over a window of
   idle sampling.
3. VM.create until the Up event, beside ``virsh create`` of the same XML.

All domains are named ``vdsmbench-*`` and removed at the end, even on
failure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import libvirt  # noqa: E402

from fixtures.vdsmd import Vdsmd  # noqa: E402
from fixtures.virt import StatusEvents, cleanup_domains  # noqa: E402

from vdsm import pki  # noqa: E402
from vdsm.virt import sampling  # noqa: E402

PREFIX = "vdsmbench-"
ROUNDS = 5
CALLS = 20
SAMPLE_INTERVAL = 2


def bios_xml(vm_id: str, name: str) -> str:
    return f"""<domain type='kvm'>
  <name>{name}</name><uuid>{vm_id}</uuid>
  <memory unit='MiB'>32</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features><devices/>
</domain>"""


def best_per_call(func, calls: int = CALLS) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.monotonic()
        for _ in range(calls):
            func()
        best = min(best, (time.monotonic() - start) / calls)
    return best


def add_vms(cli, events: StatusEvents, vms: list[str], count: int) -> None:
    new = []
    while len(vms) + len(new) < count:
        vm_id = str(uuid.uuid4())
        cli.VM.create(vmID=vm_id, vmParams={
            "xml": bios_xml(vm_id, f"{PREFIX}{vm_id[:8]}")})
        new.append(vm_id)
    for vm_id in new:
        events.wait(vm_id, "Up", timeout=300)
    vms.extend(new)


def stats_table(daemon: Vdsmd, counts: list[int]) -> None:
    conn = libvirt.open("qemu:///system")
    vms: list[str] = []
    try:
        with daemon.client(timeout=120) as cli:
            events = StatusEvents(cli.subscribe())
            print("vms  getAllVmStats_ms  raw_bulk_stats_ms  "
                  "getAllVmStats/raw")
            for count in counts:
                add_vms(cli, events, vms, count)
                time.sleep(2 * SAMPLE_INTERVAL + 0.5)
                n = len(cli.Host.getAllVmStats())
                assert n >= count, (n, count)
                rpc = best_per_call(cli.Host.getAllVmStats)
                raw = best_per_call(lambda: conn.getAllDomainStats(
                    sampling.STATS, sampling.FLAGS))
                print(f"{count:3d}  {rpc * 1000:16.2f}  {raw * 1000:17.2f}"
                      f"  {rpc / raw:.3g}")
            usage(daemon, len(vms))
    finally:
        conn.close()


def usage(daemon: Vdsmd, count: int, window: float = 30.0) -> None:
    assert daemon.proc is not None
    pid = daemon.proc.pid
    tick = os.sysconf("SC_CLK_TCK")
    before = _cpu_ticks(pid)
    time.sleep(window)
    cpu = (_cpu_ticks(pid) - before) / tick / window * 100
    with open(f"/proc/{pid}/status") as f:
        rss = next(line.split()[1] for line in f
                   if line.startswith("VmRSS:"))
    print(f"vdsmd at {count} VMs: rss={int(rss) // 1024} MiB "
          f"cpu={cpu:.1f}% (over {window:.0f} s, sampling every "
          f"{SAMPLE_INTERVAL} s)")


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def create_table(daemon: Vdsmd, creates: int, tmp: str) -> None:
    vdsm_times, virsh_times = [], []
    with daemon.client(timeout=120) as cli:
        events = StatusEvents(cli.subscribe())
        for _ in range(creates):
            vm_id = str(uuid.uuid4())
            xml = bios_xml(vm_id, f"{PREFIX}c-{vm_id[:8]}")
            start = time.monotonic()
            cli.VM.create(vmID=vm_id, vmParams={"xml": xml})
            events.wait(vm_id, "Up")
            vdsm_times.append(time.monotonic() - start)
            cli.VM.destroy(vmID=vm_id)

            vm_id = str(uuid.uuid4())
            path = os.path.join(tmp, "virsh.xml")
            with open(path, "w") as f:
                f.write(bios_xml(vm_id, f"{PREFIX}v-{vm_id[:8]}"))
            start = time.monotonic()
            subprocess.run(["virsh", "-q", "create", path], check=True,
                           stdout=subprocess.DEVNULL)
            virsh_times.append(time.monotonic() - start)
            subprocess.run(["virsh", "-q", "destroy", vm_id], check=True,
                           stdout=subprocess.DEVNULL)
    vdsm_best, virsh_best = min(vdsm_times), min(virsh_times)
    print(f"create to Up: VM.create={vdsm_best * 1000:.0f} ms "
          f"virsh create={virsh_best * 1000:.0f} ms "
          f"ratio={vdsm_best / virsh_best:.2f} (best of {creates})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,10,50,100")
    parser.add_argument("--creates", type=int, default=5)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    with tempfile.TemporaryDirectory(prefix="virt-bench-") as root:
        paths = pki.Paths(os.path.join(root, "pki"))
        pki.create(paths, hostname="localhost")
        os.makedirs(os.path.join(root, "vdsmd"))
        daemon = Vdsmd(os.path.join(root, "vdsmd"), paths, {
            "vars": {"strict_schema": "false",
                     "vm_sample_interval": str(SAMPLE_INTERVAL)},
            "logging": {"log_level": "INFO"}})
        daemon.start()
        try:
            daemon.wait_ready()
            create_table(daemon, args.creates, root)
            stats_table(daemon, counts)
        finally:
            daemon.stop()
            cleanup_domains(PREFIX)


if __name__ == "__main__":
    main()
