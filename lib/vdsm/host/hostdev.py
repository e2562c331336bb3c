"""Host devices as libvirt knows them, for Host.hostdevListByCaps.

Theory of operation
-------------------
libvirt's node device driver (virNodeDevice) keeps the tree of the host's
devices: ``computer`` at the root, PCI functions, USB devices and
interfaces, SCSI hosts, targets and LUNs, block devices, network
interfaces ... Each device has a name (``pci_0000_00_03_0``), a parent and
one capability (its type: ``pci``, ``usb_device``, ``net`` ...), which may
carry nested capabilities (``phys_function``, ``mdev_types``,
``fc_host``, ``vport_ops`` ...).

``list_by_caps`` lists every device (one ``listAllDevices`` call, then one
``XMLDesc`` per device; none of them reaches a qemu monitor) and parses each
XML into upstream Vdsm's flat ``params`` dict with the same keys and the
same string values the manager parses (``vendor_id: '0x8086'``,
``is_assignable: 'true'``, ``iommu_group: '12'``). A few facts libvirt does
not say come from sysfs: whether a PCI function is an endpoint (its config
header type), the SR-IOV ``sriov_totalvfs``, and the IOMMU group when the
XML lacks it. A SCSI device is then completed from its children: vendor
and product from its ``storage`` child, the ``/dev/sg*`` path from its
``scsi_generic`` child.

Filtering by capability names keeps the devices whose capability, or one
of its nested capabilities, is named; this is what libvirt's own
``VIR_CONNECT_LIST_NODE_DEVICES_CAP_*`` flags select. A name no device has
selects nothing. The whole tree is always read so that a SCSI device is
complete whatever the filter.

A connection to ``qemu:///system`` is opened read-only per call and closed
at once, as in ``libvirtcaps``: the manager asks when it refreshes a host,
and a fresh connection needs no reconnect logic after libvirtd restarts.
"""

from __future__ import annotations

import logging
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import libvirt

from vdsm.common import exception

log = logging.getLogger("vdsm.host.hostdev")

URI = "qemu:///system"
ROOT_DEVICE = "computer"

# Names of upstream's cap list that differ from the XML capability type.
CAP_ALIASES = {"vports": "vport_ops"}

# Nested PCI capabilities of a function that cannot be handed to a guest.
PCI_BRIDGES = {"pci-bridge", "cardbus-bridge"}

# PCI config space: the header type byte, its layout bits and "endpoint".
PCI_HEADER_TYPE_OFFSET = 0x0e
PCI_HEADER_LAYOUT_MASK = 0x7f
PCI_HEADER_ENDPOINT = 0

ADDRESS_FIELDS = {
    "pci": ("domain", "bus", "slot", "function"),
    "scsi": ("host", "bus", "target", "lun"),
    "usb_device": ("bus", "device"),
}


class Sysfs:
    """The few PCI facts read from sysfs; root is moved in tests."""

    def __init__(self, root: str = "/sys") -> None:
        self.root = root

    def _pci(self, address: str, *names: str) -> str:
        return os.path.join(self.root, "bus/pci/devices", address, *names)

    def pci_header_type(self, address: str) -> int | None:
        """The layout of the function's config header, None if unreadable."""
        try:
            with open(self._pci(address, "config"), "rb") as f:
                f.seek(PCI_HEADER_TYPE_OFFSET)
                byte = f.read(1)
        except OSError:
            return None
        return byte[0] & PCI_HEADER_LAYOUT_MASK if byte else None

    def iommu_group(self, address: str) -> str | None:
        try:
            link = os.readlink(self._pci(address, "iommu_group"))
        except OSError:
            return None
        return os.path.basename(link)

    def sriov_totalvfs(self, address: str) -> int | None:
        try:
            with open(self._pci(address, "sriov_totalvfs")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None


@dataclass
class NodeDevice:
    name: str
    params: dict[str, Any]
    # The capability type and every nested one: what a filter matches.
    caps: set[str] = field(default_factory=set)

    @property
    def capability(self) -> str:
        return self.params["capability"]


# Parsing one device XML.

def parse_device(xml: str, sysfs: Sysfs) -> NodeDevice:
    """One nodedev XML as upstream's params (before the SCSI completion)."""
    root = ET.fromstring(xml)
    name = _text(root, "name") or ""
    cap = root.find("capability")
    if cap is None:
        raise ValueError(f"node device {name!r} has no capability")
    kind = cap.get("type", "")
    params: dict[str, Any] = {"capability": kind, "is_assignable": "true"}
    parent = _text(root, "parent")
    if name != ROOT_DEVICE and parent:
        params["parent"] = parent
    driver = _text(root, "driver/name")
    if driver:
        params["driver"] = driver
    params.update(_product_info(cap))
    address = _address(cap, ADDRESS_FIELDS.get(kind, ()))
    if address:
        params["address"] = address
    if kind == "pci":
        params.update(_pci_params(name, cap, sysfs))
    elif kind == "storage":
        model = _text(cap, "model")
        if model:
            params["product"] = model
        block = _text(cap, "block")
        if block:
            # Not reported for the storage device itself (upstream does
            # not); its SCSI parent reports it as block_path.
            params["_block"] = block
    elif kind == "scsi_generic":
        char = _text(cap, "char")
        if char:
            params["udev_path"] = char
    nested = {c.get("type", "") for c in cap.iter("capability")}
    return NodeDevice(name, params, nested | {kind})


def _text(element: ET.Element, path: str) -> str | None:
    found = element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _product_info(cap: ET.Element) -> dict[str, str]:
    """vendor/product names and ids, and a net device's interface name."""
    params = {}
    for child in cap:
        if child.tag not in ("vendor", "product", "interface"):
            continue
        if "id" in child.attrib:
            params[f"{child.tag}_id"] = child.attrib["id"]
        text = (child.text or "").strip()
        if text:
            params[child.tag] = text
    return params


def _address(cap: ET.Element, names: Iterable[str]) -> dict[str, str]:
    address = {}
    for name in names:
        value = _text(cap, name)
        if value is not None:
            address[name] = value
    return address


def _pci_params(name: str, cap: ET.Element, sysfs: Sysfs) -> dict[str, Any]:
    address = pci_sysfs_address(name)
    params: dict[str, Any] = {}
    group = cap.find("iommuGroup")
    number = group.get("number") if group is not None else None
    if number is None:
        number = sysfs.iommu_group(address)
    if number is not None:
        params["iommu_group"] = number
    numa = cap.find("numa")
    if numa is not None and numa.get("node") is not None:
        params["numa_node"] = numa.get("node")
    nested = {c.get("type"): c for c in cap.findall("capability")}
    physfn = nested.get("phys_function")
    if physfn is not None:
        pf_address = physfn.find("address")
        if pf_address is not None:
            params["physfn"] = pci_name(pf_address.attrib)
    totalvfs = sysfs.sriov_totalvfs(address)
    if totalvfs is not None:
        params["totalvfs"] = totalvfs
    if PCI_BRIDGES & set(nested):
        assignable = False
    else:
        assignable = sysfs.pci_header_type(address) == PCI_HEADER_ENDPOINT
    params["is_assignable"] = "true" if assignable else "false"
    mdev = _mdev_types(nested.get("mdev_types"))
    if mdev:
        params["mdev"] = mdev
    return params


def _mdev_types(cap: ET.Element | None) -> dict[str, dict[str, str]]:
    """Mediated device types offered; a type lacking a figure is left out."""
    if cap is None:
        return {}
    types = {}
    for mdev in cap.findall("type"):
        type_id = mdev.get("id")
        name = _text(mdev, "name")
        available = _text(mdev, "availableInstances")
        if type_id and available is not None:
            types[type_id] = {"name": name or "",
                              "available_instances": available}
    return types


def pci_sysfs_address(name: str) -> str:
    """pci_0000_00_1f_2 -> 0000:00:1f.2"""
    domain, bus, slot, function = name.split("_")[1:5]
    return f"{domain}:{bus}:{slot}.{function}"


def pci_name(address: dict[str, str]) -> str:
    """The device name of a nested capability's <address> element.

    domain='0x0000' bus='0x02' slot='0x00' function='0x1' ->
    pci_0000_02_00_1
    """
    def number(key: str) -> int:
        return int(address.get(key, "0"), 16)
    return (f"pci_{number('domain'):04x}_{number('bus'):02x}_"
            f"{number('slot'):02x}_{number('function'):x}")


# The whole tree.

def complete_scsi(devices: dict[str, NodeDevice]) -> None:
    """Give SCSI devices what their storage and scsi_generic children know."""
    children: dict[tuple[str, str], NodeDevice] = {}
    for device in devices.values():
        parent = device.params.get("parent")
        if parent is not None:
            children[(parent, device.capability)] = device
    for name, device in devices.items():
        if device.capability != "scsi":
            continue
        storage = children.get((name, "storage"))
        if storage is not None:
            for key in ("vendor", "product"):
                if key in storage.params:
                    device.params[key] = storage.params[key]
            block = storage.params.get("_block")
            if block:
                device.params["block_path"] = block
        generic = children.get((name, "scsi_generic"))
        if generic is not None and "udev_path" in generic.params:
            device.params["udev_path"] = generic.params["udev_path"]


def select(devices: dict[str, NodeDevice],
           caps: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """The wire answer: every device, or those having one of caps."""
    wanted = {CAP_ALIASES.get(c, c) for c in caps}
    return {name: {"params": _public(devices[name].params)}
            for name in sorted(devices)
            if not wanted or wanted & devices[name].caps}


def _public(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if not k.startswith("_")}


def parse_all(xmls: Iterable[str], sysfs: Sysfs) -> dict[str, NodeDevice]:
    devices = {}
    for xml in xmls:
        try:
            device = parse_device(xml, sysfs)
        except (ET.ParseError, ValueError) as e:
            log.warning("SKIP node device reason=%s", e)
            continue
        devices[device.name] = device
    complete_scsi(devices)
    return devices


# libvirt.

def read_xmls(conn: libvirt.virConnect) -> list[str]:
    """Every node device's XML; a device gone meanwhile is left out."""
    xmls = []
    for device in conn.listAllDevices(0):
        try:
            xmls.append(device.XMLDesc(0))
        except libvirt.libvirtError as e:
            log.debug("SKIP node device gone name=%s error=%s",
                      device.name(), e)
    return xmls


def list_by_caps(caps: Iterable[str] = (), uri: str = URI,
                 sysfs: Sysfs | None = None) -> dict[str, dict[str, Any]]:
    """Ask libvirtd now. Raises ResourceUnavailable when it cannot answer."""
    started = time.monotonic()
    try:
        conn = libvirt.openReadOnly(uri)
    except libvirt.libvirtError as e:
        raise exception.ResourceUnavailable(
            f"libvirt node devices: {e}", uri=uri)
    try:
        xmls = read_xmls(conn)
    except libvirt.libvirtError as e:
        raise exception.ResourceUnavailable(
            f"libvirt node devices: {e}", uri=uri)
    finally:
        _close(conn)
    devices = parse_all(xmls, sysfs or Sysfs())
    result = select(devices, caps)
    log.debug("LIST node devices=%d selected=%d caps=%s elapsed=%.3f",
              len(devices), len(result), list(caps),
              time.monotonic() - started)
    return result


def _close(conn: libvirt.virConnect) -> None:
    try:
        conn.close()
    except libvirt.libvirtError:
        pass
