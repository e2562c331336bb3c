"""What the slow poller finds in running VMs: guest info and block jobs.

Theory of operation
-------------------
Guest info comes from qemu-guest-agent through libvirt
(``virDomainGetGuestInfo``, ``virDomainGetGuestVcpus``), only for domains
with the agent channel (``org.qemu.guest_agent.0``); block jobs from
``virDomainGetBlockJobInfo`` per disk. Both need a running qemu (and the
agent) to answer, and either may hang, so neither is ever asked from the
stats path: for each running VM whose answer is due, a short worker
thread asks libvirt and stores the answer here. A VM whose previous
worker is still stuck gets no new one (one in flight per VM and kind), so
a hung agent costs one thread and never delays another VM, nor VM stats,
which only read ``get()``.

Guest info is polled every ``vm_guest_info_interval`` seconds (slow: the
agent's answers change rarely), block jobs every ``vm_sample_interval``
(the engine follows a merge's progress by them). Both take a libvirt
domain job: were they to run during a bulk sample, the sample (NOWAIT)
would skip that VM's monitor parts and report it unresponsive, so the
due workers start right after each sample (``Sampler.after_sample``),
never on a clock of their own. A VM without an agent, or whose agent does
not answer, has no guest info (``None``).
"""

from __future__ import annotations

import enum
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import libvirt

from vdsm.common import clock
from vdsm.virt import domxml
from vdsm.virt.vm import PAUSED, POWERING_DOWN, UP, Vm

log = logging.getLogger("vdsm.virt.guestinfo")


@dataclass(frozen=True)
class OsInfo:
    id: str = ""                # linux distribution id ("debian"), "mswindows"
    name: str = ""              # "Debian GNU/Linux"
    version: str = ""           # "12 (bookworm)"
    version_id: str = ""        # "12"
    kernel_release: str = ""    # "6.1.0-57-amd64"
    machine: str = ""           # "x86_64"


@dataclass(frozen=True)
class Timezone:
    name: str
    offset_min: int             # minutes east of UTC


@dataclass(frozen=True)
class GuestNic:
    name: str
    hw: str                     # MAC address
    inet: list[str] = field(default_factory=list)
    inet6: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Filesystem:
    path: str
    fstype: str
    total_bytes: int
    used_bytes: int


@dataclass(frozen=True)
class GuestInfo:
    hostname: str | None = None
    os: OsInfo | None = None
    timezone: Timezone | None = None
    users: list[str] = field(default_factory=list)
    cpu_count: int = -1         # online vCPUs; -1 when not reported
    interfaces: list[GuestNic] = field(default_factory=list)
    disks: dict[str, str] = field(default_factory=dict)   # serial -> dev
    filesystems: list[Filesystem] = field(default_factory=list)


class BlockJobKind(enum.Enum):
    """Upstream's block job types."""

    PULL = "pull"
    COPY = "copy"
    COMMIT = "commit"
    UNKNOWN = "unknown"


_JOB_KINDS = {libvirt.VIR_DOMAIN_BLOCK_JOB_TYPE_PULL: BlockJobKind.PULL,
              libvirt.VIR_DOMAIN_BLOCK_JOB_TYPE_COPY: BlockJobKind.COPY,
              libvirt.VIR_DOMAIN_BLOCK_JOB_TYPE_COMMIT: BlockJobKind.COMMIT,
              libvirt.VIR_DOMAIN_BLOCK_JOB_TYPE_ACTIVE_COMMIT:
              BlockJobKind.COMMIT}


@dataclass(frozen=True)
class BlockJob:
    id: str                     # stable per VM and disk
    disk: str                   # target (vda)
    kind: BlockJobKind
    cur: int
    end: int
    bandwidth: int              # MiB/s, 0 unlimited
    image_id: str | None        # the disk's imageID (metadata)


def block_job_id(vm_id: str, disk: str) -> str:
    return str(uuid.uuid5(uuid.UUID(vm_id), f"blockjob/{disk}"))


def read_block_jobs(vm: Vm, dom: libvirt.virDomain) -> list[BlockJob]:
    """The block jobs running on the VM's disks (libvirt calls)."""
    if vm.root is None:
        return []
    images = {d.get("name"): d.get("imageID")
              for d in vm.md.devices_info(devtype="disk")}
    jobs = []
    for disk in domxml.disks(vm.root):
        if disk.device != "disk" or not disk.target:
            continue
        info = dom.blockJobInfo(disk.target, 0)
        if not info:
            continue
        image = images.get(disk.target)
        jobs.append(BlockJob(
            id=block_job_id(vm.id, disk.target), disk=disk.target,
            kind=_JOB_KINDS.get(info.get("type", 0), BlockJobKind.UNKNOWN),
            cur=int(info.get("cur", 0)), end=int(info.get("end", 0)),
            bandwidth=int(info.get("bandwidth", 0)),
            image_id=str(image) if image else None))
    return jobs


_GUEST_TYPES = (libvirt.VIR_DOMAIN_GUEST_INFO_HOSTNAME,
                libvirt.VIR_DOMAIN_GUEST_INFO_OS,
                libvirt.VIR_DOMAIN_GUEST_INFO_TIMEZONE,
                libvirt.VIR_DOMAIN_GUEST_INFO_USERS,
                libvirt.VIR_DOMAIN_GUEST_INFO_FILESYSTEM,
                libvirt.VIR_DOMAIN_GUEST_INFO_DISKS,
                libvirt.VIR_DOMAIN_GUEST_INFO_INTERFACES)


def read_guest_info(dom: libvirt.virDomain) -> GuestInfo | None:
    """Ask the guest agent, one kind at a time (an agent may lack some
    commands); None when it answers nothing."""
    flat: dict[str, Any] = {}
    answered = False
    for kind in _GUEST_TYPES:
        try:
            flat.update(dom.guestInfo(kind, 0))
            answered = True
        except libvirt.libvirtError as e:
            log.debug("NOINFO kind=%s error=%s", kind, e)
            if _agent_gone(e):
                return None
    cpus = -1
    try:
        cpus = len(_cpu_list(dom.guestVcpus(0).get("online", "")))
        answered = True
    except libvirt.libvirtError as e:
        log.debug("NOINFO kind=vcpus error=%s", e)
    if not answered:
        return None
    return parse_guest_info(flat, cpus)


def _agent_gone(e: libvirt.libvirtError) -> bool:
    return e.get_error_code() in (libvirt.VIR_ERR_AGENT_UNRESPONSIVE,
                                  libvirt.VIR_ERR_OPERATION_INVALID,
                                  libvirt.VIR_ERR_NO_DOMAIN)


def parse_guest_info(flat: dict[str, Any], cpu_count: int = -1
                     ) -> GuestInfo:
    """libvirt's flat guest info record (``os.name``, ``if.0.hwaddr``...)
    as a GuestInfo."""
    def get(key: str, default: Any = "") -> Any:
        return flat.get(key, default)

    os_info = None
    if any(k.startswith("os.") for k in flat):
        os_info = OsInfo(
            id=get("os.id"), name=get("os.name"), version=get("os.version"),
            version_id=get("os.version-id"),
            kernel_release=get("os.kernel-release"),
            machine=get("os.machine"))
    timezone = None
    if "timezone.offset" in flat:
        timezone = Timezone(get("timezone.name"),
                            int(flat["timezone.offset"]) // 60)
    users = [get(f"user.{i}.name") for i in range(get("user.count", 0))]
    nics = []
    for i in range(get("if.count", 0)):
        addrs = [(get(f"if.{i}.addr.{j}.type"), get(f"if.{i}.addr.{j}.addr"))
                 for j in range(get(f"if.{i}.addr.count", 0))]
        nics.append(GuestNic(
            name=get(f"if.{i}.name"), hw=get(f"if.{i}.hwaddr"),
            inet=[a for t, a in addrs if t == "ipv4"],
            inet6=[a for t, a in addrs if t == "ipv6"]))
    disks = {get(f"disk.{i}.serial"): get(f"disk.{i}.name")
             for i in range(get("disk.count", 0))
             if get(f"disk.{i}.serial")}
    filesystems = [
        Filesystem(path=get(f"fs.{i}.mountpoint"),
                   fstype=get(f"fs.{i}.fstype"),
                   total_bytes=int(get(f"fs.{i}.total-bytes", 0)),
                   used_bytes=int(get(f"fs.{i}.used-bytes", 0)))
        for i in range(get("fs.count", 0))]
    return GuestInfo(hostname=flat.get("hostname"), os=os_info,
                     timezone=timezone, users=users, cpu_count=cpu_count,
                     interfaces=nics, disks=disks, filesystems=filesystems)


def _cpu_list(text: str) -> set[int]:
    """'0-2,4' -> {0, 1, 2, 4}"""
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


class GuestPoller:
    """Polls running VMs for guest info and block jobs off the stats path.
    """

    def __init__(self, vms: Callable[[], list[Vm]], guest_interval: float,
                 jobs_interval: float) -> None:
        self._vms = vms
        self.guest_interval = guest_interval
        self.jobs_interval = jobs_interval
        self._lock = threading.Lock()
        self._guest: dict[str, GuestInfo | None] = {}
        self._jobs: dict[str, list[BlockJob]] = {}
        self._due: dict[tuple[str, str], float] = {}
        self._in_flight: set[tuple[str, str]] = set()

    def get(self, vm_id: str) -> tuple[GuestInfo | None, list[BlockJob]]:
        with self._lock:
            return self._guest.get(vm_id), list(self._jobs.get(vm_id, []))

    def poll_due(self) -> None:
        """Start a worker for every VM and kind whose answer is due."""
        # Jobs are due each sample: leave slack for a sample's jitter.
        now = clock.monotonic() + self.jobs_interval / 4
        running = [vm for vm in self._vms() if _running(vm)]
        ids = {vm.id for vm in running}
        with self._lock:
            for store in (self._guest, self._jobs):
                for gone in set(store) - ids:
                    del store[gone]
        for vm in running:
            assert vm.root is not None
            if any(d.device == "disk" for d in domxml.disks(vm.root)):
                self._maybe(vm, "jobs", self.jobs_interval, now,
                            self._poll_jobs)
            if domxml.has_guest_agent(vm.root):
                self._maybe(vm, "guest", self.guest_interval, now,
                            self._poll_guest)

    def _maybe(self, vm: Vm, kind: str, interval: float, now: float,
               work: Callable[[Vm], None]) -> None:
        key = (vm.id, kind)
        with self._lock:
            if key in self._in_flight or self._due.get(key, 0.0) > now:
                return
            self._in_flight.add(key)
            self._due[key] = now + interval

        def run() -> None:
            try:
                work(vm)
            except Exception as e:
                log.debug("FAIL poll vm=%s kind=%s error=%s", vm.id, kind, e)
            finally:
                with self._lock:
                    self._in_flight.discard(key)

        threading.Thread(target=run, daemon=True,
                         name=f"virt/guestinfo/{kind}").start()

    def _poll_guest(self, vm: Vm) -> None:
        info = read_guest_info(vm.dom())
        with self._lock:
            self._guest[vm.id] = info

    def _poll_jobs(self, vm: Vm) -> None:
        jobs = read_block_jobs(vm, vm.dom())
        with self._lock:
            self._jobs[vm.id] = jobs


def _running(vm: Vm) -> bool:
    return vm.status in (UP, PAUSED, POWERING_DOWN) and vm.root is not None
