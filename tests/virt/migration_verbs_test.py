"""Migration verbs on one host: refusals, a destination that never
answers, cancel, status, counts. Nothing here needs a second host (the
migrations between hosts are in tests/cluster/migration_test.py).

The "destination" is a real TCP listener of this test: it accepts and
never speaks (a host whose vdsm hangs), or a closed port (no vdsm).
"""

from __future__ import annotations

import socket
import uuid

import libvirt
import pytest

from vdsm import client

from fixtures.virt import StatusEvents, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.root]


@pytest.fixture
def silent_peer():
    """host:port of a listener that accepts and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    yield f"127.0.0.1:{srv.getsockname()[1]}"
    srv.close()


@pytest.fixture
def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"127.0.0.1:{port}"


@pytest.fixture
def vdsmd(vdsmd_factory, guests):
    return vdsmd_factory({"vars": {"vm_sample_interval": "1",
                                   "migration_monitor_interval": "1"}})


def start_vm(cli, guests, events) -> str:
    vm_id = str(uuid.uuid4())
    cli.VM.create(vmID=vm_id, vmParams={
        "xml": guests.bios_xml(vm_id, domain_type="qemu")})
    events.wait(vm_id, "Up")
    return vm_id


def code_of(call) -> int:
    with pytest.raises(client.ServerError) as e:
        call()
    return e.value.code


def running_in_libvirt(vm_id: str) -> bool:
    conn = libvirt.open("qemu:///system")
    try:
        return conn.lookupByUUIDString(vm_id).state()[0] == \
            libvirt.VIR_DOMAIN_RUNNING
    finally:
        conn.close()


def test_refusals_leave_the_vm_running(vdsmd, guests, closed_port):
    with vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        # Unknown VM: upstream's noVM.
        assert code_of(lambda: cli.VM.migrate(
            vmID=str(uuid.uuid4()), params={"dst": closed_port})) == 1
        vm_id = start_vm(cli, guests, events)
        # Garbage schedule or parameters: 12, nothing started.
        for bad in ({"dst": closed_port, "convergenceSchedule": "fast"},
                    {"dst": closed_port, "convergenceSchedule": {
                        "init": [{"name": "setDowntime",
                                  "params": ["soon"]}]}},
                    {"dst": closed_port, "convergenceSchedule": {
                        "stalling": [{"limit": 1, "action": {
                            "name": "explode", "params": []}}]}},
                    {"dst": "no host:1"},
                    {"dst": closed_port, "maxBandwidth": "fast"}):
            assert code_of(lambda: cli.VM.migrate(vmID=vm_id,
                                                  params=bad)) == 12
        # Schema-level garbage (a list for params) is the schema's.
        assert code_of(lambda: cli.VM.migrate(vmID=vm_id,
                                              params=["x"])) == -32602
        # Nothing migrates: cancel 47, change params 81.
        assert code_of(lambda: cli.VM.migrateCancel(vmID=vm_id)) == 47
        assert code_of(lambda: cli.VM.migrateChangeParams(
            vmID=vm_id, params={"maxBandwidth": 10})) == 81
        assert cli.VM.getMigrationStatus(vmID=vm_id) == {
            "progress": 0, "postcopy": False}
        assert events.statuses(vm_id) == ["Powering up", "Up"]
        assert cli.VM.getStats(vmID=vm_id)[0]["status"] == "Up"
        assert running_in_libvirt(vm_id)

        # A Down VM: noVM too.
        conn = libvirt.open("qemu:///system")
        conn.lookupByUUIDString(vm_id).destroy()
        conn.close()
        events.wait(vm_id, "Down")
        assert code_of(lambda: cli.VM.migrate(
            vmID=vm_id, params={"dst": closed_port})) == 1
        cli.VM.destroy(vmID=vm_id)


def test_unreachable_destination(vdsmd, guests, closed_port):
    with vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = start_vm(cli, guests, events)
        reply = cli.VM.migrate(vmID=vm_id, params={"dst": closed_port})
        assert reply == {"progress": 0, "postcopy": False}
        events.wait(vm_id, "Migration Source")
        events.wait(vm_id, "Up")
        # The migration failed: upstream's migrateErr.
        assert code_of(lambda: cli.VM.getMigrationStatus(vmID=vm_id)) == 12
        assert running_in_libvirt(vm_id)
        assert events.statuses(vm_id) == ["Powering up", "Up",
                                          "Migration Source", "Up"]
        # And it may migrate again.
        cli.VM.migrate(vmID=vm_id, params={"dst": closed_port})
        events.wait(vm_id, "Migration Source")
        events.wait(vm_id, "Up")
        cli.VM.destroy(vmID=vm_id)


def test_cancel_while_the_destination_hangs(vdsmd, guests, silent_peer):
    with vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = start_vm(cli, guests, events)
        cli.VM.migrate(vmID=vm_id, params={"dst": silent_peer,
                                           "outgoingLimit": 1})
        events.wait(vm_id, "Migration Source")
        # A second migrate of the same VM: upstream's 51.
        assert code_of(lambda: cli.VM.migrate(
            vmID=vm_id, params={"dst": silent_peer})) == 51
        # While it migrates: counted, progress in its stats, params
        # accepted.
        host = cli.Host.getStats()
        assert host["outgoingVmMigrations"] == 1
        assert host["incomingVmMigrations"] == 0
        assert host["vmMigrating"] == 1
        stats = cli.VM.getStats(vmID=vm_id)[0]
        assert stats["status"] == "Migration Source"
        assert stats["migrationProgress"] == 0
        assert cli.VM.getMigrationStatus(vmID=vm_id)["progress"] == 0
        assert cli.VM.migrateChangeParams(
            vmID=vm_id, params={"maxBandwidth": 20}) is True

        assert cli.VM.migrateCancel(vmID=vm_id) is True
        events.wait(vm_id, "Up", timeout=30)
        assert code_of(lambda: cli.VM.getMigrationStatus(vmID=vm_id)) == 47
        assert code_of(lambda: cli.VM.migrateCancel(vmID=vm_id)) == 47
        assert running_in_libvirt(vm_id)
        host = cli.Host.getStats()
        assert (host["outgoingVmMigrations"], host["vmMigrating"]) == (0, 0)
        assert "migrationProgress" not in cli.VM.getStats(vmID=vm_id)[0]
        cli.VM.destroy(vmID=vm_id)


def test_destroy_during_migration(vdsmd, guests, silent_peer):
    with vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = start_vm(cli, guests, events)
        cli.VM.migrate(vmID=vm_id, params={"dst": silent_peer})
        events.wait(vm_id, "Migration Source")
        assert cli.VM.destroy(vmID=vm_id) is True
        wait_for(lambda: vm_id not in [
            v["vmId"] for v in cli.Host.getVMList()], 30, "VM gone")
        assert cli.Host.getStats()["outgoingVmMigrations"] == 0


def test_destination_refuses_what_it_has_no_memory_for(vdsmd, guests):
    """VM.migrationCreate (the source vdsm's call) of a VM needing more
    memory than this host can give: upstream's outOfMem (14), nothing
    registered, the incoming slot free again."""
    with vdsmd.client() as cli:
        vm_id = str(uuid.uuid4())
        huge = guests.bios_xml(vm_id, memory_mib=64 * 1024 * 1024,
                               domain_type="qemu")
        assert code_of(lambda: cli.VM.migrationCreate(
            vmID=vm_id, params={"vmId": vm_id, "xml": huge},
            incomingLimit=1)) == 14
        assert vm_id not in cli.Host.getVMList(onlyUUID=True)
        assert cli.Host.getStats()["incomingVmMigrations"] == 0
        conn = libvirt.open("qemu:///system")
        try:
            with pytest.raises(libvirt.libvirtError):
                conn.lookupByUUIDString(vm_id)
        finally:
            conn.close()
        # The one incoming slot is free: a VM that fits is taken.
        small = guests.bios_xml(vm_id, domain_type="qemu")
        created = cli.VM.migrationCreate(
            vmID=vm_id, params={"vmId": vm_id, "xml": small},
            incomingLimit=1)
        assert created["params"]["status"] == "Migration Destination"
        assert cli.Host.getStats()["incomingVmMigrations"] == 1
        cli.VM.destroy(vmID=vm_id)
        assert cli.Host.getStats()["incomingVmMigrations"] == 0
