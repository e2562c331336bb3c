"""CPU and NUMA topology of the host, read from sysfs.

The kernel is the authority on which cpus are online, which socket, die and
core each one sits on, and which NUMA node owns which cpus and memory.
libvirt derives its <topology> from the same files; reading them directly
keeps capabilities available when libvirtd is not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from vdsm.host import procfs

SYS_CPU = "/sys/devices/system/cpu"
SYS_NODE = "/sys/devices/system/node"


@dataclass(frozen=True)
class Cpu:
    cpu_id: int
    socket_id: int
    die_id: int
    core_id: int
    node_id: int


@dataclass(frozen=True)
class NumaNode:
    node_id: int
    cpus: list[int]
    total_kib: int
    free_kib: int
    distances: list[int]
    # Huge page size in KiB -> total pages of that size on the node.
    hugepages: dict[int, int]


@dataclass(frozen=True)
class Topology:
    cpus: list[Cpu]
    nodes: list[NumaNode]

    @property
    def online(self) -> list[int]:
        return [c.cpu_id for c in self.cpus]

    @property
    def sockets(self) -> int:
        return len({c.socket_id for c in self.cpus})

    @property
    def cores(self) -> int:
        return len({(c.socket_id, c.die_id, c.core_id) for c in self.cpus})

    @property
    def threads(self) -> int:
        return len(self.cpus)


def read_topology(sys_cpu: str = SYS_CPU,
                  sys_node: str = SYS_NODE) -> Topology:
    nodes = read_nodes(sys_node)
    node_of = {cpu: n.node_id for n in nodes for cpu in n.cpus}
    online = procfs.parse_cpulist(procfs.read(f"{sys_cpu}/online"))
    cpus = [_read_cpu(sys_cpu, cpu_id, node_of.get(cpu_id, 0))
            for cpu_id in online]
    return Topology(cpus, nodes)


def _read_cpu(sys_cpu: str, cpu_id: int, node_id: int) -> Cpu:
    base = f"{sys_cpu}/cpu{cpu_id}/topology"
    return Cpu(cpu_id,
               socket_id=_read_int(f"{base}/physical_package_id", 0),
               die_id=_read_int(f"{base}/die_id", 0),
               core_id=_read_int(f"{base}/core_id", cpu_id),
               node_id=node_id)


def read_nodes(sys_node: str = SYS_NODE) -> list[NumaNode]:
    """The NUMA nodes that have memory or cpus.

    A kernel without NUMA support has no node directory: the whole host
    is then reported as node 0, as upstream does.
    """
    try:
        names = os.listdir(sys_node)
    except FileNotFoundError:
        names = []
    ids = sorted(int(n[4:]) for n in names
                 if n.startswith("node") and n[4:].isdigit())
    if not ids:
        return [_whole_host_node()]
    return [_read_node(sys_node, i) for i in ids]


def _read_node(sys_node: str, node_id: int) -> NumaNode:
    base = f"{sys_node}/node{node_id}"
    meminfo = procfs.parse_meminfo(procfs.read(f"{base}/meminfo"))
    return NumaNode(
        node_id,
        cpus=procfs.parse_cpulist(procfs.read(f"{base}/cpulist")),
        total_kib=meminfo.get("MemTotal", 0),
        free_kib=meminfo.get("MemFree", 0),
        distances=[int(d) for d in procfs.read(f"{base}/distance").split()],
        hugepages=_node_hugepages(f"{base}/hugepages"))


def _whole_host_node() -> NumaNode:
    meminfo = procfs.parse_meminfo(procfs.read("/proc/meminfo"))
    online = procfs.parse_cpulist(procfs.read(f"{SYS_CPU}/online"))
    return NumaNode(0, online, meminfo["MemTotal"], meminfo["MemFree"],
                    [10], {})


def _node_hugepages(path: str) -> dict[int, int]:
    pages: dict[int, int] = {}
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return pages
    for name in names:
        # hugepages-2048kB
        size = name.removeprefix("hugepages-").removesuffix("kB")
        if size.isdigit():
            pages[int(size)] = _read_int(f"{path}/{name}/nr_hugepages", 0)
    return pages


def _read_int(path: str, default: int) -> int:
    try:
        return int(procfs.read(path).strip())
    except (OSError, ValueError):
        return default
