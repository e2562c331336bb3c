from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import libvirt  # type: ignore[import-untyped]

from vdsm.host import topology


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _fake_sysfs(root):
    """Two sockets, two nodes, 2 cores x 2 threads each; cpu 7 offline."""
    cpu_dir = root / "cpu"
    node_dir = root / "node"
    _write(cpu_dir / "online", "0-6\n")
    for cpu in range(8):
        socket, core = divmod(cpu // 2, 2)
        base = cpu_dir / f"cpu{cpu}" / "topology"
        _write(base / "physical_package_id", f"{socket}\n")
        _write(base / "die_id", "0\n")
        _write(base / "core_id", f"{core}\n")
    for node in (0, 1):
        base = node_dir / f"node{node}"
        first = node * 4
        _write(base / "cpulist", f"{first}-{first + 3}\n")
        _write(base / "meminfo", f"Node {node} MemTotal: {1024 * (node + 1)}"
               f" kB\nNode {node} MemFree: 512 kB\n")
        _write(base / "distance", "10 21\n" if node == 0 else "21 10\n")
        _write(base / "hugepages" / "hugepages-2048kB" / "nr_hugepages",
               f"{node * 3}\n")
    _write(node_dir / "online", "0-1\n")   # not a node directory
    return str(cpu_dir), str(node_dir)


def test_fake_sysfs(tmp_path):
    topo = topology.read_topology(*_fake_sysfs(tmp_path))
    assert topo.online == [0, 1, 2, 3, 4, 5, 6]
    assert topo.threads == 7
    assert topo.sockets == 2
    # cpu 7 is offline, so socket 1 core 1 has one thread left.
    assert topo.cores == 4
    assert [n.node_id for n in topo.nodes] == [0, 1]
    node1 = topo.nodes[1]
    assert node1.cpus == [4, 5, 6, 7]
    assert node1.total_kib == 2048
    assert node1.free_kib == 512
    assert node1.distances == [21, 10]
    assert node1.hugepages == {2048: 3}
    assert {c.cpu_id: c.node_id for c in topo.cpus}[5] == 1


def test_no_numa_directory_is_one_node():
    nodes = topology.read_nodes("/nonexistent/node")
    assert len(nodes) == 1
    assert nodes[0].node_id == 0
    assert nodes[0].cpus == topology.read_topology().online


def test_real_topology_relations():
    topo = topology.read_topology()
    # os.cpu_count() counts the online cpus (_SC_NPROCESSORS_ONLN).
    assert topo.threads == os.cpu_count()
    assert set(os.sched_getaffinity(0)) <= set(topo.online)
    assert 1 <= topo.sockets <= topo.cores <= topo.threads
    node_cpus = sorted(c for n in topo.nodes for c in n.cpus)
    assert set(topo.online) <= set(node_cpus)
    for node in topo.nodes:
        assert len(node.distances) == len(topo.nodes)
        assert node.distances[topo.nodes.index(node)] == 10


def test_real_topology_matches_libvirt(libvirtd):
    conn = libvirt.openReadOnly("qemu:///system")
    try:
        caps = ET.fromstring(conn.getCapabilities())
    finally:
        conn.close()
    cells = caps.findall("host/topology/cells/cell")
    topo = topology.read_topology()
    assert len(cells) == len(topo.nodes)
    for cell, node in zip(cells, topo.nodes):
        assert int(cell.get("id")) == node.node_id
        assert int(cell.find("memory").text) == node.total_kib
        lv_cpus = cell.findall("cpus/cpu")
        assert sorted(int(c.get("id")) for c in lv_cpus) == node.cpus
        ours = {c.cpu_id: c for c in topo.cpus}
        for c in lv_cpus:
            cpu = ours[int(c.get("id"))]
            assert int(c.get("socket_id")) == cpu.socket_id
            assert int(c.get("core_id")) == cpu.core_id
