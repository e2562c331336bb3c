"""Changing a vNIC of a running VM in place (VM.updateDevice interface).

The vNIC is found in the live domain by its alias (or its MAC). The change
is made on a copy of its live ``<interface>``: ``<link state>`` for the
link, ``<source bridge>`` for the network, ``<filterref>`` for the
network filter; the copy goes to ``virDomainUpdateDeviceFlags`` on the
live and the persistent definition at once, so qemu, the tap device's
bridge and the nwfilter rules change before the call returns, and a VM
restarted from its definition keeps the change. Network '' detaches the
vNIC from every network as far as libvirt can live: the link goes down
(no frame passes) and the metadata records no network; libvirt cannot
move a live vNIC off a bridge.

Port mirroring lists the networks whose traffic is copied to the vNIC's
tap device (tc mirred, through supervdsm); the list lives in the vNIC's
``<ovirt-vm:device>`` metadata. Mirrors are changed after the device, and
a failure undoes what was done, so a failed call leaves the vNIC as it
was.

Every input is checked before anything changes (upstream's 56 for an
unknown vNIC or a bad request).
"""

from __future__ import annotations

import copy
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import libvirt

from vdsm.common import exception, xmltree
from vdsm.supervdsm.api import mirroring
from vdsm.virt import domxml, metadata
from vdsm.virt.errors import UpdateDeviceFailed
from vdsm.virt.vm import Vm

log = logging.getLogger("vdsm.virt.nics")

BOTH = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
MD = f"{{{metadata.NS}}}"
BANDWIDTH_WAYS = ("inbound", "outbound")
BANDWIDTH_ATTRS = ("average", "peak", "burst")


@dataclass(frozen=True)
class NicUpdate:
    """What to change; None keeps the current value."""
    alias: str | None = None
    mac: str | None = None
    link_active: bool | None = None
    network: str | None = None
    port_mirroring: tuple[str, ...] | None = None
    filter: str | None = None
    filter_parameters: tuple[tuple[str, str], ...] | None = None
    # QoS: {"inbound"/"outbound": {"average"/"peak"/"burst": kB/s, kB}};
    # {} removes it.
    bandwidth: dict[str, dict[str, int]] | None = None


class Mirrors(Protocol):
    """tc port mirroring of a bridge's traffic to a tap device."""

    def set(self, network: str, tap: str) -> None: ...

    def unset(self, network: str, tap: str) -> None: ...


class PrivilegedMirrors:
    """Mirrors through supervdsm (``vdsm.supervdsm.api.mirroring``)."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def set(self, network: str, tap: str) -> None:
        self._call(mirroring.set_port_mirroring, network, tap)

    def unset(self, network: str, tap: str) -> None:
        self._call(mirroring.unset_port_mirroring, network, tap)


def from_xml(xml: str) -> NicUpdate:
    """The update an engine <hotplug> document (or bare <interface>)
    asks for: every value it carries."""
    try:
        root = xmltree.fromstring(xml)
    except ET.ParseError as e:
        raise UpdateDeviceFailed(f"malformed XML: {e}")
    if root.tag == "interface":
        nic, md_dev = root, None
    else:
        found = root.findall("devices/interface")
        if len(found) != 1:
            raise UpdateDeviceFailed(
                f"expected one <interface> under <devices>, found "
                f"{len(found)}")
        nic = found[0]
        md = metadata.Metadata.from_element(metadata.find(root))
        md_dev = md.devices[0] if md.devices else None
    alias = nic.find("alias")
    mac = nic.find("mac")
    link = nic.find("link")
    source = nic.find("source")
    filterref = nic.find("filterref")
    bandwidth = nic.find("bandwidth")
    mirroring: tuple[str, ...] | None = None
    if md_dev is not None:
        pm = md_dev.find(f"{MD}portMirroring")
        mirroring = tuple(n.text or "" for n in pm.findall(f"{MD}network")) \
            if pm is not None else ()
    return NicUpdate(
        alias=alias.get("name") if alias is not None else None,
        mac=mac.get("address") if mac is not None else None,
        link_active=(link.get("state", "up") != "down")
        if link is not None else True,
        network=source.get("bridge") if source is not None else None,
        port_mirroring=mirroring,
        filter=filterref.get("filter") if filterref is not None else "",
        filter_parameters=tuple(
            (p.get("name", ""), p.get("value", ""))
            for p in filterref.findall("parameter"))
        if filterref is not None else (),
        bandwidth=_bandwidth(bandwidth))


def _bandwidth(elem: ET.Element | None) -> dict[str, dict[str, int]]:
    if elem is None:
        return {}
    out: dict[str, dict[str, int]] = {}
    for way in elem:
        if way.tag not in BANDWIDTH_WAYS:
            raise UpdateDeviceFailed(f"unknown <bandwidth> child {way.tag}")
        out[way.tag] = {}
        for name, value in way.attrib.items():
            if name not in BANDWIDTH_ATTRS or not value.isdigit():
                raise UpdateDeviceFailed(
                    f"bandwidth {way.tag} {name}={value!r}")
            out[way.tag][name] = int(value)
    return out


def update(vm: Vm, change: NicUpdate, mirrors: Mirrors | None) -> None:
    if change.alias is None and change.mac is None:
        raise UpdateDeviceFailed("no alias or MAC names the vNIC")
    with vm.lock:
        dom = vm.require_running()
        vm.refresh(dom)
        assert vm.root is not None
        live = _find(vm.root, change)
        if live is None:
            raise UpdateDeviceFailed(
                f"vmId={vm.id} has no vNIC alias={change.alias} "
                f"mac={change.mac}")
        mac = live.find("mac")
        mac_address = mac.get("address", "") if mac is not None else ""
        md_dev = _md_device(vm, mac_address)
        old_mirrors = _mirrored(md_dev)
        new_mirrors = old_mirrors if change.port_mirroring is None \
            else list(change.port_mirroring)
        if new_mirrors != old_mirrors and mirrors is None:
            raise UpdateDeviceFailed("port mirroring is not available")
        target = live.find("target")
        tap = target.get("dev", "") if target is not None else ""
        wanted = _changed(live, change)
        changed_device = domxml.to_string(wanted) != domxml.to_string(live)
        if changed_device:
            xml = vm.hook("before_update_device", domxml.to_string(wanted))
            try:
                dom.updateDeviceFlags(xml, BOTH)
            except libvirt.libvirtError as e:
                _after_hook(vm, "after_update_device_fail", xml)
                raise vm._translate(e, UpdateDeviceFailed)
        try:
            if new_mirrors != old_mirrors:
                assert mirrors is not None
                try:
                    _mirror(mirrors, tap, old_mirrors, new_mirrors)
                except exception.VdsmError as e:
                    raise UpdateDeviceFailed(
                        f"vmId={vm.id}: port mirroring: {e}") from None
            _save_metadata(vm, dom, mac_address, change, new_mirrors)
        except BaseException:
            if changed_device:
                _undo(dom, live)
            vm.refresh(dom)
            raise
        vm.refresh(dom)
        log.info("UPDATE nic vm=%s mac=%s link=%s network=%s mirrors=%s",
                 vm.id, mac_address, change.link_active, change.network,
                 new_mirrors)
        if changed_device:
            _after_hook(vm, "after_update_device", domxml.to_string(wanted))


def _find(root: ET.Element, change: NicUpdate) -> ET.Element | None:
    for nic in root.findall("devices/interface"):
        alias = nic.find("alias")
        if change.alias is not None and alias is not None \
                and alias.get("name") == change.alias:
            return nic
    if change.mac is not None:
        for nic in root.findall("devices/interface"):
            mac = nic.find("mac")
            if mac is not None and \
                    mac.get("address", "").lower() == change.mac.lower():
                return nic
    return None


def _changed(live: ET.Element, change: NicUpdate) -> ET.Element:
    nic = copy.deepcopy(live)
    link_up = change.link_active
    if change.network is not None:
        if change.network == "":
            link_up = False
        else:
            if nic.get("type") != "bridge":
                raise UpdateDeviceFailed(
                    f"vNIC type {nic.get('type')} has no bridge to change")
            source = nic.find("source")
            if source is None:
                source = ET.SubElement(nic, "source")
            source.set("bridge", change.network)
    if link_up is not None:
        link = nic.find("link")
        if link is None:
            link = ET.SubElement(nic, "link")
        link.set("state", "up" if link_up else "down")
    if change.filter is not None:
        old = nic.find("filterref")
        if old is not None:
            nic.remove(old)
        if change.filter:
            ref = ET.SubElement(nic, "filterref", filter=change.filter)
            for name, value in change.filter_parameters or ():
                ET.SubElement(ref, "parameter", name=name, value=value)
    if change.bandwidth is not None:
        old = nic.find("bandwidth")
        if old is not None:
            nic.remove(old)
        if change.bandwidth:
            bandwidth = ET.SubElement(nic, "bandwidth")
            for way in BANDWIDTH_WAYS:
                if way in change.bandwidth:
                    ET.SubElement(bandwidth, way, {
                        k: str(v) for k, v in change.bandwidth[way].items()})
    return nic


def _md_device(vm: Vm, mac: str) -> ET.Element | None:
    for dev in vm.md.devices:
        found = dev.get("mac_address") or dev.findtext(f"{MD}mac_address")
        if found and found.lower() == mac.lower():
            return dev
    return None


def _mirrored(md_dev: ET.Element | None) -> list[str]:
    if md_dev is None:
        return []
    pm = md_dev.find(f"{MD}portMirroring")
    if pm is None:
        return []
    return [n.text or "" for n in pm.findall(f"{MD}network")]


def _mirror(mirrors: Mirrors, tap: str, old: list[str],
            new: list[str]) -> None:
    done: list[tuple[Callable[[str, str], None], str]] = []
    try:
        for net in old:
            if net not in new:
                mirrors.unset(net, tap)
                done.append((mirrors.set, net))
        for net in new:
            if net not in old:
                mirrors.set(net, tap)
                done.append((mirrors.unset, net))
    except BaseException:
        for undo, net in reversed(done):
            try:
                undo(net, tap)
            except exception.VdsmError as e:
                log.warning("FAIL undo mirror net=%s tap=%s error=%s", net,
                            tap, str(e))
        raise


def _save_metadata(vm: Vm, dom: libvirt.virDomain, mac: str,
                   change: NicUpdate, mirrors: list[str]) -> None:
    md_dev = _md_device(vm, mac)
    if md_dev is None:
        md_dev = ET.Element(metadata.DEVICE_TAG, mac_address=mac)
        vm.md.devices.append(md_dev)
    if change.network is not None:
        net = md_dev.find(f"{MD}network")
        if net is None:
            net = ET.SubElement(md_dev, f"{MD}network")
        net.text = change.network
    old = md_dev.find(f"{MD}portMirroring")
    if old is not None:
        md_dev.remove(old)
    if mirrors:
        pm = ET.SubElement(md_dev, f"{MD}portMirroring")
        for name in mirrors:
            ET.SubElement(pm, f"{MD}network").text = name
    vm.save_metadata(dom)


def _undo(dom: libvirt.virDomain, live: ET.Element) -> None:
    try:
        dom.updateDeviceFlags(domxml.to_string(live), BOTH)
    except libvirt.libvirtError as e:
        log.warning("FAIL undo nic update error=%s", str(e))


def _after_hook(vm: Vm, point: str, xml: str) -> None:
    try:
        vm.hook(point, xml)
    except exception.HookError as e:
        log.warning("FAIL hook=%s vm=%s error=%s", point, vm.id, str(e))



def release(vm: Vm, mirrors: Mirrors) -> None:
    """Take down the port mirrors of the VM's vNICs (before destroy)."""
    if vm.root is None:
        return
    for nic in vm.root.findall("devices/interface"):
        release_nic(vm, nic, mirrors)


def release_nic(vm: Vm, nic: ET.Element, mirrors: Mirrors
                ) -> list[tuple[str, str]]:
    """Take down the port mirrors of one live vNIC; return the
    (network, tap) pairs taken down."""
    mac = nic.find("mac")
    target = nic.find("target")
    if mac is None or target is None or not target.get("dev"):
        return []
    tap = target.get("dev", "")
    done = []
    for net in _mirrored(_md_device(vm, mac.get("address", ""))):
        try:
            mirrors.unset(net, tap)
            done.append((net, tap))
        except exception.VdsmError as e:
            log.warning("FAIL unset mirror vm=%s net=%s error=%s",
                        vm.id, net, str(e))
    return done


def restore_mirrors(mirrors: Mirrors, pairs: list[tuple[str, str]]
                    ) -> None:
    for net, tap in pairs:
        try:
            mirrors.set(net, tap)
        except exception.VdsmError as e:
            log.warning("FAIL restore mirror net=%s tap=%s error=%s", net,
                        tap, str(e))
