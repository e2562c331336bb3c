"""What libvirt and qemu offer on this host: machines, cpu models, TSC.

A connection to ``qemu:///system`` is opened per query and closed at once:
capabilities are asked for rarely (the manager calls getCapabilities when
a host is activated or its network changed), and a fresh connection never
needs reconnect logic after libvirtd restarts.

The domain capabilities (usable cpu models) need a read-write connection;
when that is refused, the read-only one still gives the machine types and
the cpu models are left out, with one log line.
"""

from __future__ import annotations

import logging
import os
import platform
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import libvirt

log = logging.getLogger("vdsm.host.libvirtcaps")

URI = "qemu:///system"


@dataclass
class LibvirtCaps:
    emulated_machines: list[str] = field(default_factory=list)
    cpu_models: list[str] = field(default_factory=list)
    tsc_frequency: str = ""
    tsc_scaling: bool = False
    libvirt_version: str = ""


def arch() -> str:
    return platform.machine()


def kvm_usable() -> bool:
    return os.path.exists("/dev/kvm")


def query(uri: str = URI) -> LibvirtCaps:
    """Ask libvirtd. Raises libvirt.libvirtError if it cannot be reached."""
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as e:
        log.info("OPEN uri=%s mode=ro reason=%s", uri, e)
        conn = libvirt.openReadOnly(uri)
        readonly = True
    else:
        readonly = False
    try:
        caps = parse_capabilities(conn.getCapabilities(), arch())
        caps.libvirt_version = _version_string(conn.getLibVersion())
        if not readonly:
            virt_type = "kvm" if kvm_usable() else "qemu"
            domcaps = conn.getDomainCapabilities(None, arch(), None,
                                                 virt_type)
            caps.cpu_models = parse_cpu_models(domcaps)
        return caps
    finally:
        conn.close()


def parse_capabilities(xml: str, host_arch: str) -> LibvirtCaps:
    """Machine types of the host arch and the TSC counter, from caps XML.

    Both a machine's name (``pc-i440fx-7.2``) and its alias (``pc``) are
    reported: the manager may ask for either.
    """
    root = ET.fromstring(xml)
    caps = LibvirtCaps()
    machines: set[str] = set()
    for guest in root.findall("guest"):
        guest_arch = guest.find("arch")
        if guest_arch is None or guest_arch.get("name") != host_arch:
            continue
        for machine in guest_arch.findall("machine"):
            if machine.text:
                machines.add(machine.text)
            canonical = machine.get("canonical")
            if canonical:
                machines.add(canonical)
    caps.emulated_machines = sorted(machines)
    counter = root.find("host/cpu/counter[@name='tsc']")
    if counter is not None:
        caps.tsc_frequency = counter.get("frequency", "")
        caps.tsc_scaling = counter.get("scaling") == "yes"
    return caps


def parse_cpu_models(domcaps_xml: str) -> list[str]:
    """Names of the custom cpu models qemu can run here (usable='yes')."""
    root = ET.fromstring(domcaps_xml)
    return [m.text for m in
            root.findall("cpu/mode[@name='custom']/model[@usable='yes']")
            if m.text]


def _version_string(number: int) -> str:
    major, rest = divmod(number, 1000000)
    minor, micro = divmod(rest, 1000)
    return f"{major}.{minor}.{micro}"
