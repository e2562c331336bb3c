"""VM migration verbs: one call each into services.virt.migrations.

VM.migrate, VM.getMigrationStatus, VM.migrateCancel and
VM.migrateChangeParams act on the source; VM.migrationCreate is called on
the destination by the source vdsm.
"""

from __future__ import annotations

from typing import Any

from vdsm.api import migration_wire
from vdsm.api import vm as api_vm
from vdsm.api.registry import CallContext, verb
from vdsm.common import exception


@verb("VM.migrate")
def migrate(ctx: CallContext, vmID: str, params: dict) -> dict:
    if params.get("vmId") not in (None, vmID):
        raise exception.InvalidParameter(
            f"params.vmId {params['vmId']} differs from vmID {vmID}")
    typed = migration_wire.params(params)
    state = ctx.services.virt.migrations.migrate(vmID, typed)
    return migration_wire.event(state)


@verb("VM.getMigrationStatus")
def get_migration_status(ctx: CallContext, vmID: str) -> dict:
    return migration_wire.status(
        ctx.services.virt.migrations.status(vmID))


@verb("VM.migrateCancel")
def migrate_cancel(ctx: CallContext, vmID: str) -> bool:
    ctx.services.virt.migrations.cancel(vmID)
    return True


@verb("VM.migrateChangeParams")
def migrate_change_params(ctx: CallContext, vmID: str,
                          params: dict) -> bool:
    bandwidth = params.get("maxBandwidth")
    mib = None
    if bandwidth is not None:
        try:
            mib = int(bandwidth)
        except (TypeError, ValueError):
            raise exception.InvalidParameter(f"maxBandwidth {bandwidth!r}")
        if mib < 0:
            raise exception.InvalidParameter(f"maxBandwidth {bandwidth!r}")
    ctx.services.virt.migrations.change_params(vmID, mib)
    return True


@verb("VM.migrationCreate")
def migration_create(ctx: CallContext, vmID: str, params: dict,
                     incomingLimit: Any) -> dict:
    if params.get("vmId") not in (None, vmID):
        raise exception.InvalidParameter(
            f"params.vmId {params['vmId']} differs from vmID {vmID}")
    xml = params.get("xml")
    if not isinstance(xml, str) or not xml:
        raise exception.MissingParameter("params.xml")
    try:
        offset = float(params.get("elapsedTimeOffset") or 0)
    except (TypeError, ValueError):
        raise exception.InvalidParameter(
            f"elapsedTimeOffset {params.get('elapsedTimeOffset')!r}")
    limit = None
    if incomingLimit is not None:
        try:
            limit = int(incomingLimit)
        except (TypeError, ValueError):
            raise exception.InvalidParameter(
                f"incomingLimit {incomingLimit!r}")
    vm = ctx.services.virt.migrations.create_incoming(vmID, xml, offset,
                                                       limit)
    return {"migrationPort": 0, "params": api_vm.vm_info(vm)}
