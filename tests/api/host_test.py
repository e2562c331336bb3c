"""Host verbs end to end: a real vdsmd (TLS, STOMP, JSON-RPC) on this host.

The daemon checks its own results against the schema (strict mode); the
results are checked again here, as the client received them.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
import uuid

import pytest

from vdsm import client
from vdsm.api import schema
from vdsm.host import hba, procfs


@pytest.fixture(scope="module")
def strict():
    return schema.Schema(strict=True)


@pytest.fixture
def fast_vdsmd(vdsmd_factory):
    return vdsmd_factory({"vars": {"host_sample_interval": "0.5"}})


def test_get_capabilities(vdsmd, strict, libvirtd):
    with vdsmd.client() as cli:
        caps = cli.Host.getCapabilities()
    strict.check_result("Host.getCapabilities", caps)
    # The client connected to 127.0.0.1.
    assert caps["lastClientIface"] == "lo"
    assert any(m.startswith("pc-") for m in caps["emulatedMachines"])
    assert int(caps["cpuThreads"]) == os.cpu_count()
    meminfo = procfs.parse_meminfo(procfs.read("/proc/meminfo"))
    assert caps["memSize"] == str(meminfo["MemTotal"] // 1024)
    assert caps["packages2"]["kernel"]["version"] in os.uname().release
    # What the engine reads without a null check, from this host's files
    # (vdsmd runs as vdsm: configure made the initiator file readable).
    assert set(caps["HBAInventory"]) == {"iSCSI", "FC"}
    assert caps["ISCSIInitiatorName"] == hba.initiator_name()
    assert caps["HBAInventory"]["iSCSI"] == (
        [{"InitiatorName": caps["ISCSIInitiatorName"]}]
        if caps["ISCSIInitiatorName"] else [])
    assert caps["domain_versions"] == [5]
    assert caps["backupEnabled"] is False


def test_get_stats(fast_vdsmd, strict):
    with fast_vdsmd.client() as cli:
        deadline = time.monotonic() + 30
        stats = cli.Host.getStats()
        # cpu figures need two samples, half a second apart.
        while not stats["cpuStatistics"]:
            assert time.monotonic() < deadline, "no second host sample"
            time.sleep(0.2)
            stats = cli.Host.getStats()
        strict.check_result("Host.getStats", stats)
        assert set(stats["cpuStatistics"]) == {
            str(c) for c in procfs.parse_cpulist(
                procfs.read("/sys/devices/system/cpu/online"))}
        total = sum(float(stats[k]) for k in ("cpuUser", "cpuSys",
                                              "cpuIdle"))
        assert abs(total - 100.0) < 0.05
        # Other VMs of this host (a test or a benchmark) count too.
        assert stats["vmCount"] == len(cli.Host.getVMList())
        first_elapsed = int(stats["elapsedTime"])
        time.sleep(1.1)
        assert int(cli.Host.getStats()["elapsedTime"]) > first_elapsed


def test_get_stats_network_rates(fast_vdsmd):
    """Traffic on lo is not reported; rates of devices are percents."""
    with fast_vdsmd.client() as cli:
        stats = cli.Host.getStats()
    assert "lo" not in stats.get("network", {})
    for nic in stats.get("network", {}).values():
        assert 0.0 <= float(nic["rxRate"])
        assert isinstance(nic["sampleTime"], float)


def test_get_hardware_info(vdsmd, strict):
    with vdsmd.client() as cli:
        info = cli.Host.getHardwareInfo()
    strict.check_result("Host.getHardwareInfo", info)
    dmi = "/sys/class/dmi/id/sys_vendor"
    if not os.path.exists(dmi):
        assert "systemManufacturer" not in info


def test_unknown_param_refused(vdsmd):
    with vdsmd.client() as cli:
        with pytest.raises(client.ServerError) as e:
            cli.call("Host.getStats", {"verbose": True})
        assert e.value.code == -32602
        # The daemon is unharmed.
        assert cli.Host.ping2() is True


@pytest.fixture
def veth_address():
    """An address on a veth device of ours: (device, address)."""
    if os.geteuid() != 0:
        pytest.skip("creating a veth pair needs root")
    name = "vh" + uuid.uuid4().hex[:8]
    address = f"198.18.{random.randrange(256)}.1"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer",
                    "name", name + "p"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", f"{address}/30", "dev", name],
                       check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name, address
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)


@pytest.mark.root
def test_last_client_iface_is_the_device_of_the_local_address(
        vdsmd_factory, veth_address):
    """The client reaches a dual-stack listener (::) through an address of
    our veth device: the daemon sees ::ffff:<address> and names the
    device."""
    device, address = veth_address
    daemon = vdsmd_factory({"addresses": {"management_ip": "::"}})
    ctx = client.client_ssl_context(daemon.pki.root)
    with client.connect(address, daemon.port, ssl_context=ctx,
                        timeout=60) as cli:
        caps = cli.Host.getCapabilities()
    assert caps["lastClientIface"] == device
