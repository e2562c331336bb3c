from __future__ import annotations

import os

import pytest

from vdsm.host import procfs

STAT = """\
cpu  10054 5 8662 76866 508 7 162 43 11 0
cpu0 4390 0 3371 40279 24 0 46 21 0 0
cpu1 5663 5 5291 36587 484 7 115 22 11 0
intr 302474 0 0 0
ctxt 812471
btime 1795317322
processes 20021
"""


def test_parse_stat():
    stat = procfs.parse_stat(STAT)
    assert stat.boot_time == 1795317322
    assert sorted(stat.cpus) == [0, 1]
    assert stat.total.user == 10054
    assert stat.total.nice == 5
    assert stat.total.steal == 43
    # guest (11) is already inside user: not counted twice.
    assert stat.total.total == 10054 + 5 + 8662 + 76866 + 508 + 7 + 162 + 43
    assert stat.total.user_time == 10059
    assert stat.total.system_time == 8662 + 7 + 162


def test_parse_stat_without_cpu_line():
    with pytest.raises(ValueError):
        procfs.parse_stat("intr 1 2 3\n")


def test_parse_stat_real():
    stat = procfs.parse_stat(procfs.read("/proc/stat"))
    online = procfs.parse_cpulist(
        procfs.read("/sys/devices/system/cpu/online"))
    assert sorted(stat.cpus) == online
    assert stat.boot_time is not None
    assert stat.total.total >= sum(c.total for c in stat.cpus.values()) * 0.9


def test_parse_meminfo():
    info = procfs.parse_meminfo(
        "MemTotal:       24684100 kB\n"
        "MemFree:        23585860 kB\n"
        "HugePages_Total:       0\n")
    assert info == {"MemTotal": 24684100, "MemFree": 23585860,
                    "HugePages_Total": 0}


def test_parse_node_meminfo():
    info = procfs.parse_meminfo(
        "Node 0 MemTotal:        5597404 kB\n"
        "Node 0 MemFree:         4498716 kB\n")
    assert info == {"MemTotal": 5597404, "MemFree": 4498716}


NET_DEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 166864964    3336    1    2    0     0          0         0   171275    2072    3    4    0     0       0          0
"""  # noqa: E501


def test_parse_net_dev():
    nics = procfs.parse_net_dev(NET_DEV)
    assert sorted(nics) == ["eth0", "lo"]
    eth0 = nics["eth0"]
    assert eth0.rx_bytes == 166864964
    assert eth0.rx_packets == 3336
    assert (eth0.rx_errors, eth0.rx_dropped) == (1, 2)
    assert eth0.tx_bytes == 171275
    assert (eth0.tx_errors, eth0.tx_dropped) == (3, 4)


def test_parse_net_dev_real():
    nics = procfs.parse_net_dev(procfs.read("/proc/net/dev"))
    assert "lo" in nics
    assert set(nics) <= set(os.listdir("/sys/class/net"))


CPUINFO = """\
processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
cpu MHz\t\t: 2596.122
flags\t\t: fpu vme de pse

processor\t: 1
model name\t: Other
"""


def test_parse_cpuinfo():
    info = procfs.parse_cpuinfo(CPUINFO)
    assert info.model == "AMD EPYC"
    assert info.mhz == 2596.122
    assert info.flags == ["fpu", "vme", "de", "pse"]


def test_parse_cpuinfo_real():
    info = procfs.parse_cpuinfo(procfs.read("/proc/cpuinfo"))
    assert info.model
    assert info.flags


def test_parse_pid_stat_name_with_spaces_and_parens():
    text = ("20112 (my (odd) name) R 20104 20104 1994 0 -1 4194304 98 0 0 0"
            " 17 29 0 0 20 0 1 0 48422 3133440 388")
    times = procfs.parse_pid_stat(text)
    assert times == procfs.ProcessTimes(utime=17, stime=29)


def test_parse_pid_stat_real():
    times = procfs.parse_pid_stat(procfs.read("/proc/self/stat"))
    cpu = os.times()
    ticks = os.sysconf("SC_CLK_TCK")
    # The same process, read a moment apart: within a few ticks.
    assert abs(times.utime / ticks - cpu.user) < 1
    assert abs(times.stime / ticks - cpu.system) < 1


@pytest.mark.parametrize("text,cpus", [
    ("0", [0]),
    ("0-1\n", [0, 1]),
    ("0-3,8,10-11", [0, 1, 2, 3, 8, 10, 11]),
    ("", []),
])
def test_parse_cpulist(text, cpus):
    assert procfs.parse_cpulist(text) == cpus


def test_format_cpulist():
    assert procfs.format_cpulist([3, 0, 1]) == "0,1,3"


def test_parse_loadavg():
    assert procfs.parse_loadavg("0.40 0.38 0.20 3/128 20023\n") == (
        0.40, 0.38, 0.20)
