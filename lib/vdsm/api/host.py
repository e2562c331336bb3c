"""Host namespace: verbs about the host itself."""

from __future__ import annotations

import logging

from vdsm import hooks
from vdsm.api import host_caps_wire, host_wire
from vdsm.api.registry import CallContext, WouldBlock, verb
from vdsm.common import log as vdsm_log

log = logging.getLogger("vdsm.api.host")


@verb("Host.ping2", on_loop=True)
def ping2(ctx: CallContext) -> bool:
    return True


@verb("Host.echo")
def echo(ctx: CallContext, message: str) -> str:
    # As upstream: the message is logged, so a client can mark the log.
    log.info("ECHO message=%r", message)
    return message


@verb("Host.setLogLevel")
def set_log_level(ctx: CallContext, level: str, name: str) -> None:
    vdsm_log.set_level(level, name)


@verb("Host.confirmConnectivity")
def confirm_connectivity(ctx: CallContext) -> bool:
    ctx.services.network.confirm_connectivity()
    return True


@verb("Host.getCapabilities")
def get_capabilities(ctx: CallContext) -> dict:
    return hooks.reporting(
        ctx.services.config.get("vars", "hooks_dir"), "get_caps",
        lambda: host_wire.capabilities(ctx.services, ctx.local))


@verb("Host.getStats", on_loop=True)
def get_stats(ctx: CallContext) -> dict:
    # From the last samples and the subsystems' views: on the loop,
    # unless a site hook script is to run.
    hooks_dir = ctx.services.config.get("vars", "hooks_dir")
    if ctx.on_loop and hooks.has_reporting_scripts(hooks_dir, "get_stats"):
        raise WouldBlock()
    return hooks.reporting(hooks_dir, "get_stats",
                           lambda: host_wire.stats(ctx.services))


@verb("Host.getHardwareInfo")
def get_hardware_info(ctx: CallContext) -> dict:
    return host_caps_wire.hardware_info(ctx.services.host.hardware_info())


@verb("Host.hostdevListByCaps")
def hostdev_list_by_caps(ctx: CallContext,
                         caps: list[str] | None) -> dict:
    devices = ctx.services.host.host_devices(caps or [])
    return hooks.filter_json(ctx.services.config.get("vars", "hooks_dir"),
                             "after_hostdev_list_by_caps", devices)
