"""The host's own part of Host.getCapabilities and Host.getHardwareInfo,
in upstream's wire names and forms.

The forms are what oVirt Engine's readers take (VdsBrokerObjectsBuilder
.updateVDSDynamicData): counts and sizes upstream sends as strings are
strings (``cpuCores``, ``memSize``, ``reservedMem``), booleans upstream
sends as strings are ``'true'``/``'false'`` (``kvmEnabled``,
``hostdevPassthrough``), ``cpuSpeed`` a string (the engine's double
reader takes a string or a float, never an int). ``HBAInventory`` is
always present (the engine iterates it without a null check).
"""

from __future__ import annotations

from typing import Any

from vdsm.host.capabilities import HostCapabilities
from vdsm.host.hardware import HardwareInfo
from vdsm.host.hba import HbaInventory
from vdsm.host.topology import Topology

HARDWARE_NAMES = {
    "manufacturer": "systemManufacturer",
    "product_name": "systemProductName",
    "version": "systemVersion",
    "serial_number": "systemSerialNumber",
    "uuid": "systemUUID",
    "family": "systemFamily",
}


def _bool_string(value: bool) -> str:
    return "true" if value else "false"


def capabilities(caps: HostCapabilities) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    for part in (_cpu(caps), _numa(caps.topology), _memory(caps),
                 _platform(caps), _software(caps), _storage(caps),
                 _features(caps)):
        wire.update(part)
    wire.update({
        "lastClientIface": caps.last_client_iface,
        "uuid": caps.host_uuid,
        "hostname": caps.hostname,
        "vmTypes": list(caps.vm_types),
        "additionalFeatures": [],
    })
    return wire


def hardware_info(info: HardwareInfo) -> dict[str, str]:
    """HardwareInformation: only the fields that could be read."""
    return {wire: getattr(info, name)
            for name, wire in HARDWARE_NAMES.items()
            if getattr(info, name) is not None}


def hba_inventory(inv: HbaInventory) -> dict[str, list[dict[str, str]]]:
    return {"iSCSI": [{"InitiatorName": name}
                      for name in inv.iscsi_initiators],
            "FC": [{"wwpn": a.wwpn, "wwnn": a.wwnn, "model": a.model}
                   for a in inv.fc_adapters]}


def _cpu(caps: HostCapabilities) -> dict[str, Any]:
    lv = caps.libvirt
    wire: dict[str, Any] = {
        "cpuModel": caps.cpu.model,
        "cpuFlags": ",".join(caps.cpu.flags),
        "emulatedMachines": list(lv.emulated_machines),
        "kvmEnabled": _bool_string(caps.cpu.kvm_enabled),
        "tscScaling": lv.tsc_scaling,
    }
    if caps.cpu.speed_mhz is not None:
        wire["cpuSpeed"] = f"{caps.cpu.speed_mhz:.3f}"
    if lv.tsc_frequency:
        wire["tscFrequency"] = lv.tsc_frequency
    return wire


def _numa(topo: Topology) -> dict[str, Any]:
    return {
        "cpuCores": str(topo.cores),
        "cpuSockets": str(topo.sockets),
        "cpuThreads": str(topo.threads),
        "onlineCpus": ",".join(str(c) for c in sorted(topo.online)),
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
    }


def _memory(caps: HostCapabilities) -> dict[str, Any]:
    mem = caps.memory
    return {"memSize": str(mem.total_mib),
            "reservedMem": str(mem.reserved_mib),
            "guestOverhead": str(mem.guest_overhead_mib),
            "hugepages": list(mem.hugepage_sizes_kib)}


def _platform(caps: HostCapabilities) -> dict[str, Any]:
    p = caps.platform
    return {
        "kernelArgs": p.kernel_args,
        "selinux": {"mode": p.selinux_mode},
        "kdumpStatus": p.kdump_status,
        "fipsEnabled": p.fips_enabled,
        "realtimeKernel": p.realtime_kernel,
        "nestedVirtualization": p.nested_virtualization,
        "rngSources": list(p.rng_sources),
        "hostdevPassthrough": _bool_string(p.hostdev_passthrough),
        "vdsmToCpusAffinity": list(p.cpu_affinity),
        "hostedEngineDeployed": p.hosted_engine_deployed,
        "autoNumaBalancing": p.auto_numa_balancing,
    }


def _software(caps: HostCapabilities) -> dict[str, Any]:
    s = caps.software
    return {
        "operatingSystem": dict(s.operating_system),
        "packages2": {k: dict(v) for k, v in s.packages.items()},
        "software_version": s.software_version,
        "software_revision": s.software_revision,
        "version_name": s.version_name,
        "supportedENGINEs": list(s.supported_engines),
        "clusterLevels": list(s.cluster_levels),
    }


def _storage(caps: HostCapabilities) -> dict[str, Any]:
    inv = caps.hba
    return {
        "HBAInventory": hba_inventory(inv),
        "ISCSIInitiatorName": (inv.iscsi_initiators[0]
                               if inv.iscsi_initiators else ""),
        "domain_versions": list(caps.storage.domain_versions),
        "supported_block_size": {
            name: list(sizes)
            for name, sizes in caps.storage.block_sizes.items()},
    }


def _features(caps: HostCapabilities) -> dict[str, Any]:
    f = caps.features
    return {"backupEnabled": f.backup,
            "coldBackupEnabled": f.cold_backup,
            "clearBitmapsEnabled": f.clear_bitmaps,
            "vncEncrypted": f.vnc_encrypted,
            "ovnConfigured": f.ovn_configured}
