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
string when absent) says how to read the text. ``device`` children are
kept as opaque elements: we carry them, the manager reads them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

NS = "http://ovirt.org/vm/1.0"
PREFIX = "ovirt-vm"
VM_TAG = f"{{{NS}}}vm"
DEVICE_TAG = f"{{{NS}}}device"

ET.register_namespace(PREFIX, NS)


class Metadata:
    """The scalars and device elements of one ``<ovirt-vm:vm>``."""

    def __init__(self, values: dict[str, Any] | None = None,
                 devices: list[ET.Element] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})
        self.devices: list[ET.Element] = list(devices or [])

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
            else:
                md.values[name] = _parse(child.get("type"), child.text or "")
        return md

    @classmethod
    def from_xml(cls, text: str | None) -> Metadata:
        if not text:
            return cls()
        return cls.from_element(ET.fromstring(text))

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
        return text.lower() == "true"
    return text
