"""Reading and checking the libvirt domain XML a manager sends.

The domain XML is the VM's canonical model: this module only parses it,
checks what must be true before anything is defined, applies host policy
(emulation) and reads facts back from it. It never talks to libvirt.
"""

from __future__ import annotations

import os
import secrets
import uuid
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass

from vdsm.common import exception, xmltree
from vdsm.virt import metadata


@dataclass
class Disk:
    target: str
    device: str
    path: str | None
    alias: str | None


@dataclass
class Nic:
    mac: str | None
    alias: str | None
    target: str | None
    link_up: bool = True


@dataclass(frozen=True)
class Graphics:
    """One display of a running domain (ports as libvirt allocated them).
    """

    kind: str                 # vnc, spice
    address: str              # where it listens ('' when unknown)
    port: int | None
    tls_port: int | None


def parse(text: str) -> ET.Element:
    """Parse a domain XML, refusing what is not one (code 9)."""
    if not isinstance(text, str) or not text.strip():
        raise exception.CannotCreateVM("empty domain XML")
    try:
        root = xmltree.fromstring(text)
    except ET.ParseError as e:
        raise exception.CannotCreateVM(f"malformed domain XML: {e}")
    if root.tag != "domain":
        raise exception.CannotCreateVM(
            f"root element is <{root.tag}>, expected <domain>")
    return root


def prepare(root: ET.Element, vm_id: str, emulate: bool) -> None:
    """Check a parsed domain for creation and apply host policy.

    Sets <uuid> to vm_id (refusing a different one) and a name if missing;
    with emulate, turns kvm into TCG. Raises CannotCreateVM naming the
    problem; changes nothing outside root.
    """
    check_uuid(root, vm_id)
    if root.find("name") is None or not (root.findtext("name") or "").strip():
        ET.SubElement(root, "name").text = f"vm-{vm_id}"
    if root.get("type") not in ("kvm", "qemu"):
        raise exception.CannotCreateVM(
            f"domain type {root.get('type')!r} is not kvm or qemu")
    if emulate:
        emulate_kvm(root)
    lock_graphics(root)
    check_devices(root)


def check_uuid(root: ET.Element, vm_id: str) -> None:
    """Make <uuid> vm_id (set when missing); refuse a different one."""
    try:
        wanted = str(uuid.UUID(vm_id))
    except (ValueError, TypeError, AttributeError):
        raise exception.InvalidParameter(f"vmID {vm_id!r} is not a UUID")
    elem = root.find("uuid")
    if elem is None:
        ET.SubElement(root, "uuid").text = wanted
        return
    try:
        have = str(uuid.UUID((elem.text or "").strip()))
    except ValueError:
        raise exception.CannotCreateVM(f"bad <uuid> {elem.text!r}")
    if have != wanted:
        raise exception.CannotCreateVM(
            f"<uuid> {have} differs from vmID {wanted}")
    elem.text = wanted


def emulate_kvm(root: ET.Element) -> None:
    """Run a kvm domain as TCG: type qemu, no host CPU model."""
    if root.get("type") == "kvm":
        root.set("type", "qemu")
    cpu = root.find("cpu")
    if cpu is not None and cpu.get("mode") in ("host-passthrough",
                                               "host-model"):
        root.remove(cpu)


def lock_graphics(root: ET.Element) -> None:
    """Give password-less VNC/SPICE an expired random password.

    qemu can only take a password later (VM.setTicket) when the display
    started with one; an expired one keeps the console locked until a
    ticket is set, as oVirt Engine's own domain XML does.
    """
    for graphics in root.findall("devices/graphics"):
        if graphics.get("type") in ("vnc", "spice") \
                and "passwd" not in graphics.attrib:
            graphics.set("passwd", secrets.token_urlsafe(6))
            graphics.set("passwdValidTo", "1970-01-01T00:00:01")


def check_devices(root: ET.Element) -> None:
    """Refuse devices that cannot work: missing files, unknown kinds."""
    devices = root.find("devices")
    for tag in ("kernel", "initrd"):
        path = root.findtext(f"os/{tag}")
        if path and not os.path.exists(path):
            raise exception.CannotCreateVM(f"{tag} {path} does not exist")
    if devices is None:
        return
    for disk in devices.findall("disk"):
        check_disk(disk, exception.CannotCreateVM)


def check_disk(disk: ET.Element, error: type[exception.VdsmError]) -> None:
    kind = disk.get("type", "file")
    device = disk.get("device", "disk")
    if kind not in ("file", "block", "network", "volume", "dir"):
        raise error(f"disk type {kind!r} is not supported")
    target = disk.find("target")
    dev = target.get("dev") if target is not None else None
    if not dev:
        raise error("disk has no <target dev=...>")
    source = disk.find("source")
    path = None
    if source is not None:
        path = source.get("file") or source.get("dev")
    if path is None:
        if device in ("cdrom", "floppy"):
            return
        raise error(f"disk {dev} has no source")
    if kind in ("file", "block") and not os.path.exists(path):
        raise error(f"disk source {path} does not exist")


_UNITS = {"b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000,
          "m": 1024**2, "mib": 1024**2, "mb": 1000**2, "g": 1024**3,
          "gib": 1024**3, "gb": 1000**3, "t": 1024**4, "tib": 1024**4}


def memory_mib(root: ET.Element) -> int:
    """The <memory> of a domain, in MiB (0 when unreadable)."""
    elem = root.find("memory")
    if elem is None:
        return 0
    try:
        value = int((elem.text or "0").strip())
    except ValueError:
        return 0
    unit = _UNITS.get(elem.get("unit", "KiB").lower(), 1024)
    return value * unit // 1024**2


def to_string(root: ET.Element) -> str:
    return ET.tostring(root, encoding="unicode")


def vm_metadata(root: ET.Element) -> metadata.Metadata:
    return metadata.Metadata.from_element(metadata.find(root))


def devices_hash(root: ET.Element) -> str:
    """A stable hash of the <devices> element (changes on hotplug)."""
    devices = root.find("devices")
    text = b"" if devices is None else ET.tostring(devices)
    return str(zlib.crc32(text))


def disks(root: ET.Element) -> list[Disk]:
    out = []
    for disk in root.findall("devices/disk"):
        source = disk.find("source")
        path = None
        if source is not None:
            path = source.get("file") or source.get("dev")
        alias = disk.find("alias")
        target = disk.find("target")
        out.append(Disk(
            target=target.get("dev", "") if target is not None else "",
            device=disk.get("device", "disk"), path=path,
            alias=alias.get("name") if alias is not None else None))
    return out


def nics(root: ET.Element) -> list[Nic]:
    out = []
    for nic in root.findall("devices/interface"):
        mac = nic.find("mac")
        alias = nic.find("alias")
        target = nic.find("target")
        link = nic.find("link")
        out.append(Nic(
            mac=mac.get("address") if mac is not None else None,
            alias=alias.get("name") if alias is not None else None,
            target=target.get("dev") if target is not None else None,
            link_up=link is None or link.get("state") != "down"))
    return out


def graphics(root: ET.Element) -> list[Graphics]:
    """The VNC and SPICE displays of a (live) domain XML."""
    out = []
    for dev in root.findall("devices/graphics"):
        kind = dev.get("type", "")
        if kind not in ("vnc", "spice"):
            continue
        listen = dev.find("listen")
        address = dev.get("listen") or (
            listen.get("address") if listen is not None else None) or ""
        out.append(Graphics(kind, address, _port(dev.get("port")),
                            _port(dev.get("tlsPort"))))
    return out


def _port(value: str | None) -> int | None:
    try:
        port = int(value) if value is not None else -1
    except ValueError:
        return None
    return port if port > 0 else None


def cdrom_path(root: ET.Element) -> str | None:
    """The medium in the first CD-ROM ('' when empty, None: no CD-ROM)."""
    for disk in disks(root):
        if disk.device == "cdrom":
            return disk.path or ""
    return None


def clock_adjustment(root: ET.Element) -> int:
    """The RTC offset from UTC the domain starts with, in seconds."""
    clock = root.find("clock")
    if clock is None or clock.get("offset") != "variable":
        return 0
    try:
        return int(clock.get("adjustment", "0"))
    except ValueError:
        return 0


def has_guest_agent(root: ET.Element) -> bool:
    """Does the domain have the qemu-guest-agent channel?"""
    return any(t.get("name") == GUEST_AGENT_CHANNEL
               for t in root.findall("devices/channel/target"))


GUEST_AGENT_CHANNEL = "org.qemu.guest_agent.0"


def ballooned(root: ET.Element) -> bool:
    balloon = root.find("devices/memballoon")
    return balloon is not None and balloon.get("model") != "none"


def acpi(root: ET.Element) -> bool:
    return root.find("features/acpi") is not None
