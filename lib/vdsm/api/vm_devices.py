"""VM.updateDevice and VM.setTicket: the wire params mapped to the typed
requests of vdsm.virt.graphics and vdsm.virt.nics."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api.vm import vm_info
from vdsm.common import exception
from vdsm.virt import graphics, nics
from vdsm.virt.errors import MethodNotImplemented, TicketError
from vdsm.virt.graphics import ConnAction, DisconnectAction, Ticket


@verb("VM.setTicket")
def set_ticket(ctx: CallContext, vmID: str, password: str, ttl: int,
               existingConnAction: str, params: dict) -> bool:
    ticket = _ticket({"password": password, "ttl": ttl,
                      "existingConnAction": existingConnAction,
                      "params": params})
    graphics.set_ticket(ctx.services.virt.vms.get(vmID), ticket,
                        missing=TicketError)
    return True


@verb("VM.updateDevice")
def update_device(ctx: CallContext, vmID: str, params: dict) -> dict:
    if params.get("vmId") not in (None, vmID):
        raise exception.InvalidParameter(
            f"params.vmId {params['vmId']} differs from vmID {vmID}")
    kind = params.get("deviceType")
    vm = ctx.services.virt.vms.get(vmID)
    if kind == "graphics":
        if params.get("xml") is not None:
            # As upstream: a graphics update by XML has no ticket params.
            raise MethodNotImplemented("graphics update by xml")
        graphics.set_ticket(vm, _ticket(params))
    elif kind == "interface":
        nics.update(vm, _nic(params), ctx.services.virt.mirrors)
    else:
        raise MethodNotImplemented(f"updateDevice deviceType {kind!r}")
    return vm_info(vm)


def _ticket(params: dict[str, Any]) -> Ticket:
    for name in ("password", "ttl"):
        if params.get(name) is None:
            raise exception.MissingParameter(name)
    hook_params = params.get("params") or {}
    fips = hook_params.get("fips")
    if fips not in (None, "true", "false"):
        raise exception.MissingParameter(
            'fips param should either be "true", "false" or non-existent')
    if fips == "true":
        raise TicketError("FIPS mode needs VNC SASL (saslpasswd2), which "
                          "this host does not provide")
    connected = params.get("existingConnAction")
    action = params.get("disconnectAction")
    return Ticket(
        password=params["password"], ttl=params["ttl"],
        graphics_type=params.get("graphicsType"),
        connected=ConnAction(connected) if connected else None,
        disconnect_action=DisconnectAction(action) if action
        else DisconnectAction.LOCK_SCREEN,
        disconnect_delay_min=params.get("consoleDisconnectActionDelay")
        or 0,
        hook_params={str(k): str(v) for k, v in hook_params.items()})


def _nic(params: dict[str, Any]) -> nics.NicUpdate:
    if params.get("xml") is not None:
        return nics.from_xml(params["xml"])
    mirroring = params.get("portMirroring")
    filter_params = params.get("filterParameters")
    link = params.get("linkActive")
    spec = params.get("specParams")
    return nics.NicUpdate(
        alias=params.get("alias"),
        link_active=_bool(link) if link is not None else None,
        network=params.get("network"),
        port_mirroring=tuple(mirroring) if mirroring is not None else None,
        filter=params.get("filter"),
        filter_parameters=tuple((p["name"], p["value"])
                                for p in filter_params)
        if filter_params is not None else None,
        bandwidth=_bandwidth(spec) if spec is not None else None)


def _bandwidth(spec: dict[str, Any]) -> dict[str, dict[str, int]]:
    """specParams' inbound/outbound QoS (kB/s, kB; upstream's
    BandwidthParams, numbers or numeric strings)."""
    out: dict[str, dict[str, int]] = {}
    for way in ("inbound", "outbound"):
        if way not in spec:
            continue
        if not isinstance(spec[way], dict):
            raise exception.InvalidParameter(f"specParams.{way}")
        out[way] = {}
        for name, value in spec[way].items():
            if name not in ("average", "peak", "burst") \
                    or not str(value).isdigit():
                raise exception.InvalidParameter(
                    f"specParams.{way}.{name}={value!r}")
            out[way][name] = int(value)
    return out


def _bool(value: Any) -> bool:
    # The engine sends linkActive as String.valueOf(boolean).
    if isinstance(value, str):
        if value.lower() not in ("true", "false"):
            raise exception.InvalidParameter(f"linkActive {value!r}")
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise exception.InvalidParameter(f"linkActive {value!r}")
    return value
