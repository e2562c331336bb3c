"""Host.registerSecrets and Host.unregisterSecrets: libvirt secrets."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.host import secrets as host_secrets
from vdsm.host.errors import BadSecretRequest


@verb("Host.registerSecrets")
def register_secrets(ctx: CallContext, secrets: list[dict[str, Any]],
                     clear: bool) -> None:
    # Every secret is parsed (BadSecretRequest) before any is defined.
    parsed = [parse(s) for s in secrets]
    ctx.services.host.register_secrets(parsed, clear)


@verb("Host.unregisterSecrets")
def unregister_secrets(ctx: CallContext, uuids: list[str]) -> None:
    ctx.services.host.unregister_secrets(uuids)


def parse(params: dict[str, Any]) -> host_secrets.Secret:
    """A Secret from the manager's fields; BadSecretRequest if invalid."""
    try:
        usage_type = _required(params, "usageType")
        if usage_type not in host_secrets.USAGE_ELEMENTS:
            raise ValueError(f"usageType {usage_type!r} not one of "
                             f"{host_secrets.usage_types()}")
        return host_secrets.Secret(
            uuid=str(uuid.UUID(_required(params, "uuid"))),
            usage_type=usage_type,
            usage_id=_required(params, "usageID"),
            value=base64.b64decode(_required(params, "password"),
                                   validate=True),
            description=params.get("description"))
    except (ValueError, TypeError, AttributeError, binascii.Error) as e:
        raise BadSecretRequest(str(e)) from None


def _required(params: dict[str, Any], name: str) -> Any:
    if name not in params:
        raise ValueError(f"missing {name}")
    return params[name]
