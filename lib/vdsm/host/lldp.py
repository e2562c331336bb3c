"""Host.getLldp: what the switches on the other end of the NICs say.

lldpad (Debian's ``lldpad``) receives the neighbours' LLDP frames; it
answers only root, so supervdsmd runs ``lldptool`` (``supervdsm.api.lldp``)
and this module turns its text into TLVs as upstream reports them: per
device ``enabled`` (LLDP reception on) and ``tlvs``, each TLV with its
type number, name, properties and, for organizationally specific TLVs,
the OUI and subtype. Where no LLDP daemon runs every device reads
``enabled: False`` with no TLVs and the reason is logged once per call:
LLDP is an optional service, not a failure of the host.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Callable

from vdsm.common.exception import InvalidParameter, VdsmError

log = logging.getLogger("vdsm.host.lldp")

NET_DIR = "/sys/class/net"

IEEE8021 = 0x0080C2
IEEE8023 = 0x00120F

Properties = dict[str, str]


@dataclass(frozen=True)
class Tlv:
    type: int
    name: str
    properties: Properties
    oui: int = 0
    subtype: int = 0


@dataclass(frozen=True)
class DeviceLldp:
    enabled: bool
    tlvs: tuple[Tlv, ...] = field(default_factory=tuple)


# devices -> {device: get-tlv text, or None where LLDP is off}
Query = Callable[[list[str]], dict[str, "str | None"]]


def nics(net_dir: str = NET_DIR) -> list[str]:
    """The host's physical NICs (those backed by a device)."""
    try:
        names = os.listdir(net_dir)
    except FileNotFoundError:
        return []
    return sorted(n for n in names
                  if os.path.exists(os.path.join(net_dir, n, "device")))


def info(devices: list[str], query: Query,
         net_dir: str = NET_DIR) -> dict[str, DeviceLldp]:
    unknown = [d for d in devices
               if "/" in d or not os.path.isdir(os.path.join(net_dir, d))]
    if unknown:
        raise InvalidParameter("no such network device",
                               devices=",".join(unknown))
    try:
        texts = query(devices)
    except VdsmError as e:
        log.info("NO lldp devices=%s reason=%s", ",".join(devices), e)
        return {dev: DeviceLldp(False) for dev in devices}
    return {dev: (DeviceLldp(False) if texts.get(dev) is None
                  else DeviceLldp(True, parse(texts[dev] or "")))
            for dev in devices}


def parse(text: str) -> tuple[Tlv, ...]:
    """``lldptool get-tlv -n`` output: a header line per TLV, then its
    property lines, each indented with a tab."""
    found = []
    for header, lines in _records(text):
        spec = _TLVS.get(header)
        if spec is not None:
            tlv_type, oui, subtype, name, parser = spec
            found.append(Tlv(tlv_type, name, parser(name, lines), oui,
                             subtype))
    return tuple(found)


def _records(text: str) -> list[tuple[str, list[str]]]:
    records: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("\t"):
            if records:
                records[-1][1].append(line.strip())
        elif line.strip():
            records.append((line.strip(), []))
    return records


def _subtype_value(line: str, name: str) -> Properties:
    subtype, _, value = line.partition(":")
    return {f"{name} subtype": subtype.strip(), name: value.strip()}


def _chassis(name: str, lines: list[str]) -> Properties:
    return _subtype_value(_first(lines), "chassis ID")


def _port(name: str, lines: list[str]) -> Properties:
    return _subtype_value(_first(lines), "port ID")


def _single(name: str, lines: list[str]) -> Properties:
    return {name.lower(): _first(lines)}


def _multi(name: str, lines: list[str]) -> Properties:
    props = {}
    for line in lines:
        key, _, value = line.partition(":")
        props[key.strip().lower()] = value.strip()
    return props


def _management(name: str, lines: list[str]) -> Properties:
    props = _subtype_value(_first(lines), "management address")
    if len(lines) > 1:
        props.update(_subtype_value(lines[1], "interface numbering"))
    if len(lines) > 2:
        props["object identifier"] = lines[2].partition(":")[2].strip()
    return props


def _port_vlan(name: str, lines: list[str]) -> Properties:
    return {"Port VLAN ID": _first(lines).partition(":")[2].strip()}


def _vlan_name(name: str, lines: list[str]) -> Properties:
    head, _, vlan_name = _first(lines).partition(":")
    return {"VLAN ID": head.split(" ", 1)[-1].strip(),
            "VLAN Name": vlan_name.strip()}


def _aggregation(name: str, lines: list[str]) -> Properties:
    def flag(i: int) -> str:
        return "False" if len(lines) <= i or "not " in lines[i] else "True"
    port = lines[2].partition(":")[2].strip() if len(lines) > 2 else ""
    return {"Aggregation capable": flag(0), "Currently aggregated": flag(1),
            "Aggregated Port ID": port}


def _first(lines: list[str]) -> str:
    return lines[0] if lines else ""


Parser = Callable[[str, list[str]], Properties]

# lldptool's TLV header -> (type, OUI, subtype, name, property parser).
# lldptool prints both Link Aggregation TLVs alike; as upstream, it is
# reported as the IEEE 802.1 one.
_TLVS: dict[str, tuple[int, int, int, str, Parser]] = {
    "Chassis ID TLV": (1, 0, 0, "Chassis ID", _chassis),
    "Port ID TLV": (2, 0, 0, "Port ID", _port),
    "Time to Live TLV": (3, 0, 0, "Time to Live", _single),
    "Port Description TLV": (4, 0, 0, "Port Description", _single),
    "System Name TLV": (5, 0, 0, "System Name", _single),
    "System Description TLV": (6, 0, 0, "System Description", _single),
    "System Capabilities TLV": (7, 0, 0, "System Capabilities", _multi),
    "Management Address TLV": (8, 0, 0, "Management Address", _management),
    "Port VLAN ID TLV": (0x7F, IEEE8021, 1, "Port VLAN ID", _port_vlan),
    "VLAN Name TLV": (0x7F, IEEE8021, 3, "VLAN Name", _vlan_name),
    "Link Aggregation TLV": (0x7F, IEEE8021, 7, "Link Aggregation",
                             _aggregation),
    "Maximum Frame Size TLV": (0x7F, IEEE8023, 4, "MTU", _single),
}
