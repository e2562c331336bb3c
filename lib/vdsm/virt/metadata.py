"""Our fields in a domain's ``<metadata>``: the ``ovirt-vm`` namespace.

The VM-level element looks like upstream's::

    <ovirt-vm:vm xmlns:ovirt-vm="http://ovirt.org/vm/1.0">
        <ovirt-vm:startTime type="float">1234.5</ovirt-vm:startTime>
        <ovirt-vm:exitCode type="int">0</ovirt-vm:exitCode>
        <ovirt-vm:exitMessage>User shut down from within the guest
        </ovirt-vm:exitMessage>
        <ovirt-vm:device devtype="disk" name="vda">...</ovirt-vm:device>
    </ovirt-vm:vm>

Scalars are child elements whose ``type`` attribute (int, float, bool;
string when absent) says how to read the text. Values are read as
upstream reads them: a value without ``type`` stays the string it is,
and its user converts it (``flag()``, ``integer()``, ``number()``).
oVirt Engine writes most scalars that way (``<launchPaused>false``,
``<ballooningEnabled>true``, ``<clusterVersion>4.7``), so
``bool(values["launchPaused"])`` would be wrong: use ``flag()``.

``<custom>`` holds the engine's custom properties (strings). ``device``
children are kept as elements (we carry them back verbatim);
``devices_info()`` reads them into nested dicts as upstream does: scalar
children, the container sub-elements (``address``, ``custom``,
``specParams`` ...) as dicts, ``volumeChain`` and ``hosts`` as lists of
dicts, ``portMirroring`` as the list of its networks, ``diskReplicate``
as a device of its own. Any other nested element is carried back
unchanged, never dropped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from vdsm.common import xmltree

NS = "http://ovirt.org/vm/1.0"
PREFIX = "ovirt-vm"
VM_TAG = f"{{{NS}}}vm"
DEVICE_TAG = f"{{{NS}}}device"

ET.register_namespace(PREFIX, NS)


CUSTOM = "custom"
# Device sub-elements read as upstream reads them (lib/vdsm/virt/metadata.py
# of oVirt/vdsm): containers of scalars, lists of such, lists of text.
_DEVICE_GROUPS = ("address", "auth", "custom", "specParams", "vm_custom",
                  "payload")
_DEVICE_LAYERED = {"volumeChain": "volumeChainNode", "hosts": "hostInfo"}
_PORT_MIRRORING = "portMirroring"
_REPLICA = "diskReplicate"


class Metadata:
    """The scalars, custom properties and devices of one ``<ovirt-vm:vm>``.
    """

    def __init__(self, values: dict[str, Any] | None = None,
                 devices: list[ET.Element] | None = None,
                 custom: dict[str, str] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})
        self.devices: list[ET.Element] = list(devices or [])
        self.custom: dict[str, str] = dict(custom or {})
        # Nested elements we do not read, carried back unchanged.
        self.extra: list[ET.Element] = []

    @classmethod
    def from_element(cls, elem: ET.Element | None) -> Metadata:
        md = cls()
        if elem is None:
            return md
        for child in elem:
            name = _local(child.tag)
            if name is None:
                continue
            if name == "device":
                md.devices.append(_qualify(child))
            elif name == CUSTOM:
                md.custom.update(_scalars(child))
                if not len(child):
                    # Old form: text only; keep it as it was.
                    md.extra.append(_qualify(child))
            elif len(child):
                md.extra.append(_qualify(child))
            else:
                md.values[name] = _parse(child.get("type"), child.text or "")
        return md

    # Typed reads of scalars (a missing or unreadable value: default).

    def flag(self, name: str, default: bool = False) -> bool:
        return to_bool(self.values.get(name), default)

    def integer(self, name: str, default: int = 0) -> int:
        value = self.values.get(name)
        if isinstance(value, bool):
            return int(value)
        try:
            return int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            try:
                return int(float(value))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return default

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if isinstance(value, bool) or value is None:
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            return None

    def devices_info(self, **attrs: str) -> list[dict[str, Any]]:
        """The devices whose attributes match attrs, read as dicts.

        Each dict also holds the device element's attributes (devtype,
        name, mac_address ...).
        """
        out = []
        for dev in self.devices:
            if all(dev.get(k) == v for k, v in attrs.items()):
                info = device_info(dev)
                for k, v in dev.attrib.items():
                    info.setdefault(k, v)
                out.append(info)
        return out

    @classmethod
    def from_xml(cls, text: str | None) -> Metadata:
        if not text:
            return cls()
        return cls.from_element(xmltree.fromstring(text))

    def to_element(self) -> ET.Element:
        elem = ET.Element(VM_TAG)
        for name, value in sorted(self.values.items()):
            if value is None:
                continue
            child = ET.SubElement(elem, f"{{{NS}}}{name}")
            kind = _kind(value)
            if kind:
                child.set("type", kind)
            child.text = _format(value)
        if self.custom and not any(_local(e.tag) == CUSTOM
                                   for e in self.extra):
            custom = ET.SubElement(elem, f"{{{NS}}}{CUSTOM}")
            for name, value in sorted(self.custom.items()):
                ET.SubElement(custom, f"{{{NS}}}{name}").text = str(value)
        elem.extend(self.extra)
        elem.extend(self.devices)
        return elem

    def to_xml(self) -> str:
        return ET.tostring(self.to_element(), encoding="unicode")

    def to_plain_xml(self) -> str:
        """The element without namespace, as virDomainSetMetadata wants."""
        return ET.tostring(_unqualify(self.to_element()), encoding="unicode")

    def add_devices(self, devices: list[ET.Element]) -> None:
        for dev in devices:
            self.remove_device(dev.get("devtype"), dev.get("name"))
            self.devices.append(dev)

    def remove_device(self, devtype: str | None, name: str | None) -> None:
        self.devices = [d for d in self.devices
                        if (d.get("devtype"), d.get("name"))
                        != (devtype, name)]


def find(domain: ET.Element) -> ET.Element | None:
    """The ``<ovirt-vm:vm>`` element of a parsed domain, if any."""
    return domain.find(f"metadata/{VM_TAG}")


def replace(domain: ET.Element, md: Metadata) -> None:
    """Put md as the ``<ovirt-vm:vm>`` of a parsed domain."""
    meta = domain.find("metadata")
    if meta is None:
        meta = ET.SubElement(domain, "metadata")
    old = meta.find(VM_TAG)
    if old is not None:
        meta.remove(old)
    meta.append(md.to_element())


def to_bool(value: Any, default: bool = False) -> bool:
    """A metadata or parameter value as a boolean, as upstream's
    ``conv.tobool`` reads it: True/False, "true"/"false" in any case,
    or an integer ("0" is False); anything else is default."""
    if isinstance(value, bool):
        return value
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text == "true":
        return True
    if text == "false":
        return False
    try:
        return bool(int(text))
    except ValueError:
        return default


def device_info(dev: ET.Element) -> dict[str, Any]:
    """One ``<device>`` (or ``<diskReplicate>``) element as nested dicts."""
    info: dict[str, Any] = {}
    for child in dev:
        name = _local(child.tag)
        if name is None:
            continue
        if name == _PORT_MIRRORING:
            info[name] = [(n.text or "").strip() for n in child
                          if _local(n.tag) == "network"]
        elif name == _REPLICA:
            info[name] = device_info(child)
        elif name in _DEVICE_LAYERED:
            info[name] = [_scalars(node) for node in child
                          if _local(node.tag) == _DEVICE_LAYERED[name]]
        elif name in _DEVICE_GROUPS or len(child):
            info[name] = _scalars(child)
        else:
            info[name] = _parse(child.get("type"), child.text or "")
    return info


def _scalars(elem: ET.Element) -> dict[str, Any]:
    """The leaf children of elem (upstream skips nested ones too)."""
    out = {}
    for child in elem:
        name = _local(child.tag)
        if name is not None and not len(child):
            out[name] = _parse(child.get("type"), child.text or "")
    return out


def _local(tag: str) -> str | None:
    """Our local name of tag (namespaced or, from libvirt, plain)."""
    if tag.startswith(f"{{{NS}}}"):
        return tag[len(NS) + 2:]
    if tag.startswith("{"):
        return None
    return tag


def _qualify(elem: ET.Element) -> ET.Element:
    out = ET.Element(f"{{{NS}}}{_local(elem.tag)}", elem.attrib)
    out.text, out.tail = elem.text, None
    out.extend(_qualify(child) for child in elem)
    return out


def _unqualify(elem: ET.Element) -> ET.Element:
    out = ET.Element(_local(elem.tag) or elem.tag, elem.attrib)
    out.text, out.tail = elem.text, None
    out.extend(_unqualify(child) for child in elem)
    return out


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return None


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse(kind: str | None, text: str) -> Any:
    text = text.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        return text
    if kind == "bool":
        return to_bool(text)
    return text
