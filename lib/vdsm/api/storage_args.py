"""Storage verbs' arguments: the subsystem's parts, sizes, checked ids.

The wire names of the ids live here: ``uuid(value, "sdUUID")`` refuses a
malformed id with 1000 and the parameter's wire name, before the verb
reaches storage (which checks every id again before it names a path,
in its own words).
"""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext
from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.component import Storage


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


def uuid(value: Any, name: str) -> str:
    """value if it is a UUID, else 1000 naming the wire parameter."""
    return sc.check_uuid(value, name)
