"""Host samples, taken every few seconds by a Periodic operation.

Theory of operation
===================

Rates (cpu usage, NIC throughput) need two readings of cumulative
counters and the time between them. A ``HostSampler`` reads /proc and
/sys every ``[vars] host_sample_interval`` seconds on its own Periodic
thread and keeps the last two ``HostSample``s. ``Host.getStats`` computes
its answer from those two samples (``vdsm.host.stats``) and never reads
a counter itself, so a slow /proc read or a stuck statvfs delays the next
sample, never an API call.

Time is the monotonic clock: a wall clock step must not turn into a
negative or huge rate. A sample taken less than half an interval after
the previous one replaces it instead of being pushed, so the pair always
spans a meaningful time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from dataclasses import dataclass, field

from vdsm.common import clock
from vdsm.common.periodic import Periodic
from vdsm.host import procfs, topology

log = logging.getLogger("vdsm.host.sampling")

KSM_DIR = "/sys/kernel/mm/ksm"
THP_ENABLED = "/sys/kernel/mm/transparent_hugepage/enabled"
# Paths whose free space the manager watches (upstream's diskStats).
DISK_PATHS = ("/tmp", "/var/log", "/var/log/core")


@dataclass(frozen=True)
class NicSample:
    counters: procfs.NicCounters
    speed: int          # Mb/s; 0 when the driver does not say
    state: str          # up, down or unknown


@dataclass(frozen=True)
class KsmSample:
    run: bool
    pages_to_scan: int
    pages_sharing: int
    merge_across_nodes: bool
    ksmd_times: procfs.ProcessTimes | None


@dataclass
class HostSample:
    timestamp: float
    stat: procfs.ProcStat
    meminfo: dict[str, int]
    loadavg: tuple[float, float, float]
    nics: dict[str, NicSample]
    process: procfs.ProcessTimes
    # NUMA node -> (total KiB, free KiB), and node -> its cpus.
    node_memory: dict[int, tuple[int, int]] = field(default_factory=dict)
    node_cpus: dict[int, list[int]] = field(default_factory=dict)
    ksm: KsmSample | None = None
    thp_state: str | None = None
    disk_free: dict[str, int] = field(default_factory=dict)


def take_sample(ksmd_pid: int | None = None,
                disk_paths: tuple[str, ...] = DISK_PATHS) -> HostSample:
    nodes = topology.read_nodes()
    return HostSample(
        timestamp=clock.monotonic(),
        stat=procfs.parse_stat(procfs.read("/proc/stat")),
        meminfo=procfs.parse_meminfo(procfs.read("/proc/meminfo")),
        loadavg=procfs.parse_loadavg(procfs.read("/proc/loadavg")),
        nics=read_nics(),
        process=procfs.parse_pid_stat(procfs.read("/proc/self/stat")),
        node_memory={n.node_id: (n.total_kib, n.free_kib) for n in nodes},
        node_cpus={n.node_id: n.cpus for n in nodes},
        ksm=read_ksm(ksmd_pid),
        thp_state=read_thp_state(),
        disk_free=read_disk_free(disk_paths),
    )


def read_nics() -> dict[str, NicSample]:
    counters = procfs.parse_net_dev(procfs.read("/proc/net/dev"))
    return {name: NicSample(c, _nic_speed(name), _nic_state(name))
            for name, c in counters.items() if name != "lo"}


def _nic_speed(name: str) -> int:
    try:
        speed = int(procfs.read(f"/sys/class/net/{name}/speed"))
    except (OSError, ValueError):
        # Virtual devices and links without carrier have no speed.
        return 0
    return max(speed, 0)


def _nic_state(name: str) -> str:
    try:
        state = procfs.read(f"/sys/class/net/{name}/operstate").strip()
    except OSError:
        return "unknown"
    return state if state in ("up", "unknown") else "down"


def read_ksm(ksmd_pid: int | None) -> KsmSample | None:
    if not os.path.isdir(KSM_DIR):
        return None

    def value(name: str) -> int:
        return int(procfs.read(f"{KSM_DIR}/{name}"))

    times = None
    if ksmd_pid is not None:
        try:
            times = procfs.parse_pid_stat(
                procfs.read(f"/proc/{ksmd_pid}/stat"))
        except OSError:
            times = None
    merge = (value("merge_across_nodes") == 1
             if os.path.exists(f"{KSM_DIR}/merge_across_nodes") else True)
    return KsmSample(run=value("run") == 1,
                     pages_to_scan=value("pages_to_scan"),
                     pages_sharing=value("pages_sharing"),
                     merge_across_nodes=merge, ksmd_times=times)


def find_ksmd() -> int | None:
    """The pid of the ksmd kernel thread, or None without KSM."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if procfs.read(f"/proc/{name}/comm").strip() == "ksmd":
                return int(name)
        except OSError:
            continue
    return None


def parse_thp(text: str) -> str | None:
    """``always [madvise] never`` -> madvise."""
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return None


def read_thp_state() -> str | None:
    try:
        return parse_thp(procfs.read(THP_ENABLED))
    except OSError:
        return None


def read_disk_free(paths: tuple[str, ...]) -> dict[str, int]:
    """Free space in MiB of each existing path."""
    free = {}
    for path in paths:
        try:
            st = os.statvfs(path)
        except OSError:
            continue
        free[path] = st.f_bavail * st.f_frsize // (1024 * 1024)
    return free


class HostSampler:
    """Keeps the last two host samples, refreshed by a Periodic thread."""

    def __init__(self, interval: float,
                 disk_paths: tuple[str, ...] = DISK_PATHS) -> None:
        self.interval = interval
        self._disk_paths = disk_paths
        self._lock = threading.Lock()
        # Held while a sample is taken, so stop() can wait for it.
        self._sampling = threading.Lock()
        self._stopped = False
        self._samples: deque[HostSample] = deque(maxlen=2)
        self._ksmd_pid: int | None = None
        self._periodic = Periodic("host-sample", interval, self.sample)

    def start(self) -> None:
        self._ksmd_pid = find_ksmd()
        self.sample()
        self._periodic.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop sampling; wait (bounded) for a sample being taken."""
        self._periodic.stop()
        self._stopped = True
        if self._sampling.acquire(timeout=timeout):
            self._sampling.release()
        else:
            log.warning("STOP operation=host-sample reason=sample stuck")

    def sample(self) -> None:
        with self._sampling:
            if self._stopped:
                return
            self.record(take_sample(self._ksmd_pid, self._disk_paths))

    def record(self, sample: HostSample) -> None:
        with self._lock:
            if (self._samples and sample.timestamp - self._samples[-1]
                    .timestamp < self.interval / 2):
                self._samples[-1] = sample
            else:
                self._samples.append(sample)

    def samples(self) -> tuple[HostSample | None, HostSample | None]:
        """(first, last): first is None until two samples exist."""
        with self._lock:
            if not self._samples:
                return None, None
            if len(self._samples) == 1:
                return None, self._samples[0]
            return self._samples[0], self._samples[1]
