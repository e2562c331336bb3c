"""Migration logic that needs no second host: parameters as the engine
sends them, the convergence schedule, progress, slots, wire shapes."""

from __future__ import annotations

import threading

import libvirt
import pytest

from vdsm.api import migration_wire
from vdsm.common import exception
from vdsm.virt import errors, migration
from vdsm.virt.migration import (Action, Convergence, Phase, Progress,
                                 Schedule, Slots, StallingStep, State, Step)

# The engine's default "Minimal downtime" policy, as it sends it.
ENGINE_SCHEDULE = {
    "init": [{"name": "setDowntime", "params": ["100"]}],
    "stalling": [
        {"limit": 1, "action": {"name": "setDowntime", "params": ["150"]}},
        {"limit": 2, "action": {"name": "setDowntime", "params": ["200"]}},
        {"limit": 3, "action": {"name": "setDowntime", "params": ["300"]}},
        {"limit": -1, "action": {"name": "abort", "params": []}},
    ],
}


def test_params_as_the_engine_sends_them():
    p = migration_wire.params({
        "vmId": "x", "src": "10.0.0.1", "dst": "10.0.0.2:54321",
        "method": "online", "tunneled": "false", "dstqemu": "10.1.0.2",
        "abortOnError": "true", "compressed": "false",
        "autoConverge": "true", "maxBandwidth": 62,
        "outgoingLimit": 2, "incomingLimit": "2",
        "convergenceSchedule": ENGINE_SCHEDULE,
        "enableGuestEvents": True, "encrypted": False,
        "consoleAddress": "10.0.0.2"})
    assert p.host == "10.0.0.2" and p.port == 54321
    assert p.dstqemu == "10.1.0.2"
    assert not p.tunneled and p.abort_on_error and p.auto_converge
    assert not p.compressed and not p.encrypted
    assert p.max_bandwidth == 62
    assert p.outgoing_limit == 2 and p.incoming_limit == 2
    assert p.console_address == "10.0.0.2"
    assert p.schedule == Schedule(
        init=(Step(Action.SET_DOWNTIME, 100),),
        stalling=(StallingStep(1, Step(Action.SET_DOWNTIME, 150)),
                  StallingStep(2, Step(Action.SET_DOWNTIME, 200)),
                  StallingStep(3, Step(Action.SET_DOWNTIME, 300)),
                  StallingStep(-1, Step(Action.ABORT))))
    assert not p.schedule.uses_postcopy


def test_params_defaults():
    p = migration_wire.params({"dst": "host2"})
    assert (p.host, p.port) == ("host2", migration.DEFAULT_PORT)
    assert p.schedule is None and p.max_bandwidth == 0
    assert p.outgoing_limit is None and not p.tunneled


@pytest.mark.parametrize("dst,expected", [
    ("h", ("h", 54321)),
    ("h:1234", ("h", 1234)),
    ("[fe80::1]", ("fe80::1", 54321)),
    ("[fe80::1]:99", ("fe80::1", 99)),
    ("10.0.0.1", ("10.0.0.1", 54321)),
])
def test_split_host_port(dst, expected):
    assert migration.split_host_port(dst) == expected


@pytest.mark.parametrize("dst", [
    "h:0", "h:70000", "h:x", "[fe80::1", "[::1]x", "a b", "h/x", ":1",
    "u@h"])
def test_split_host_port_refuses(dst):
    with pytest.raises(exception.MigrationError):
        migration.split_host_port(dst)


@pytest.mark.parametrize("garbage", [
    "fast",
    ["setDowntime"],
    {"init": "x"},
    {"init": [], "stalling": {}},
    {"init": [{"name": "explode", "params": []}]},
    {"init": [{"name": "setDowntime", "params": []}]},
    {"init": [{"name": "setDowntime", "params": ["soon"]}]},
    {"init": [{"name": "setDowntime", "params": ["0"]}]},
    {"init": [{"name": "setDowntime", "params": ["1", "2"]}]},
    {"stalling": [{"action": {"name": "abort", "params": []}}]},
    {"stalling": [{"limit": "x", "action": {"name": "abort"}}]},
    {"stalling": [{"limit": -2, "action": {"name": "abort"}}]},
    {"stalling": [{"limit": 1}]},
    {"stalling": [{"limit": 1, "action": "abort"}]},
    {"init": [], "stalling": [], "later": []},
])
def test_garbage_schedule_is_code_12(garbage):
    with pytest.raises(exception.MigrationError) as e:
        migration_wire.params({"dst": "h", "convergenceSchedule": garbage})
    assert e.value.code == 12


@pytest.mark.parametrize("field,value", [
    ("tunneled", "maybe"), ("compressed", 1), ("maxBandwidth", "fast"),
    ("maxBandwidth", -1), ("outgoingLimit", 0), ("incomingLimit", "0"),
    ("maxBandwidth", True), ("consoleAddress", 5), ("dstqemu", ["x"]),
    ("mode", "teleport"),
])
def test_bad_params_are_code_12(field, value):
    with pytest.raises(exception.MigrationError):
        migration_wire.params({"dst": "h", field: value})


def test_no_dst_is_missing_parameter():
    with pytest.raises(exception.MissingParameter):
        migration_wire.params({"dst": ""})


def test_file_mode_is_not_implemented():
    with pytest.raises(errors.MethodNotImplemented):
        migration_wire.params({"dst": "h", "mode": "file"})


def test_postcopy_schedule():
    p = migration_wire.params({"dst": "h", "convergenceSchedule": {
        "init": [], "stalling": [
            {"limit": 1, "action": {"name": "postcopy", "params": []}},
            {"limit": 2, "action": {"name": "abort", "params": []}}]}})
    assert p.schedule is not None and p.schedule.uses_postcopy


# Convergence.

def reading(remaining: int, iteration: int = -1) -> Progress:
    return Progress(data_total=1000, data_remaining=remaining,
                    mem_iteration=iteration)


def test_convergence_by_iterations():
    sched = migration_wire.schedule(ENGINE_SCHEDULE)
    conv = Convergence(sched)
    # First pass: nothing due.
    assert conv.observe(reading(900, 1)) is None
    assert conv.observe(reading(500, 1)) is None
    # Second pass: one stall, limit 1 is not below it yet.
    assert conv.observe(reading(800, 2)) is None
    assert conv.stalled == 1
    # Third pass: 2 > 1: the first step.
    assert conv.observe(reading(800, 3)) == Step(Action.SET_DOWNTIME, 150)
    # One step per reading, in order, once each.
    assert conv.observe(reading(700, 3)) is None
    assert conv.observe(reading(700, 4)) == Step(Action.SET_DOWNTIME, 200)
    assert conv.observe(reading(700, 5)) == Step(Action.SET_DOWNTIME, 300)
    assert conv.observe(reading(700, 5)) == Step(Action.ABORT)
    assert conv.observe(reading(700, 9)) is None


def test_convergence_by_remaining_data():
    # libvirt without memory_iteration: growing remaining data is a pass.
    conv = Convergence(Schedule(stalling=(
        StallingStep(0, Step(Action.SET_DOWNTIME, 300)),
        StallingStep(1, Step(Action.POSTCOPY)))))
    assert conv.observe(reading(900)) is None
    assert conv.observe(reading(400)) is None
    assert conv.observe(reading(600)) == Step(Action.SET_DOWNTIME, 300)
    assert conv.observe(reading(300)) is None
    assert conv.observe(reading(500)) == Step(Action.POSTCOPY)


def test_convergence_without_stalling_steps():
    conv = Convergence(Schedule())
    for i in range(10):
        assert conv.observe(reading(500, i)) is None
    assert conv.stalled == 9


def test_progress_percent():
    assert reading(1000).percent == 0
    assert reading(250).percent == 75
    # 100 only once the migration is done.
    assert reading(0).percent == 99
    assert Progress().percent == 0


def test_progress_from_job_stats():
    p = Progress.from_job_stats({
        "type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED,
        "operation": libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT,
        libvirt.VIR_DOMAIN_JOB_DATA_TOTAL: 4 << 20,
        libvirt.VIR_DOMAIN_JOB_DATA_REMAINING: 1 << 20,
        libvirt.VIR_DOMAIN_JOB_TIME_ELAPSED: 1500,
        "memory_iteration": 2})
    assert p.percent == 75 and p.mem_iteration == 2 and p.elapsed_ms == 1500


def test_outgoing_job():
    out = libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT
    assert migration.outgoing_job({"type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED,
                                   "operation": out})
    assert not migration.outgoing_job({})
    assert not migration.outgoing_job({"type": libvirt.VIR_DOMAIN_JOB_NONE})
    assert not migration.outgoing_job({
        "type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED,
        "operation": libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN})
    assert not migration.outgoing_job({
        "type": libvirt.VIR_DOMAIN_JOB_COMPLETED, "operation": out})


# Slots.

def test_slots_queue_extra_migrations():
    slots = Slots(2)
    never = threading.Event()
    assert slots.acquire(never) and slots.acquire(never)
    assert not slots.try_acquire()
    got = threading.Event()

    def third():
        if slots.acquire(never):
            got.set()
    t = threading.Thread(target=third)
    t.start()
    assert not got.wait(0.3)        # queued
    slots.release()
    assert got.wait(5)
    t.join()
    assert slots.in_use == 2


def test_slots_bound_changes_while_waiting():
    slots = Slots(1)
    never = threading.Event()
    assert slots.acquire(never)
    got = threading.Event()
    t = threading.Thread(target=lambda: slots.acquire(never) and got.set())
    t.start()
    assert not got.wait(0.3)
    slots.bound = 2                 # outgoingLimit of a later migrate
    assert got.wait(5)
    t.join()


def test_slots_wait_ends_on_cancel():
    slots = Slots(1)
    cancel = threading.Event()
    assert slots.acquire(cancel)
    result = []
    t = threading.Thread(target=lambda: result.append(slots.acquire(cancel)))
    t.start()
    cancel.set()
    t.join(5)
    assert result == [False] and slots.in_use == 1


def test_slots_bound_at_least_one():
    assert Slots(0).bound == 1


# Wire shapes.

def test_event_shapes():
    state = State(phase=Phase.RUNNING, progress=42)
    assert migration_wire.event(state) == {"progress": 42,
                                           "postcopy": False}
    state = State(phase=Phase.SUCCEEDED, progress=100, downtime_ms=37)
    assert migration_wire.event(state) == {"progress": 100,
                                           "postcopy": False,
                                           "downtime": 37}
    state = State(phase=Phase.POSTCOPY, postcopy=True)
    assert migration_wire.event(state)["postcopy"]
    # A migration that went through post-copy still says so once done.
    state = State(phase=Phase.SUCCEEDED, progress=100, postcopy=True)
    assert migration_wire.event(state) == {"progress": 100,
                                           "postcopy": True}


def test_status_of_failed_migration_is_its_error():
    state = State(phase=Phase.FAILED,
                  error=exception.MigrationCancelationFailed("canceled"))
    with pytest.raises(exception.MigrationCancelationFailed) as e:
        migration_wire.status(state)
    assert e.value.code == 47
    assert migration_wire.status(State()) == {"progress": 0,
                                              "postcopy": False}


def test_destination_refusal_keeps_its_code():
    err = migration.DestinationRefused(14, "no memory")
    assert err.code == 14 and isinstance(err, exception.MigrationError)
    assert "no memory" in str(err)
