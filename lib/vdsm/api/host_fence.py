"""Host.fenceNode: the engine's params (port and secure as strings) to a
typed fence request, the result to upstream's FenceNodeResult."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.common.exception import InvalidParameter
from vdsm.host import fence


@verb("Host.fenceNode")
def fence_node(ctx: CallContext, addr: str, port: Any, agent: str,
               username: str, password: str, action: str, secure: Any,
               options: str, policy: dict | None) -> dict[str, str]:
    request = fence.Request(
        addr=addr, port=_port(port), agent=agent, username=username,
        password=password, action=fence.Action(action),
        secure=_bool(secure), options=options or "",
        host_ids=_host_ids(policy))
    result = ctx.services.host.fence(request)
    wire = {"power": result.power.value}
    if result.operation is not None:
        wire["operationStatus"] = result.operation
    return wire


def _port(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not str(value).isdigit():
        raise InvalidParameter("port must be a number", port=value)
    return str(value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", ""):
        return value.lower() == "true"
    raise InvalidParameter("secure must be a boolean", secure=value)


def _host_ids(policy: dict | None) -> dict[str, int]:
    ids = (policy or {}).get("storageDomainHostIdMap") or {}
    if not isinstance(ids, dict) or not all(
            isinstance(k, str) and isinstance(v, int)
            and not isinstance(v, bool) for k, v in ids.items()):
        raise InvalidParameter("policy.storageDomainHostIdMap must map "
                               "domain uuids to host ids")
    return ids
