"""Host stats computed from two synthetic samples.

The samples are built by the real parsers from /proc text written here,
so these tests check the arithmetic the API answers with.
"""

from __future__ import annotations

import time

import pytest

from vdsm.api import host_stats_wire as wire
from vdsm.host import procfs, stats
from vdsm.host.sampling import HostSample, KsmSample, NicSample

MEMINFO = """\
MemTotal:        8388608 kB
MemFree:         2097152 kB
Buffers:          102400 kB
Cached:          1048576 kB
SReclaimable:      51200 kB
SwapTotal:       2097152 kB
SwapFree:        1048576 kB
AnonHugePages:    204800 kB
"""


def stat_text(user, system, idle, cpu0, cpu1):
    """A /proc/stat with two cpus; cpuN is (user, system, idle)."""
    return (f"cpu  {user} 0 {system} {idle} 0 0 0 0 0 0\n"
            f"cpu0 {cpu0[0]} 0 {cpu0[1]} {cpu0[2]} 0 0 0 0 0 0\n"
            f"cpu1 {cpu1[0]} 0 {cpu1[1]} {cpu1[2]} 0 0 0 0 0 0\n"
            "btime 1795317322\n")


def net_text(rx, tx):
    return ("Inter-| header\n face | header\n"
            f"  eth0: {rx} 10 1 2 0 0 0 0 {tx} 20 3 4 0 0 0 0\n")


def sample(timestamp, stat, net, utime=0, stime=0, ksm=None):
    return HostSample(
        timestamp=timestamp,
        stat=procfs.parse_stat(stat),
        meminfo=procfs.parse_meminfo(MEMINFO),
        loadavg=procfs.parse_loadavg("0.50 1.25 2.00 1/100 42"),
        nics={name: NicSample(c, speed=100, state="up")
              for name, c in procfs.parse_net_dev(net).items()},
        process=procfs.ProcessTimes(utime, stime),
        node_memory={0: (8388608, 4194304)},
        node_cpus={0: [0, 1]},
        ksm=ksm, thp_state="madvise", disk_free={"/tmp": 1234})


@pytest.fixture
def pair():
    first = sample(100.0, stat_text(1000, 500, 8500, (500, 250, 4250),
                                    (500, 250, 4250)),
                   net_text(1_000_000, 2_000_000), utime=10, stime=5)
    # 2 seconds later: 400 jiffies in all. cpu0 busy in user space,
    # cpu1 idle; eth0 got 12.5 MB (50% of 100 Mb/s) and sent 2.5 MB.
    last = sample(102.0, stat_text(1200, 500, 8700, (700, 250, 4250),
                                   (500, 250, 4450)),
                  net_text(13_500_000, 4_500_000), utime=60, stime=15)
    return first, last


def test_cpu(pair):
    result = wire.cpu(stats.cpu(*pair))
    assert result["cpuUser"] == "50.00"
    assert result["cpuSys"] == "0.00"
    assert result["cpuIdle"] == "50.00"
    assert result["cpuStatistics"] == {
        "0": {"nodeIndex": 0, "cpuUser": "100.00", "cpuSys": "0.00",
              "cpuIdle": "0.00"},
        "1": {"nodeIndex": 0, "cpuUser": "0.00", "cpuSys": "0.00",
              "cpuIdle": "100.00"},
    }


def test_cpu_typed(pair):
    result = stats.cpu(*pair)
    assert result.total == stats.CpuUsage(50.0, 0.0, 50.0)
    assert result.cpus[0] == (0, stats.CpuUsage(100.0, 0.0, 0.0))


def test_vdsm_process_cpu(pair):
    ticks = stats.CLOCK_TICKS
    result = wire.cpu(stats.cpu(*pair))
    # 50 user jiffies in 2 seconds.
    assert result["cpuUserVdsmd"] == f"{100.0 * 50 / ticks / 2:.2f}"
    assert result["cpuSysVdsmd"] == f"{100.0 * 10 / ticks / 2:.2f}"


def test_network_rates(pair):
    result = wire.network(stats.network(*pair))
    eth0 = result["network"]["eth0"]
    assert eth0["rxRate"] == "50.0"
    assert eth0["txRate"] == "10.0"
    assert eth0["rx"] == "13500000"
    assert eth0["tx"] == "4500000"
    assert (eth0["rxErrors"], eth0["rxDropped"]) == ("1", "2")
    assert (eth0["txErrors"], eth0["txDropped"]) == ("3", "4")
    assert eth0["speed"] == "100"
    assert eth0["state"] == "up"
    assert eth0["sampleTime"] == 102.0
    assert (result["rxDropped"], result["txDropped"]) == ("2", "4")


def test_network_counter_reset_is_no_traffic(pair):
    first, last = pair
    last = sample(102.0, stat_text(1200, 500, 8700, (700, 250, 4250),
                                   (500, 250, 4450)), net_text(10, 20))
    eth0 = wire.network(stats.network(first, last))["network"]["eth0"]
    assert (eth0["rxRate"], eth0["txRate"]) == ("0.0", "0.0")


def test_network_new_nic_waits_for_two_samples(pair):
    first, last = pair
    last.nics["eth1"] = last.nics["eth0"]
    assert "eth1" not in wire.network(stats.network(first, last))["network"]


def test_unknown_speed_is_gigabit():
    c = procfs.parse_net_dev(net_text(0, 0))["eth0"]
    nic = NicSample(c, speed=0, state="unknown")
    done = procfs.parse_net_dev(net_text(125_000_000, 0))["eth0"]
    result = wire.nic(stats.nic_stats("eth0", nic,
                                      NicSample(done, 0, "unknown"),
                                      1.0, 5.0))
    assert result["speed"] == "1000"
    assert result["rxRate"] == "100.0"


def test_memory():
    result = wire.memory(stats.memory(procfs.parse_meminfo(MEMINFO)))
    free_kib = 2097152 + 102400 + 1048576 + 51200
    assert result["memFree"] == free_kib // 1024
    assert result["memUsed"] == str(round(100 - 100.0 * free_kib / 8388608))
    assert result["swapTotal"] == 2048
    assert result["swapFree"] == 1024
    assert result["anonHugePages"] == "200"


def test_produce(pair):
    result = wire.stats(stats.produce(*pair, elapsed=42.7))
    assert result["elapsedTime"] == "42"
    assert result["cpuLoad"] == "1.25"
    assert result["bootTime"] == "1795317322"
    assert result["thpState"] == "madvise"
    assert result["numaNodeMemFree"] == {
        "0": {"memFree": "4096", "memPercent": 50}}
    assert result["diskStats"] == {"/tmp": {"free": "1234"}}
    assert result["cpuUser"] == "50.00"
    assert "eth0" in result["network"]
    assert "ksmState" not in result     # no KSM in these samples


def test_produce_one_sample(pair):
    result = wire.stats(stats.produce(None, pair[1], elapsed=1))
    assert result["cpuIdle"] == "100.00"
    assert result["cpuStatistics"] == {}
    assert result["network"] == {}
    assert result["memFree"] == stats.memory(pair[1].meminfo).free_mib


def test_produce_no_sample():
    result = wire.stats(stats.produce(None, None, elapsed=0))
    assert result["cpuIdle"] == "100.00"
    assert "memFree" not in result


def test_ksm(pair):
    first, last = pair
    first.ksm = KsmSample(True, 100, 10, True, procfs.ProcessTimes(0, 0))
    ticks = stats.CLOCK_TICKS
    # ksmd used a fifth of a cpu over the 2 seconds.
    last.ksm = KsmSample(True, 200, 1024, False,
                         procfs.ProcessTimes(ticks * 2 // 10, ticks // 5))
    result = wire.ksm(stats.ksm(first, last))
    assert result == {"ksmState": True, "ksmPages": 200, "ksmCpu": 20,
                      "ksmMergeAcrossNodes": False,
                      "memShared": 1024 * stats.PAGE_SIZE // (1024 * 1024)}


def test_date_time():
    assert stats.date_time(0) == "1970-01-01T00:00:00 GMT"
    assert stats.date_time(time.time()).endswith(" GMT")


@pytest.mark.parametrize("first,last,interval,speed,pct", [
    (0, 125_000_000, 1.0, 1000, 100.0),
    (0, 12_500_000, 2.0, 100, 50.0),
    (5, 4, 1.0, 1000, 0.0),         # counter went down
    (0, 100, 0.0, 1000, 0.0),       # no time passed
])
def test_link_pct(first, last, interval, speed, pct):
    assert stats.link_pct(first, last, interval, speed) == pct


def test_cpu_usage_without_time():
    times = procfs.parse_stat(stat_text(1, 1, 1, (1, 1, 1),
                                        (0, 0, 0))).total
    assert stats.cpu_usage(times, times) == stats.CpuUsage(0.0, 0.0, 100.0)
