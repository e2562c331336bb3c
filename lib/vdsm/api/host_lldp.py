"""Host.getLldp: typed LLDP information to upstream's LldpMap."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.common.exception import InvalidParameter
from vdsm.host.lldp import DeviceLldp, Tlv


@verb("Host.getLldp")
def get_lldp(ctx: CallContext, filter: dict) -> dict[str, Any]:
    devices = filter.get("devices", [])
    if not isinstance(devices, list) or not all(
            isinstance(d, str) for d in devices):
        raise InvalidParameter("filter.devices must be a list of names")
    return {dev: device_lldp(info)
            for dev, info in ctx.services.host.lldp(devices).items()}


def device_lldp(info: DeviceLldp) -> dict[str, Any]:
    return {"enabled": info.enabled, "tlvs": [tlv(t) for t in info.tlvs]}


def tlv(t: Tlv) -> dict[str, Any]:
    wire: dict[str, Any] = {"type": t.type, "name": t.name,
                            "properties": dict(t.properties)}
    if t.oui:
        wire["oui"] = t.oui
        wire["subtype"] = t.subtype
    return wire
