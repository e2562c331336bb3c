"""Host.getCapabilities: what this host is and what it can run.

Assembled on each call from the kernel (/proc, /sys), libvirt's
capabilities, dpkg (cached), open-iscsi's initiator name, the FC adapters
and the config, as typed values; ``vdsm.api.host_caps_wire`` maps them to
upstream's VdsmCapabilities wire names and forms. Other subsystems'
parts (networks, hooks) are composed in ``vdsm.api.host_wire``.

Every part is read on its own: a part that fails (libvirtd down, no
/sys/class/dmi, no open-iscsi) is logged and answered with its empty
value, never a failed getCapabilities. The manager needs the answer to
bring the host up and sees from the empty values what is missing.
"""

from __future__ import annotations

import logging
import shutil
import socket
from dataclasses import dataclass, field
from typing import Callable, TypeVar

import libvirt

from vdsm.common import commands
from vdsm.common.config import Config
from vdsm.host import (addresses, features, hardware, hba, libvirtcaps,
                       osinfo, procfs, storagecaps, topology, version)

log = logging.getLogger("vdsm.host.capabilities")

T = TypeVar("T")


@dataclass(frozen=True)
class CpuCaps:
    model: str = ""
    flags: tuple[str, ...] = ()
    speed_mhz: float | None = None
    kvm_enabled: bool = False


@dataclass(frozen=True)
class MemoryCaps:
    total_mib: int = 0
    reserved_mib: int = 0
    guest_overhead_mib: int = 0
    hugepage_sizes_kib: tuple[int, ...] = ()


@dataclass(frozen=True)
class PlatformCaps:
    kernel_args: str = ""
    selinux_mode: str = ""
    kdump_status: int = -1
    fips_enabled: bool = False
    realtime_kernel: bool = False
    nested_virtualization: bool = False
    rng_sources: tuple[str, ...] = ()
    hostdev_passthrough: bool = False
    cpu_affinity: tuple[int, ...] = ()
    hosted_engine_deployed: bool = False
    auto_numa_balancing: int = 2        # upstream: cannot tell


@dataclass(frozen=True)
class SoftwareCaps:
    operating_system: dict[str, str] = field(default_factory=dict)
    packages: dict[str, dict[str, str]] = field(default_factory=dict)
    software_version: str = version.SOFTWARE_VERSION
    software_revision: str = version.SOFTWARE_REVISION
    version_name: str = version.VERSION_NAME
    supported_engines: tuple[str, ...] = tuple(version.SUPPORTED_ENGINES)
    cluster_levels: tuple[str, ...] = tuple(version.CLUSTER_LEVELS)


@dataclass(frozen=True)
class FeatureCaps:
    """What this host can do for the manager's optional features; true
    only where the feature works here."""
    # Incremental, cold backup and clearing bitmaps: no VM.start_backup,
    # no SDM.clear_bitmaps here yet.
    backup: bool = False
    cold_backup: bool = False
    clear_bitmaps: bool = False
    # vdsm-tool configure sets vnc_tls = 0 in qemu.conf.
    vnc_encrypted: bool = False
    # OVN needs Open vSwitch and ovn-controller.
    ovn_configured: bool = False


@dataclass(frozen=True)
class HostCapabilities:
    cpu: CpuCaps
    libvirt: libvirtcaps.LibvirtCaps
    topology: topology.Topology
    memory: MemoryCaps
    platform: PlatformCaps
    software: SoftwareCaps
    hba: hba.HbaInventory
    storage: storagecaps.StorageCaps
    features: FeatureCaps
    last_client_iface: str = ""
    host_uuid: str = ""
    hostname: str = ""
    vm_types: tuple[str, ...] = ("kvm",)


def capabilities(config: Config, packages: osinfo.PackageCache,
                 local: tuple | None) -> HostCapabilities:
    lv = guarded("libvirt", query_libvirt, libvirtcaps.LibvirtCaps())
    return HostCapabilities(
        cpu=guarded("cpu", lambda: cpu_caps(lv), CpuCaps()),
        libvirt=lv,
        topology=guarded("topology", topology.read_topology,
                         topology.Topology([], [])),
        memory=guarded("memory", lambda: memory_caps(config), MemoryCaps()),
        platform=guarded("platform", platform_caps, PlatformCaps()),
        software=guarded("software", lambda: software_caps(packages),
                         SoftwareCaps()),
        hba=guarded("hba", hba.inventory, hba.HbaInventory((), ())),
        storage=storagecaps.storage_caps(),
        features=FeatureCaps(ovn_configured=guarded(
            "ovn", ovn_configured, False)),
        last_client_iface=guarded(
            "client-iface", lambda: addresses.client_iface(local), ""),
        host_uuid=guarded("uuid", hardware.host_uuid, ""),
        hostname=socket.gethostname())


def guarded(part: str, func: Callable[[], T], default: T) -> T:
    """func(), or default (logged) when it fails."""
    try:
        return func()
    except Exception as e:
        log.error("FAIL caps-part=%s reason=%s", part, e,
                  exc_info=not isinstance(e, (OSError, libvirt.libvirtError,
                                              ValueError)))
        return default


def query_libvirt() -> libvirtcaps.LibvirtCaps:
    # Without libvirtd the manager sees no emulated machines and keeps
    # the host non-operational until libvirtd is back: the truthful
    # answer.
    return libvirtcaps.query()


def cpu_caps(lv: libvirtcaps.LibvirtCaps) -> CpuCaps:
    info = procfs.parse_cpuinfo(procfs.read("/proc/cpuinfo"))
    flags = tuple(info.flags) + tuple(f"model_{m}" for m in lv.cpu_models)
    return CpuCaps(model=info.model, flags=flags, speed_mhz=info.mhz,
                   kvm_enabled=features.kvm_enabled())


def memory_caps(config: Config) -> MemoryCaps:
    meminfo = procfs.parse_meminfo(procfs.read("/proc/meminfo"))
    return MemoryCaps(
        total_mib=meminfo["MemTotal"] // 1024,
        reserved_mib=config.getint("vars", "host_mem_reserve"),
        guest_overhead_mib=config.getint("vars", "guest_ram_overhead"),
        hugepage_sizes_kib=tuple(features.hugepage_sizes()))


def platform_caps() -> PlatformCaps:
    return PlatformCaps(
        kernel_args=features.kernel_args(),
        selinux_mode=features.selinux_mode(),
        kdump_status=features.kdump_status(),
        fips_enabled=features.fips_enabled(),
        realtime_kernel=features.realtime_kernel(),
        nested_virtualization=features.nested_virtualization(),
        rng_sources=tuple(features.rng_sources()),
        hostdev_passthrough=features.hostdev_passthrough(),
        cpu_affinity=tuple(features.cpu_affinity()),
        hosted_engine_deployed=features.hosted_engine_deployed(),
        auto_numa_balancing=features.auto_numa_balancing())


def software_caps(packages: osinfo.PackageCache) -> SoftwareCaps:
    return SoftwareCaps(operating_system=osinfo.operating_system(),
                        packages=packages.packages())


def ovn_configured() -> bool:
    """As upstream: this host's Open vSwitch names an OVN southbound
    database (external_ids:ovn-remote). No Open vSwitch: not configured."""
    if shutil.which("ovs-vsctl") is None:
        return False
    res = commands.run(["ovs-vsctl", "--timeout=5", "get", "Open_vSwitch",
                        ".", "external_ids:ovn-remote"], timeout=10,
                       check=False)
    return res.rc == 0 and res.stdout.strip().strip('"') != ""
