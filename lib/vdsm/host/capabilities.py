"""Host.getCapabilities: what this host is and what it can run.

Assembled on each call from the kernel (/proc, /sys), libvirt's
capabilities, dpkg (cached) and the config; ``vdsm.api.host_wire``
adds the other subsystems' parts. Field names and wire forms are
upstream's VdsmCapabilities: counts and sizes upstream types as strings
are sent as strings, booleans upstream sends as strings are 'true' /
'false'.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import libvirt

from vdsm.common.config import Config
from vdsm.host import (addresses, features, hardware, libvirtcaps, osinfo,
                       procfs, topology, version)

log = logging.getLogger("vdsm.host.capabilities")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def capabilities(config: Config, packages: osinfo.PackageCache,
                 local: tuple | None) -> dict[str, Any]:
    caps: dict[str, Any] = {}
    caps.update(cpu_caps(query_libvirt()))
    caps.update(numa_caps(topology.read_topology()))
    caps.update(memory_caps(config))
    caps.update(platform_caps())
    caps.update(software_caps(packages))
    caps["lastClientIface"] = addresses.client_iface(local)
    caps["uuid"] = hardware.host_uuid()
    caps["hostname"] = socket.gethostname()
    caps["vmTypes"] = ["kvm"]
    caps["additionalFeatures"] = []
    return caps


def query_libvirt() -> libvirtcaps.LibvirtCaps:
    try:
        return libvirtcaps.query()
    except libvirt.libvirtError as e:
        # The manager sees no emulated machines and keeps the host
        # non-operational until libvirtd is back: the truthful answer.
        log.error("FAIL query=libvirt-capabilities reason=%s", e)
        return libvirtcaps.LibvirtCaps()


def cpu_caps(lv: libvirtcaps.LibvirtCaps) -> dict[str, Any]:
    info = procfs.parse_cpuinfo(procfs.read("/proc/cpuinfo"))
    flags = info.flags + [f"model_{m}" for m in lv.cpu_models]
    caps: dict[str, Any] = {
        "cpuModel": info.model,
        "cpuFlags": ",".join(flags),
        "emulatedMachines": lv.emulated_machines,
        "kvmEnabled": _bool(features.kvm_enabled()),
        "tscScaling": lv.tsc_scaling,
    }
    if info.mhz is not None:
        caps["cpuSpeed"] = f"{info.mhz:.3f}"
    if lv.tsc_frequency:
        caps["tscFrequency"] = lv.tsc_frequency
    return caps


def numa_caps(topo: topology.Topology) -> dict[str, Any]:
    return {
        "cpuCores": str(topo.cores),
        "cpuSockets": str(topo.sockets),
        "cpuThreads": str(topo.threads),
        "onlineCpus": procfs.format_cpulist(topo.online),
        "cpuTopology": [
            {"cpu_id": c.cpu_id, "numa_cell_id": c.node_id,
             "socket_id": c.socket_id, "die_id": c.die_id,
             "core_id": c.core_id} for c in topo.cpus],
        "numaNodes": {
            str(n.node_id): {
                "cpus": n.cpus,
                "totalMemory": str(n.total_kib // 1024),
                "hugepages": {str(size): {"totalPages": str(count)}
                              for size, count in n.hugepages.items()},
            } for n in topo.nodes},
        "numaNodeDistance": {str(n.node_id): n.distances
                             for n in topo.nodes},
        "autoNumaBalancing": features.auto_numa_balancing(),
    }


def memory_caps(config: Config) -> dict[str, Any]:
    meminfo = procfs.parse_meminfo(procfs.read("/proc/meminfo"))
    return {
        "memSize": str(meminfo["MemTotal"] // 1024),
        "reservedMem": config.get("vars", "host_mem_reserve"),
        "guestOverhead": config.get("vars", "guest_ram_overhead"),
        "hugepages": features.hugepage_sizes(),
    }


def platform_caps() -> dict[str, Any]:
    return {
        "kernelArgs": features.kernel_args(),
        "selinux": {"mode": features.selinux_mode()},
        "kdumpStatus": features.kdump_status(),
        "fipsEnabled": features.fips_enabled(),
        "realtimeKernel": features.realtime_kernel(),
        "nestedVirtualization": features.nested_virtualization(),
        "rngSources": features.rng_sources(),
        "hostdevPassthrough": _bool(features.hostdev_passthrough()),
        "vdsmToCpusAffinity": features.cpu_affinity(),
        "hostedEngineDeployed": features.hosted_engine_deployed(),
    }


def software_caps(packages: osinfo.PackageCache) -> dict[str, Any]:
    return {
        "operatingSystem": osinfo.operating_system(),
        "packages2": packages.packages(),
        "software_version": version.SOFTWARE_VERSION,
        "software_revision": version.SOFTWARE_REVISION,
        "version_name": version.VERSION_NAME,
        "supportedENGINEs": list(version.SUPPORTED_ENGINES),
        "clusterLevels": list(version.CLUSTER_LEVELS),
    }
