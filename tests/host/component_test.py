"""The host component on this host's real data, checked against the
schema in strict mode (unknown fields and wrong types fail).

Host.getCapabilities/getStats are the host's own fields composed with the
other subsystems' typed parts (api/host_wire.py); here those parts are
given as on a host where they have nothing to report (no VM, no storage
domain, a clean network config). tests/api/host_test.py checks the
whole answer of a real vdsmd.
"""

from __future__ import annotations

import os
import time
import types

import pytest

from vdsm.api import host as host_api
from vdsm.api import host_caps_wire, host_stats_wire, host_wire, schema
from vdsm.api.registry import CallContext
from vdsm.common.config import Config
from vdsm.host import component, procfs, topology
from vdsm.virt.component import VmCounts

# What a network with nothing changed since the last save adds.
CLEAN_NETWORK = {"netConfigDirty": "False"}


@pytest.fixture(scope="module")
def strict():
    return schema.Schema(strict=True)


@pytest.fixture
def services():
    config = Config()
    config.set("vars", "host_sample_interval", "0.2")
    host = component.HostService(config)
    # Host.getHardwareInfo uses only these two.
    services = types.SimpleNamespace(config=config, host=host)
    host.start()
    try:
        yield services
    finally:
        host.stop()


def _two_samples(services, timeout=10.0):
    deadline = time.monotonic() + timeout
    while services.host.sampler.samples()[0] is None:
        assert time.monotonic() < deadline, "no second sample"
        time.sleep(0.05)


def _ctx(services, local=("127.0.0.1", 54321)):
    return CallContext(services=services, local=local,
                       peer=("127.0.0.1", 40000))


def _caps(services, local=("127.0.0.1", 54321), network=CLEAN_NETWORK,
          hooks=None):
    return host_wire.compose_capabilities(
        host_caps_wire.capabilities(services.host.capabilities(local)),
        network, hooks or {})


def _stats(services, vms=VmCounts()):
    return host_wire.compose_stats(_host_stats(services), vms, {}, False)


def _host_stats(services):
    return host_stats_wire.stats(services.host.stats())


def test_capabilities_strict(services, strict, libvirtd):
    caps = _caps(services)
    strict.check_result("Host.getCapabilities", caps)
    assert any(m.startswith("pc-") for m in caps["emulatedMachines"])
    assert caps["lastClientIface"] == "lo"
    assert caps["kvmEnabled"] == ("true" if os.path.exists("/dev/kvm")
                                  else "false")


def test_capabilities_real_relations(services):
    caps = _caps(services)
    topo = topology.read_topology()
    assert int(caps["cpuThreads"]) == os.cpu_count()
    assert int(caps["cpuSockets"]) <= int(caps["cpuCores"]) \
        <= int(caps["cpuThreads"])
    assert caps["onlineCpus"] == procfs.format_cpulist(topo.online)
    meminfo = procfs.parse_meminfo(procfs.read("/proc/meminfo"))
    assert caps["memSize"] == str(meminfo["MemTotal"] // 1024)
    nodes_mib = sum(int(n["totalMemory"]) for n in caps["numaNodes"].values())
    assert nodes_mib <= int(caps["memSize"])
    flags = caps["cpuFlags"].split(",")
    cpuinfo = procfs.parse_cpuinfo(procfs.read("/proc/cpuinfo"))
    assert flags[:len(cpuinfo.flags)] == cpuinfo.flags
    assert all(f.startswith("model_") for f in flags[len(cpuinfo.flags):])
    assert caps["packages2"]["kernel"]["version"] in os.uname().release
    assert caps["vmTypes"] == ["kvm"]
    assert caps["netConfigDirty"] == "False"


def test_capabilities_composed(services, strict):
    hooks = {"before_vm_start": {"50_x": {"checksum": "ab" * 32}}}
    caps = _caps(services, network={"netConfigDirty": "True",
                                    "nameservers": ["192.0.2.53"]},
                 hooks=hooks)
    assert caps["netConfigDirty"] == "True"
    assert caps["nameservers"] == ["192.0.2.53"]
    assert caps["hooks"] == hooks
    assert caps["additionalFeatures"] == []
    assert "netConfigDirty" not in host_caps_wire.capabilities(
        services.host.capabilities())
    strict.check_result("Host.getCapabilities", caps)


def test_capabilities_unknown_local_address(services):
    caps = services.host.capabilities(local=("203.0.113.77", 54321))
    assert caps.last_client_iface == ""


def test_stats_strict(services, strict):
    _two_samples(services)
    result = _stats(services)
    strict.check_result("Host.getStats", result)
    for field in ("cpuUser", "cpuSys", "cpuIdle"):
        assert 0.0 <= float(result[field]) <= 100.0
    total = sum(float(result[f]) for f in ("cpuUser", "cpuSys", "cpuIdle"))
    assert abs(total - 100.0) < 0.05
    assert set(result["cpuStatistics"]) == {
        str(c) for c in topology.read_topology().online}
    assert result["memAvailable"] == result["memFree"]   # no VMs
    meminfo = procfs.parse_meminfo(procfs.read("/proc/meminfo"))
    assert result["swapTotal"] == meminfo["SwapTotal"] // 1024
    # memFree counts reclaimable cache: never below MemFree alone
    # (a little slack: the sample is a moment old).
    assert result["memFree"] * 1024 >= meminfo["MemFree"] * 0.9
    assert result["vmCount"] == 0
    assert result["storageDomains"] == {}
    assert result["haStats"]["configured"] is False


def test_stats_network(services):
    _two_samples(services)
    nics = set(procfs.parse_net_dev(procfs.read("/proc/net/dev"))) - {"lo"}
    network = _host_stats(services)["network"]
    # Devices present in both samples are reported (a test elsewhere may
    # add one meanwhile).
    assert set(network) <= nics | set(os.listdir("/sys/class/net"))
    for name, nic in network.items():
        assert nic["name"] == name
        assert float(nic["rxRate"]) >= 0.0
        assert int(nic["rx"]) >= 0


def test_stats_vm_counts_and_mem_available(services, strict):
    _two_samples(services)
    result = _stats(services, VmCounts(total=2, active=1,
                                       mem_committed_mib=1024,
                                       mem_resident_mib=256))
    strict.check_result("Host.getStats", result)
    assert result["vmCount"] == 2
    assert result["vmActive"] == 1
    assert result["memCommitted"] == 1024
    assert result["memAvailable"] == max(0, result["memFree"] - 768)
    # Nothing pending when the qemus use more than was promised.
    result = _stats(services, VmCounts(total=1, active=1,
                                       mem_committed_mib=256,
                                       mem_resident_mib=1024))
    assert result["memAvailable"] == result["memFree"]


def test_stats_net_config_dirty(services):
    result = host_wire.compose_stats(_host_stats(services), VmCounts(),
                                     {}, True)
    assert result["netConfigDirty"] == "True"


def test_stats_come_from_samples_only(services):
    """getStats reads no counter itself: with the sampler stopped (as if
    stuck in a read), it keeps answering from the last two samples."""
    _two_samples(services)
    services.host.sampler.stop()
    time.sleep(0.5)                 # any tick in flight has landed
    first, last = services.host.sampler.samples()
    a = _host_stats(services)
    time.sleep(0.3)
    b = _host_stats(services)
    assert services.host.sampler.samples() == (first, last)
    for name, nic in a["network"].items():
        assert nic["sampleTime"] == last.timestamp
        assert b["network"][name] == nic
    assert a["cpuUser"] == b["cpuUser"]


def test_hardware_info_strict(services, strict):
    info = host_api.get_hardware_info(_ctx(services))
    strict.check_result("Host.getHardwareInfo", info)
    assert set(info) <= {"systemManufacturer", "systemProductName",
                         "systemVersion", "systemSerialNumber",
                         "systemUUID", "systemFamily"}
