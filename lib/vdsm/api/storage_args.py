"""Storage verbs' arguments: the subsystem's parts, sizes, checked ids.

The wire names of the ids live here: ``uuid(value, "sdUUID")`` refuses a
malformed id with 1000 and the parameter's wire name, before the verb
reaches storage (which checks every id again before it names a path,
in its own words).
"""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext
from vdsm.storage import connection as conn_mod
from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.component import Storage
from vdsm.storage.connection import Connection


def storage(ctx: CallContext) -> Storage:
    return ctx.services.storage


def to_int(value: Any, name: str) -> int:
    """Sizes travel as strings or ints; anything else is 1000."""
    if isinstance(value, bool):
        raise errors.InvalidParameter(f"{name} is not an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.InvalidParameter(f"{name} is not an integer",
                                      value=value) from None


def connection(dom_type: int, params: dict[str, Any]) -> Connection:
    """One ConnectionRefParameters dict, checked (451/1000)."""
    conn_mod.check_type(dom_type)
    spec = params.get("connection")
    if not isinstance(spec, str):
        raise errors.InvalidParameter("bad connection", value=spec)
    return conn_mod.check(Connection(
        id=str(params.get("id", "")), dom_type=dom_type, spec=spec,
        vfs_type=str(params.get("vfs_type") or ""),
        options=str(params.get("mnt_options") or ""),
        nfs_version=str(params.get("protocol_version") or "")))


def uuid(value: Any, name: str) -> str:
    """value if it is a UUID, else 1000 naming the wire parameter."""
    return sc.check_uuid(value, name)
