"""Live migration between two real hosts (tests/fixtures/cluster.py).

A TCG guest with a disk on the shared POSIXFS domain and a NIC on a
bridge moves from host0 to host1 and back through VM.migrate; it keeps
running: its serial console answers on the new host and the counter it
keeps in memory goes on (it did not reboot). Then the failure paths: each
ends with exactly one running copy of the guest.

Real parts: two vdsmd/libvirtd/sanlock hosts in their own namespaces,
vdsm-to-vdsm JSON-RPC over TLS with the hosts' certificates, libvirt's
peer-to-peer migration over TLS, qemu's migration stream between the
hosts' addresses.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Iterator

import libvirt
import pytest

from vdsm import client

from cluster import migrating as m
from fixtures import cluster as cluster_mod
from fixtures.virt import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.root]

# The engine's "Minimal downtime" policy.
ENGINE_SCHEDULE = {
    "init": [{"name": "setDowntime", "params": ["100"]}],
    "stalling": [
        {"limit": 1, "action": {"name": "setDowntime", "params": ["150"]}},
        {"limit": 2, "action": {"name": "setDowntime", "params": ["200"]}},
        {"limit": 3, "action": {"name": "setDowntime", "params": ["300"]}},
        {"limit": 4, "action": {"name": "setDowntime", "params": ["400"]}},
        {"limit": 6, "action": {"name": "setDowntime", "params": ["500"]}},
        {"limit": -1, "action": {"name": "abort", "params": []}},
    ],
}

# A guest rewriting 24 MiB of random data in its memory, forever: at
# 4 MiB/s a pass takes 6 s, so only a long downtime converges.
DIRTY = "vdsm.dirty=24"
DIRTYING = "VDSM-TEST-DIRTYING"


@pytest.fixture(scope="module")
def hosts() -> Iterator[cluster_mod.Cluster]:
    cluster_mod.require()
    m.guest_dir()
    with cluster_mod.running(2, m.CONF) as c:
        for host in c:
            m.add_bridge(host)
        yield c


@pytest.fixture(scope="module")
def pool(hosts):
    return m.setup_pool(hosts)


class Events:
    """Every event of a host, in a thread."""

    def __init__(self, host: cluster_mod.Host) -> None:
        self.cli = host.client()
        self.sub = self.cli.subscribe()
        self.seen: list[tuple[str, dict]] = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                self.seen.append(self.sub.get(timeout=0.5))
            except client.TimeoutError:
                continue
            except client.Error:
                return

    def statuses(self, vm_id: str) -> list[str]:
        return [p[vm_id]["status"] for method, p in list(self.seen)
                if method == f"|virt|VM_status|{vm_id}"]

    def migration(self, vm_id: str) -> list[dict]:
        return [p[vm_id] for method, p in list(self.seen)
                if method == f"|virt|VM_migration_status|{vm_id}"]

    def close(self) -> None:
        self._stop = True
        self._thread.join(5)
        self.cli.close()


def start(host, vm_id, xml) -> None:
    with host.client() as cli:
        cli.VM.create(vmID=vm_id, vmParams={"xml": xml})
    m.wait_status(host, vm_id, "Up")


def migrate(src, dst, vm_id, **params) -> None:
    params.setdefault("dst", dst.address)
    with src.client() as cli:
        reply = cli.VM.migrate(vmID=vm_id, params=params)
    assert reply["progress"] == 0 and reply["postcopy"] is False


def error_code(call) -> int:
    with pytest.raises(client.ServerError) as e:
        call()
    return e.value.code


@pytest.fixture
def vm_id(hosts):
    vm = str(uuid.uuid4())
    yield vm
    m.destroy_everywhere(hosts, vm)


def test_migrate_and_back(hosts, pool, vm_id):
    src, dst = hosts[0], hosts[1]
    disk = m.new_disk(hosts, *pool)
    start(src, vm_id, m.vm_xml(vm_id, disk))
    console = m.Console(src, vm_id)
    before = console.ping(timeout=180)
    console.close()
    src_events, dst_events = m_events = (Events(src), Events(dst))
    try:
        migrate(src, dst, vm_id, method="online", tunneled="false",
                abortOnError="true", compressed="false",
                autoConverge="false", maxBandwidth=500, outgoingLimit=2,
                incomingLimit=2, convergenceSchedule=ENGINE_SCHEDULE,
                enableGuestEvents=True, encrypted=False,
                consoleAddress=dst.address)
        down = m.wait_status(src, vm_id, "Down")
        m.wait_status(dst, vm_id, "Up")
        with src.client() as cli:
            stats = cli.VM.getStats(vmID=vm_id)[0]
            assert (stats["exitCode"], stats["exitReason"]) == (0, 4)
            status = cli.VM.getMigrationStatus(vmID=vm_id)
        assert down["status"] == "Down"
        assert status["progress"] == 100 and status["postcopy"] is False
        assert isinstance(status.get("downtime"), int)
        # One running copy, on the destination; the source keeps its
        # defined, shut off domain until the engine destroys it.
        assert m.running_on(hosts, vm_id) == [dst.name]
        assert m.domain_state(src, vm_id) == libvirt.VIR_DOMAIN_SHUTOFF

        # The guest went on: same memory (the counter is higher, no new
        # boot), its console answers on the destination.
        console = m.Console(dst, vm_id)
        after = console.ping()
        assert after > before
        assert "VDSM-TEST-GUEST-READY" not in console.text
        console.close()

        # Its disk is the shared volume, prepared on the destination.
        conn = libvirt.open(dst.libvirt_uri)
        xml = conn.lookupByUUIDString(vm_id).XMLDesc(0)
        conn.close()
        assert disk["volumeID"] in xml and f"bridge='{m.BRIDGE}'" in xml

        wait_for(lambda: dst_events.statuses(vm_id)[-1:] == ["Up"], 30,
                 "destination Up event")
        assert dst_events.statuses(vm_id) == ["Migration Destination",
                                              "Up"]
        assert src_events.statuses(vm_id) == ["Migration Source", "Down"]
        progress = src_events.migration(vm_id)
        assert progress and progress[-1]["progress"] == 100
        assert isinstance(progress[-1]["downtime"], int)
        assert all(isinstance(p["progress"], int) and
                   p["postcopy"] is False for p in progress)
        assert [p["progress"] for p in progress] == sorted(
            p["progress"] for p in progress)
    finally:
        for e in m_events:
            e.close()

    # The engine destroys the source's copy; then back to host0.
    with src.client() as cli:
        cli.VM.destroy(vmID=vm_id)
    assert m.domain_state(src, vm_id) is None
    migrate(dst, src, vm_id)
    m.wait_status(dst, vm_id, "Down")
    m.wait_status(src, vm_id, "Up")
    assert m.running_on(hosts, vm_id) == [src.name]
    console = m.Console(src, vm_id)
    assert console.ping() > after
    console.close()


def test_cancel(hosts, pool, vm_id):
    src, dst = hosts[0], hosts[1]
    start(src, vm_id, m.vm_xml(vm_id, None, cmdline=DIRTY))
    console = m.Console(src, vm_id)
    console.ping(timeout=180)
    migrate(src, dst, vm_id, maxBandwidth=1)
    m.wait_status(dst, vm_id, "Migration Destination")
    with src.client() as cli:
        wait_for(lambda: cli.VM.getMigrationStatus(vmID=vm_id)[
            "progress"] > 0, 60, "migration progress")
        assert cli.Host.getStats()["outgoingVmMigrations"] == 1
        with dst.client() as dcli:
            assert dcli.Host.getStats()["incomingVmMigrations"] == 1
        assert cli.VM.migrateCancel(vmID=vm_id) is True
    m.wait_status(src, vm_id, "Up")
    with src.client() as cli:
        assert error_code(lambda: cli.VM.getMigrationStatus(
            vmID=vm_id)) == 47
        assert cli.Host.getStats()["outgoingVmMigrations"] == 0
    # The destination's VM was destroyed by the source.
    with dst.client() as cli:
        wait_for(lambda: vm_id not in cli.Host.getVMList(
            onlyUUID=True), 30, "destination VM gone")
    assert m.running_on(hosts, vm_id) == [src.name]
    console.ping()
    console.close()


def test_schedule_converges(hosts, pool, vm_id):
    """A guest dirtying memory faster than the bandwidth: only the
    schedule's longer downtime lets it switch over."""
    src, dst = hosts[0], hosts[1]
    start(src, vm_id, m.vm_xml(vm_id, None, cmdline=DIRTY))
    console = m.Console(src, vm_id)
    console.wait_for(DIRTYING)
    before = console.ping(timeout=180)
    console.close()
    migrate(src, dst, vm_id, maxBandwidth=4, convergenceSchedule={
        "init": [{"name": "setDowntime", "params": ["50"]}],
        "stalling": [
            {"limit": 1, "action": {"name": "setDowntime",
                                    "params": ["120"]}},
            {"limit": 2, "action": {"name": "setDowntime",
                                    "params": ["30000"]}},
            {"limit": 8, "action": {"name": "abort", "params": []}}]})
    # What libvirt was told, read from the source's libvirtd.
    seen: list[int] = []
    conn = libvirt.open(src.libvirt_uri)
    dom = conn.lookupByUUIDString(vm_id)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            value = dom.migrateGetMaxDowntime(0)
        except libvirt.libvirtError:
            break               # The domain left.
        if value is not None and (not seen or seen[-1] != value):
            seen.append(value)
        if dom.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF:
            break
        time.sleep(0.2)
    del dom                     # it holds the connection open
    conn.close()
    m.wait_status(src, vm_id, "Down")
    m.wait_status(dst, vm_id, "Up")
    # The init step, then the stalling steps: only the last let it switch
    # over. vdsm logs each once libvirt took it; the last one often ends
    # the migration before a look at libvirt can see it, the others were
    # seen there (after libvirt's default, 300).
    assert downtimes(src, vm_id) == [50, 120, 30000]
    assert [v for v in seen if v != 300] in ([50, 120], [50, 120, 30000]), \
        seen
    assert m.running_on(hosts, vm_id) == [dst.name]
    console = m.Console(dst, vm_id)
    assert console.ping() > before
    console.close()


def test_schedule_abort(hosts, pool, vm_id):
    src, dst = hosts[0], hosts[1]
    start(src, vm_id, m.vm_xml(vm_id, None, cmdline=DIRTY))
    console = m.Console(src, vm_id)
    console.wait_for(DIRTYING)
    console.ping(timeout=180)
    migrate(src, dst, vm_id, maxBandwidth=2, convergenceSchedule={
        "init": [{"name": "setDowntime", "params": ["10"]}],
        "stalling": [{"limit": 0, "action": {"name": "abort",
                                             "params": []}}]})
    m.wait_status(src, vm_id, "Up", timeout=300)
    with src.client() as cli:
        assert error_code(lambda: cli.VM.getMigrationStatus(
            vmID=vm_id)) == 12
    with dst.client() as cli:
        wait_for(lambda: vm_id not in cli.Host.getVMList(
            onlyUUID=True), 30, "destination VM gone")
    assert m.running_on(hosts, vm_id) == [src.name]
    console.ping()
    console.close()


def test_destination_refuses_unknown_network(hosts, pool, vm_id):
    src, dst = hosts[0], hosts[1]
    m.add_bridge(src, "vmbr-only0")
    try:
        start(src, vm_id, m.vm_xml(vm_id, None, bridge="vmbr-only0"))
        migrate(src, dst, vm_id)
        m.wait_status(src, vm_id, "Up")
        with src.client() as cli:
            assert error_code(lambda: cli.VM.getMigrationStatus(
                vmID=vm_id)) == 12
        with dst.client() as cli:
            wait_for(lambda: vm_id not in cli.Host.getVMList(
                onlyUUID=True), 30, "destination VM gone")
        assert m.running_on(hosts, vm_id) == [src.name]
    finally:
        m.destroy_everywhere(hosts, vm_id)
        src.run(["ip", "link", "del", "vmbr-only0"], check=False)


def test_destination_refuses_without_memory(hosts, pool, vm_id):
    """A destination that cannot give the VM its memory (here: it keeps
    a reserve larger than the machine) refuses with upstream's outOfMem;
    the guest stays where it was."""
    src, dst = hosts[0], hosts[1]
    dst.configure({"vars": {"host_mem_reserve": str(64 * 1024 * 1024)}})
    try:
        start(src, vm_id, m.vm_xml(vm_id, None))
        migrate(src, dst, vm_id)
        m.wait_status(src, vm_id, "Up")
        with src.client() as cli:
            assert error_code(lambda: cli.VM.getMigrationStatus(
                vmID=vm_id)) == 14
        with dst.client() as cli:
            assert vm_id not in cli.Host.getVMList(onlyUUID=True)
            assert cli.Host.getStats()["incomingVmMigrations"] == 0
        assert m.running_on(hosts, vm_id) == [src.name]
    finally:
        dst.configure({"vars": {"host_mem_reserve": "256"}})


def test_second_migrate_and_busy_destination(hosts, pool, vm_id):
    """A second migrate of a migrating VM is 51; a destination at its
    incoming limit answers 82 and the source waits for a slot."""
    src, dst = hosts[0], hosts[1]
    other = str(uuid.uuid4())
    try:
        start(src, vm_id, m.vm_xml(vm_id, None, cmdline=DIRTY))
        start(src, other, m.vm_xml(other, None))
        migrate(src, dst, vm_id, maxBandwidth=1, incomingLimit=1)
        m.wait_status(dst, vm_id, "Migration Destination")
        with src.client() as cli:
            assert error_code(lambda: cli.VM.migrate(
                vmID=vm_id, params={"dst": dst.address})) == 51
        migrate(src, dst, other, incomingLimit=1)
        # Queued: Migration Source on the source, nothing on the
        # destination while the first one holds the only slot.
        time.sleep(3)
        with dst.client() as cli:
            assert other not in cli.Host.getVMList(onlyUUID=True)
        with src.client() as cli:
            assert cli.VM.getStats(vmID=other)[0]["status"] == \
                "Migration Source"
            assert cli.Host.getStats()["outgoingVmMigrations"] == 2
            cli.VM.migrateCancel(vmID=vm_id)
        m.wait_status(src, vm_id, "Up")
        # The slot is free: the second goes.
        m.wait_status(src, other, "Down")
        m.wait_status(dst, other, "Up")
        assert m.running_on(hosts, other) == [dst.name]
        assert m.running_on(hosts, vm_id) == [src.name]
    finally:
        m.destroy_everywhere(hosts, other)


def test_destination_libvirtd_dies(hosts, pool, vm_id):
    src, dst = hosts[0], hosts[1]
    start(src, vm_id, m.vm_xml(vm_id, None, cmdline=DIRTY))
    console = m.Console(src, vm_id)
    console.ping(timeout=180)
    migrate(src, dst, vm_id, maxBandwidth=1)
    m.wait_status(dst, vm_id, "Migration Destination")
    with src.client() as cli:
        wait_for(lambda: cli.VM.getMigrationStatus(vmID=vm_id)[
            "progress"] > 0, 60, "migration progress")
    dst.kill_daemon("libvirtd")
    try:
        m.wait_status(src, vm_id, "Up")
        with src.client() as cli:
            assert error_code(lambda: cli.VM.getMigrationStatus(
                vmID=vm_id)) == 12
        console.ping()
    finally:
        dst.start_daemon("libvirtd")
    # Back, libvirtd drops the guest that never arrived.
    wait_for(lambda: m.running_on(hosts, vm_id) == [src.name], 60,
             "one copy")
    console.close()


def test_destination_vdsmd_dies(hosts, pool, vm_id):
    """libvirt goes on without the destination's vdsmd; its next vdsmd
    finds the guest that arrived meanwhile."""
    src, dst = hosts[0], hosts[1]
    start(src, vm_id, m.vm_xml(vm_id, None))
    console = m.Console(src, vm_id)
    before = console.ping(timeout=180)
    console.close()
    migrate(src, dst, vm_id, maxBandwidth=2)
    m.wait_status(dst, vm_id, "Migration Destination")
    dst.kill_daemon("vdsmd")
    try:
        m.wait_status(src, vm_id, "Down")
    finally:
        dst.start_daemon("vdsmd")
    m.wait_status(dst, vm_id, "Up")
    assert m.running_on(hosts, vm_id) == [dst.name]
    console = m.Console(dst, vm_id)
    assert console.ping() > before
    console.close()


def test_source_vdsmd_restarts(hosts, pool, vm_id):
    """The restarted source vdsmd finds libvirt's migration job (Migration
    Source), then reports what libvirt did: the guest on the destination
    (Down, exitReason 4) or still here (Up)."""
    src, dst = hosts[0], hosts[1]
    start(src, vm_id, m.vm_xml(vm_id, None))
    console = m.Console(src, vm_id)
    before = console.ping(timeout=180)
    console.close()
    migrate(src, dst, vm_id, maxBandwidth=2)
    m.wait_status(dst, vm_id, "Migration Destination")
    src.kill_daemon("vdsmd")
    src.start_daemon("vdsmd")

    def settled():
        with src.client() as cli:
            status = cli.VM.getStats(vmID=vm_id)[0]
        return status if status["status"] in ("Up", "Down") else None
    status = wait_for(settled, 300, "source settled", interval=0.5)
    where = m.running_on(hosts, vm_id)
    assert len(where) == 1
    if status["status"] == "Down":
        assert status["exitReason"] == 4
        m.wait_status(dst, vm_id, "Up")
        assert where == [dst.name]
    else:
        assert where == [src.name]
    console = m.Console(dst if where == [dst.name] else src, vm_id)
    assert console.ping() > before
    console.close()


def libvirt_flags(host: cluster_mod.Host, vm_id: str) -> int:
    """The flags of the host vdsmd's last migrateToURI3 of the VM."""
    with open(host.vdsm_log) as f:
        lines = [line for line in f if "MIGRATION LIBVIRT" in line and
                 f"vm={vm_id}" in line]
    assert lines, f"no migration of {vm_id} in {host.vdsm_log}"
    return int(lines[-1].rsplit("flags=", 1)[1].split()[0], 16)


def downtimes(host: cluster_mod.Host, vm_id: str) -> list[int]:
    """The max downtimes (ms) the host vdsmd set in libvirt for the VM,
    in order (its MIGRATION DOWNTIME lines, written once libvirt took
    each)."""
    with open(host.vdsm_log) as f:
        return [int(line.rsplit("ms=", 1)[1].split()[0]) for line in f
                if "MIGRATION DOWNTIME" in line and f"vm={vm_id}" in line]


def moved(hosts, src, dst, vm_id, before: int) -> None:
    """The guest left src and runs on dst, its memory intact."""
    m.wait_status(src, vm_id, "Down")
    m.wait_status(dst, vm_id, "Up")
    assert m.running_on(hosts, vm_id) == [dst.name]
    console = m.Console(dst, vm_id)
    assert console.ping() > before
    assert "VDSM-TEST-GUEST-READY" not in console.text
    console.close()


UFFD_SYSCTL = "/proc/sys/vm/unprivileged_userfaultfd"


@pytest.fixture
def userfaultfd() -> Iterator[None]:
    """Post-copy needs userfaultfd in the destination's qemu, which runs
    unprivileged: vm.unprivileged_userfaultfd = 1 for the test (qemu 7.2
    has no /dev/userfaultfd support), the old value restored after it.
    The sysctl is the machine's, not a namespace's."""
    with open(UFFD_SYSCTL) as f:
        old = f.read().strip()
    try:
        with open(UFFD_SYSCTL, "w") as f:
            f.write("1")
    except OSError as e:
        pytest.skip(f"cannot allow userfaultfd for qemu: {e}")
    try:
        yield
    finally:
        with open(UFFD_SYSCTL, "w") as f:
            f.write(old)


# Only a switch to post-copy lets the dirtying guest converge: at 4 MiB/s
# a pass over its 24 MiB outlasts any downtime below 6 s, and the
# schedule ends in abort if libvirt refuses the switch.
POSTCOPY_SCHEDULE = {
    "init": [{"name": "setDowntime", "params": ["50"]}],
    "stalling": [
        {"limit": 1, "action": {"name": "postcopy", "params": []}},
        {"limit": 6, "action": {"name": "abort", "params": []}}]}


def postcopy_started(host: cluster_mod.Host, vm_id: str) -> bool:
    with open(host.vdsm_log) as f:
        return any("MIGRATION POSTCOPY" in line and f"vm={vm_id}" in line
                   for line in f)


def test_postcopy(hosts, pool, vm_id, userfaultfd):
    """A guest dirtying memory faster than the bandwidth converges through
    the schedule's post-copy step (libvirt's migrateStartPostCopy on a
    VIR_MIGRATE_POSTCOPY migration): it runs on the destination while the
    rest of its memory follows; the events say post-copy meanwhile; the
    destination stays Migration Destination until the last page came, as
    upstream's."""
    src, dst = hosts[0], hosts[1]
    start(src, vm_id, m.vm_xml(vm_id, None, cmdline=DIRTY))
    console = m.Console(src, vm_id)
    console.wait_for(DIRTYING)
    before = console.ping(timeout=180)
    console.close()
    src_events, dst_events = both = (Events(src), Events(dst))
    try:
        migrate(src, dst, vm_id, maxBandwidth=4,
                convergenceSchedule=POSTCOPY_SCHEDULE)
        moved(hosts, src, dst, vm_id, before)
        assert libvirt_flags(src, vm_id) & libvirt.VIR_MIGRATE_POSTCOPY
        assert postcopy_started(src, vm_id)
        assert downtimes(src, vm_id) == [50]
        with src.client() as cli:
            stats = cli.VM.getStats(vmID=vm_id)[0]
            assert (stats["exitCode"], stats["exitReason"]) == (0, 4)
            status = cli.VM.getMigrationStatus(vmID=vm_id)
        assert status["progress"] == 100
        # The engine's view: progress events, post-copy ones after the
        # switch, then the last one (100).
        wait_for(lambda: any(p["progress"] == 100
                             for p in src_events.migration(vm_id)), 30,
                 "last migration event")
        progress = src_events.migration(vm_id)
        flags = [p["postcopy"] for p in progress]
        assert True in flags and flags.index(True) > 0, progress
        assert False not in flags[flags.index(True):], progress
        assert all(isinstance(p["progress"], int) for p in progress)
        wait_for(lambda: dst_events.statuses(vm_id)[-1:] == ["Up"], 30,
                 "destination Up event")
        assert dst_events.statuses(vm_id) == ["Migration Destination",
                                              "Up"]
        assert src_events.statuses(vm_id) == ["Migration Source", "Down"]
    finally:
        for e in both:
            e.close()


def test_encrypted(hosts, pool, vm_id):
    """encrypted: qemu's own TLS (VIR_MIGRATE_TLS) with the hosts'
    certificates (qemu.conf migrate_tls_x509_cert_dir)."""
    src, dst = hosts[0], hosts[1]
    start(src, vm_id, m.vm_xml(vm_id, None))
    console = m.Console(src, vm_id)
    before = console.ping(timeout=180)
    console.close()
    migrate(src, dst, vm_id, encrypted=True, maxBandwidth=500)
    moved(hosts, src, dst, vm_id, before)
    assert libvirt_flags(src, vm_id) & libvirt.VIR_MIGRATE_TLS


def test_parallel(hosts, pool, vm_id):
    """parallel: libvirt's multifd migration over N connections."""
    src, dst = hosts[0], hosts[1]
    start(src, vm_id, m.vm_xml(vm_id, None))
    console = m.Console(src, vm_id)
    before = console.ping(timeout=180)
    console.close()
    migrate(src, dst, vm_id, parallel=2, maxBandwidth=500)
    moved(hosts, src, dst, vm_id, before)
    assert libvirt_flags(src, vm_id) & libvirt.VIR_MIGRATE_PARALLEL
