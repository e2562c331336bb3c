"""Parsers for the /proc files the host monitor reads.

Every parser takes the file's text and returns plain values, so tests feed
them fixture text (a parser is tested, nothing is mocked). ``read()`` is the
only function here that touches the file system.
"""

from __future__ import annotations

from dataclasses import dataclass


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


@dataclass(frozen=True)
class CpuTimes:
    """Cumulative jiffies of one line of /proc/stat."""

    user: int
    nice: int
    system: int
    idle: int
    iowait: int = 0
    irq: int = 0
    softirq: int = 0
    steal: int = 0

    @property
    def total(self) -> int:
        # guest and guest_nice are already part of user and nice.
        return (self.user + self.nice + self.system + self.idle
                + self.iowait + self.irq + self.softirq + self.steal)

    @property
    def user_time(self) -> int:
        return self.user + self.nice

    @property
    def system_time(self) -> int:
        return self.system + self.irq + self.softirq


@dataclass(frozen=True)
class ProcStat:
    total: CpuTimes
    cpus: dict[int, CpuTimes]
    boot_time: int | None


def parse_stat(text: str) -> ProcStat:
    """Parse /proc/stat: the total and per-cpu jiffies and btime."""
    total: CpuTimes | None = None
    cpus: dict[int, CpuTimes] = {}
    boot_time = None
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        key = fields[0]
        if key == "cpu":
            total = _cpu_times(fields[1:])
        elif key.startswith("cpu") and key[3:].isdigit():
            cpus[int(key[3:])] = _cpu_times(fields[1:])
        elif key == "btime" and len(fields) > 1:
            boot_time = int(fields[1])
    if total is None:
        raise ValueError("no 'cpu' line in /proc/stat")
    return ProcStat(total, cpus, boot_time)


def _cpu_times(values: list[str]) -> CpuTimes:
    numbers = [int(v) for v in values[:8]]
    if len(numbers) < 4:
        raise ValueError(f"short cpu line: {values!r}")
    return CpuTimes(*numbers)


def parse_meminfo(text: str) -> dict[str, int]:
    """Parse /proc/meminfo (or a node's meminfo) into {name: kB}.

    Node files prefix each line with ``Node N``; it is dropped.
    """
    info: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        words = rest.split()
        if not words:
            continue
        key = name.split()[-1]
        info[key] = int(words[0])
    return info


def parse_loadavg(text: str) -> tuple[float, float, float]:
    one, five, fifteen = text.split()[:3]
    return float(one), float(five), float(fifteen)


@dataclass(frozen=True)
class NicCounters:
    rx_bytes: int
    rx_packets: int
    rx_errors: int
    rx_dropped: int
    tx_bytes: int
    tx_packets: int
    tx_errors: int
    tx_dropped: int


def parse_net_dev(text: str) -> dict[str, NicCounters]:
    """Parse /proc/net/dev into {interface: counters}."""
    nics: dict[str, NicCounters] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if not sep or "|" in line:
            continue
        v = [int(x) for x in rest.split()]
        if len(v) < 12:
            raise ValueError(f"short /proc/net/dev line: {line!r}")
        nics[name.strip()] = NicCounters(
            rx_bytes=v[0], rx_packets=v[1], rx_errors=v[2], rx_dropped=v[3],
            tx_bytes=v[8], tx_packets=v[9], tx_errors=v[10],
            tx_dropped=v[11])
    return nics


@dataclass(frozen=True)
class CpuInfo:
    model: str
    mhz: float | None
    flags: list[str]


def parse_cpuinfo(text: str) -> CpuInfo:
    """The first processor's model name, speed and flags of /proc/cpuinfo.

    x86 says ``model name`` and ``flags``; other architectures use other
    keys (``cpu`` on ppc64, ``Features`` on aarch64), taken when present.
    """
    first: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if first:
                break
            continue
        key, _, value = line.partition(":")
        first.setdefault(key.strip(), value.strip())
    model = first.get("model name") or first.get("cpu") or ""
    mhz_text = first.get("cpu MHz") or first.get("clock", "").rstrip("MHz")
    try:
        mhz = float(mhz_text) if mhz_text else None
    except ValueError:
        mhz = None
    flags = (first.get("flags") or first.get("Features") or "").split()
    return CpuInfo(model, mhz, flags)


@dataclass(frozen=True)
class ProcessTimes:
    """utime and stime of /proc/<pid>/stat, in jiffies."""

    utime: int
    stime: int


def parse_pid_stat(text: str) -> ProcessTimes:
    # The command name (field 2) may hold spaces and parens: split after
    # its last ')'.
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return ProcessTimes(int(rest[11]), int(rest[12]))


def parse_cpulist(text: str) -> list[int]:
    """Parse a kernel cpu list such as ``0-3,8,10-11``."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        cpus.extend(range(int(first), int(last or first) + 1))
    return cpus


def format_cpulist(cpus: list[int]) -> str:
    """Comma-separated cpu ids, the ``onlineCpus`` wire form."""
    return ",".join(str(c) for c in sorted(cpus))
