"""Migration values between the wire and vdsm.virt.migration.

``params()`` reads VM.migrate's params as the engine sends them (booleans
may come as "true"/"false" strings, numbers as strings) into a checked
``migration.Params``; anything it cannot use is code 12 with nothing
started. ``status()`` is VM.getMigrationStatus's reply, ``event()`` the
params of a ``|virt|VM_migration_status|<vmId>`` event (progress, postcopy,
and downtime once known: what the engine's VmMigrationProgressMonitoring
reads).
"""

from __future__ import annotations

import logging
from typing import Any

from vdsm.common import exception
from vdsm.virt import errors, migration
from vdsm.virt.migration import Action, Schedule, StallingStep, State, Step

log = logging.getLogger("vdsm.api.migration")


def _bool(value: Any, name: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise exception.MigrationError(f"{name} {value!r} is not a boolean")


def _int(value: Any, name: str, minimum: int = 0) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise exception.MigrationError(f"{name} {value!r} is not a number")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise exception.MigrationError(f"{name} {value!r} is not a number")
    if number < minimum:
        raise exception.MigrationError(f"{name} {value!r} below {minimum}")
    return number


def _step(action: Any, where: str) -> Step:
    if not isinstance(action, dict):
        raise exception.MigrationError(f"{where}: {action!r} is no action")
    try:
        kind = Action(action.get("name"))
    except ValueError:
        raise exception.MigrationError(
            f"{where}: unknown action {action.get('name')!r}")
    if kind != Action.SET_DOWNTIME:
        return Step(kind)
    args = action.get("params")
    if not isinstance(args, list) or len(args) != 1:
        raise exception.MigrationError(
            f"{where}: setDowntime takes one parameter, got {args!r}")
    downtime = _int(args[0], f"{where} downtime", minimum=1)
    assert downtime is not None
    return Step(kind, downtime)


def schedule(value: Any) -> Schedule:
    """convergenceSchedule {init: [action], stalling: [{limit, action}]}."""
    if not isinstance(value, dict) or not set(value) <= {"init",
                                                         "stalling"}:
        raise exception.MigrationError(
            f"convergenceSchedule {value!r}: want init and stalling lists")
    init = value.get("init", [])
    stalling = value.get("stalling", [])
    if not isinstance(init, list) or not isinstance(stalling, list):
        raise exception.MigrationError(
            "convergenceSchedule init and stalling must be lists")
    steps = tuple(_step(a, f"init[{i}]") for i, a in enumerate(init))
    items = []
    for i, item in enumerate(stalling):
        if not isinstance(item, dict) or "limit" not in item:
            raise exception.MigrationError(
                f"stalling[{i}]: {item!r} has no limit")
        limit = _int(item["limit"], f"stalling[{i}] limit", minimum=-1)
        assert limit is not None
        items.append(StallingStep(limit, _step(item.get("action"),
                                               f"stalling[{i}]")))
    return Schedule(steps, tuple(items))


def params(wire: dict[str, Any]) -> migration.Params:
    mode = wire.get("mode", "remote")
    if mode == "file":
        raise errors.MethodNotImplemented(
            "migration to a file: use VM.hibernate")
    if mode != "remote":
        raise exception.MigrationError(f"mode {mode!r}")
    method = wire.get("method", "online")
    if method != "online":
        log.warning("MIGRATE method=%r forced to online", method)
    dst = wire.get("dst")
    if not isinstance(dst, str) or not dst:
        raise exception.MissingParameter("dst")
    host, port = migration.split_host_port(dst)
    dstqemu = wire.get("dstqemu") or ""
    if not isinstance(dstqemu, str):
        raise exception.MigrationError(f"dstqemu {dstqemu!r}")
    if dstqemu:
        dstqemu = migration.split_host_port(dstqemu)[0]
    conv = wire.get("convergenceSchedule")
    console = wire.get("consoleAddress") or ""
    if not isinstance(console, str):
        raise exception.MigrationError(f"consoleAddress {console!r}")
    return migration.Params(
        host=host, port=port, dstqemu=dstqemu,
        tunneled=_bool(wire.get("tunneled"), "tunneled"),
        abort_on_error=_bool(wire.get("abortOnError"), "abortOnError"),
        compressed=_bool(wire.get("compressed"), "compressed"),
        auto_converge=_bool(wire.get("autoConverge"), "autoConverge"),
        max_bandwidth=_int(wire.get("maxBandwidth"), "maxBandwidth") or 0,
        outgoing_limit=_int(wire.get("outgoingLimit"), "outgoingLimit", 1),
        incoming_limit=_int(wire.get("incomingLimit"), "incomingLimit", 1),
        schedule=None if conv is None else schedule(conv),
        enable_guest_events=_bool(wire.get("enableGuestEvents"),
                                  "enableGuestEvents"),
        encrypted=_bool(wire.get("encrypted"), "encrypted"),
        parallel=_int(wire.get("parallel"), "parallel") or 0,
        console_address=console)


def event(state: State) -> dict[str, Any]:
    out: dict[str, Any] = {"progress": state.progress,
                           "postcopy": state.postcopy}
    if state.downtime_ms is not None:
        out["downtime"] = state.downtime_ms
    return out


def status(state: State) -> dict[str, Any]:
    """VM.getMigrationStatus: progress (and downtime), or the failure."""
    if state.error is not None:
        raise state.error
    return event(state)
