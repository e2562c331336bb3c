"""Host.registerSecrets and Host.unregisterSecrets: libvirt secrets."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.host import secrets as host_secrets


@verb("Host.registerSecrets")
def register_secrets(ctx: CallContext, secrets: list[dict[str, Any]],
                     clear: bool) -> None:
    # Every secret is parsed (BadSecretRequest) before any is defined.
    parsed = [host_secrets.parse(s) for s in secrets]
    ctx.services.host.register_secrets(parsed, clear)


@verb("Host.unregisterSecrets")
def unregister_secrets(ctx: CallContext, uuids: list[str]) -> None:
    ctx.services.host.unregister_secrets(uuids)
