"""Host namespace: verbs about the host itself."""

from __future__ import annotations

from vdsm import hooks
from vdsm.api.registry import CallContext, verb


@verb("Host.ping2")
def ping2(ctx: CallContext) -> bool:
    return True


@verb("Host.echo")
def echo(ctx: CallContext, text: str) -> str:
    return text


@verb("Host.confirmConnectivity")
def confirm_connectivity(ctx: CallContext) -> bool:
    network = getattr(ctx.services, "network", None)
    if network is not None:
        network.confirm_connectivity()
    return True


@verb("Host.getCapabilities")
def get_capabilities(ctx: CallContext) -> dict:
    return hooks.reporting(
        ctx.services.config.get("vars", "hooks_dir"), "get_caps",
        lambda: ctx.services.host.capabilities(local=ctx.local))


@verb("Host.getStats")
def get_stats(ctx: CallContext) -> dict:
    return hooks.reporting(ctx.services.config.get("vars", "hooks_dir"),
                           "get_stats", ctx.services.host.stats)


@verb("Host.getHardwareInfo")
def get_hardware_info(ctx: CallContext) -> dict:
    return ctx.services.host.hardware_info()


@verb("Host.hostdevListByCaps")
def hostdev_list_by_caps(ctx: CallContext, caps: list[str]) -> dict:
    devices = ctx.services.host.host_devices(caps)
    return hooks.filter_json(ctx.services.config.get("vars", "hooks_dir"),
                             "after_hostdev_list_by_caps", devices)
