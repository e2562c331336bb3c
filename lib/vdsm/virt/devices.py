"""Changing the devices of a running VM: hotplug, hotunplug, CD.

A hotplug writes the device's ``<ovirt-vm:device>`` metadata first, then
attaches the device to both the live and the persistent definition
(``AFFECT_LIVE | AFFECT_CONFIG``), so when the call returns both the domain
XML and the metadata hold it: a vdsmd crash right after loses nothing. If
the attach fails the metadata is put back.

A hotunplug detaches from both definitions, then waits until the guest has
released the device (it disappears from the live XML); the metadata entry
goes once the device is gone.

The request XML is upstream's::

    <hotplug><devices><disk .../></devices>
      <metadata><ovirt-vm:vm><ovirt-vm:device devtype="disk" name="vdb">
        ...</ovirt-vm:device></ovirt-vm:vm></metadata></hotplug>

a bare ``<disk>`` / ``<interface>`` element is accepted too.
"""

from __future__ import annotations

import copy
import logging
import time
import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from vdsm.common import exception, xmltree
from vdsm.virt import domxml, metadata, nics
from vdsm.virt.errors import ChangeDiskError
from vdsm.virt.vm import Vm

log = logging.getLogger("vdsm.virt.devices")

BOTH = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
UNPLUG_TIMEOUT = 30.0
KINDS = {"disk": (exception.HotplugDiskError, exception.HotunplugDiskError),
         "interface": (exception.HotplugNicError,
                       exception.HotunplugNicError)}


def _request(xml: Any, tag: str, error: type[exception.VdsmError]
             ) -> tuple[ET.Element, list[ET.Element]]:
    """The device element and the metadata devices of a request."""
    if not isinstance(xml, str):
        raise error("params.xml must be a string")
    try:
        root = xmltree.fromstring(xml)
    except ET.ParseError as e:
        raise error(f"malformed XML: {e}")
    if root.tag == tag:
        return root, []
    found = root.findall(f"devices/{tag}")
    if len(found) != 1:
        raise error(f"expected one <{tag}> under <devices>, "
                    f"found {len(found)}")
    md = metadata.Metadata.from_element(metadata.find(root))
    return found[0], md.devices


def _name(dev: ET.Element) -> str | None:
    if dev.tag == "disk":
        target = dev.find("target")
        return target.get("dev") if target is not None else None
    mac = dev.find("mac")
    return mac.get("address") if mac is not None else None


def hotplug(vm: Vm, tag: str, xml: Any) -> None:
    plug_error = KINDS[tag][0]
    dev, md_devices = _request(xml, tag, plug_error)
    if tag == "disk":
        domxml.check_disk(dev, plug_error)
    kind = "disk" if tag == "disk" else "nic"
    with vm.lock:
        dom = vm.require_running()
        dev_xml = domxml.to_string(dev)
        for point in ("before_device_hotplug", f"before_{kind}_hotplug"):
            dev_xml = vm.hook(point, dev_xml)
        old_devices = list(vm.md.devices)
        vm.md.add_devices(md_devices)
        try:
            vm.save_metadata(dom)
            dom.attachDeviceFlags(dev_xml, BOTH)
        except libvirt.libvirtError as e:
            vm.md.devices = old_devices
            _restore_metadata(vm, dom)
            raise plug_error(f"vmId={vm.id}: {e}")
        log.info("HOTPLUG vm=%s device=%s name=%s", vm.id, tag, _name(dev))
        vm.refresh(dom)
        for point in ("after_device_hotplug", f"after_{kind}_hotplug"):
            _after_hook(vm, point, dev_xml)


def _restore_metadata(vm: Vm, dom: libvirt.virDomain) -> None:
    try:
        vm.save_metadata(dom)
    except libvirt.libvirtError as e:
        log.warning("FAIL restore metadata vm=%s error=%s", vm.id, str(e))


def _after_hook(vm: Vm, point: str, xml: str) -> None:
    try:
        vm.hook(point, xml)
    except exception.HookError as e:
        log.warning("FAIL hook=%s vm=%s error=%s", point, vm.id, str(e))


def hotunplug(vm: Vm, tag: str, xml: Any,
              mirrors: nics.Mirrors | None = None) -> None:
    """Detach the device; a vNIC's port mirrors (vdsm.virt.nics) are
    taken down first and put back if the detach fails."""
    unplug_error = KINDS[tag][1]
    wanted, _ = _request(xml, tag, unplug_error)
    kind = "disk" if tag == "disk" else "nic"
    with vm.lock:
        dom = vm.require_running()
        vm.refresh(dom)
        assert vm.root is not None
        dev = _find(vm.root, tag, wanted)
        if dev is None:
            raise unplug_error(f"vmId={vm.id}: no such {tag} "
                               f"{domxml.to_string(wanted)}")
        dev_xml = domxml.to_string(dev)
        for point in ("before_device_hotunplug", f"before_{kind}_hotunplug"):
            vm.hook(point, dev_xml)
        released = nics.release_nic(vm, dev, mirrors) \
            if tag == "interface" and mirrors is not None else []
        try:
            dom.detachDeviceFlags(dev_xml, BOTH)
        except libvirt.libvirtError as e:
            if mirrors is not None:
                nics.restore_mirrors(mirrors, released)
            raise unplug_error(f"vmId={vm.id}: {e}")
        _wait_released(vm, dom, tag, dev, unplug_error)
        name = _name(dev)
        vm.md.devices = [d for d in vm.md.devices
                         if not _md_matches(d, tag, name)]
        vm.save_metadata(dom)
        vm.refresh(dom)
        log.info("HOTUNPLUG vm=%s device=%s name=%s", vm.id, tag, name)
        for point in ("after_device_hotunplug", f"after_{kind}_hotunplug"):
            _after_hook(vm, point, dev_xml)


def _find(root: ET.Element, tag: str, wanted: ET.Element
          ) -> ET.Element | None:
    alias = wanted.find("alias")
    name = _name(wanted)
    for dev in root.findall(f"devices/{tag}"):
        have = dev.find("alias")
        if alias is not None and have is not None \
                and have.get("name") == alias.get("name"):
            return dev
        if name is not None and _name(dev) == name:
            return dev
    return None


def _md_matches(md_dev: ET.Element, tag: str, name: str | None) -> bool:
    if tag == "disk":
        return md_dev.get("devtype") == "disk" and md_dev.get("name") == name
    mac = md_dev.findtext(f"{{{metadata.NS}}}mac_address")
    return md_dev.get("devtype") == "interface" and mac == name


def _wait_released(vm: Vm, dom: libvirt.virDomain, tag: str,
                   dev: ET.Element, error: type[exception.VdsmError]) -> None:
    deadline = time.monotonic() + UNPLUG_TIMEOUT
    while time.monotonic() < deadline:
        if _find(ET.fromstring(dom.XMLDesc(0)), tag, dev) is None:
            return
        time.sleep(0.2)
    raise error(f"vmId={vm.id}: guest did not release the {tag} in "
                f"{UNPLUG_TIMEOUT:.0f}s; it is removed from the "
                f"persistent definition")


def change_cd(vm: Vm, path: str) -> None:
    """Insert the image at path in the VM's CD-ROM ('' ejects)."""
    with vm.lock:
        dom = vm.require_running()
        vm.refresh(dom)
        assert vm.root is not None
        cdrom = next((d for d in vm.root.findall("devices/disk")
                      if d.get("device") == "cdrom"), None)
        if cdrom is None:
            raise ChangeDiskError(f"vmId={vm.id} has no cdrom")
        new = copy.deepcopy(cdrom)
        source = new.find("source")
        if source is not None:
            new.remove(source)
        if path:
            new.set("type", "file")
            ET.SubElement(new, "source", file=path)
            domxml.check_disk(new, ChangeDiskError)
        try:
            dom.updateDeviceFlags(
                domxml.to_string(new),
                BOTH | libvirt.VIR_DOMAIN_DEVICE_MODIFY_FORCE)
        except libvirt.libvirtError as e:
            raise ChangeDiskError(f"vmId={vm.id}: {e}")
        log.info("CHANGECD vm=%s path=%s", vm.id, path or "(eject)")
        vm.refresh(dom)

