"""Live migration: typed parameters, the convergence schedule, progress
from libvirt job stats, the host's migration slots, the source job.

Theory of operation
-------------------
``VM.migrate`` on the source makes a ``SourceJob`` and starts its
thread; the VM reports ``Migration Source`` at once. The job:

1. connects to the destination vdsmd (our JSON-RPC client over TLS with
   the host certificates) and pings it;
2. waits for one of this host's outgoing slots (``[vars]
   max_outgoing_migrations``, or the call's ``outgoingLimit``): extra
   migrations queue here;
3. calls ``VM.migrationCreate`` on the destination with the migratable
   domain XML. The destination takes an incoming slot (refusing with code
   82 when none is free: the source waits ``migration_retry_timeout`` and
   asks again), prepares the VM's disks on the shared storage, registers
   the VM as ``Migration Destination`` and answers the XML it prepared;
4. runs libvirt's peer-to-peer live migration (``migrateToURI3``) with
   that XML while a monitor thread reads ``jobStats`` every
   ``migration_monitor_interval`` seconds, sends
   ``|virt|VM_migration_status|<vmId>`` and applies the convergence
   schedule (its ``init`` actions first, then one ``stalling`` step each
   time the migration needed one more pass over memory than its limit).

A ``postcopy`` step switches the migration to post-copy
(``migrateStartPostCopy``; the job asked libvirt for
``VIR_MIGRATE_POSTCOPY`` when its schedule has such a step): the guest
runs on the destination from then on, which stays ``Migration
Destination`` until the last page came, and the events say ``postcopy``.

On success the source VM goes Down with exit reason 4 (MigrationSucceeded)
and its disks are torn down; the destination sees the guest resume and
reports Up. On any failure before the guest switched over (the destination
refused, libvirt failed, cancel, a schedule ``abort``) libvirt leaves the
guest running on the source: the job destroys the destination's VM, the
source goes back to Up, and ``VM.getMigrationStatus`` answers the error
(12, the destination's own code, or 47 when cancelled). Exactly one copy
runs at any time: libvirt hands the guest over or not, and vdsm only
follows what libvirt did.

A vdsmd restarted during a migration finds the domain's migration job in
libvirt (``Migration Source``) and a ``RecoveredJob`` waits for that job
to end, then reports what libvirt did.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import libvirt

from vdsm import client
from vdsm.common import clock, exception

log = logging.getLogger("vdsm.virt.migration")

DEFAULT_PORT = 54321


# Parameters.


class Action(enum.Enum):
    SET_DOWNTIME = "setDowntime"
    ABORT = "abort"
    POSTCOPY = "postcopy"


@dataclass(frozen=True)
class Step:
    """One convergence action with its parameters."""

    action: Action
    downtime_ms: int = 0            # SET_DOWNTIME only


@dataclass(frozen=True)
class StallingStep:
    """Do step once the migration stalled for more than limit passes."""

    limit: int
    step: Step


@dataclass(frozen=True)
class Schedule:
    init: tuple[Step, ...] = ()
    stalling: tuple[StallingStep, ...] = ()

    @property
    def uses_postcopy(self) -> bool:
        return any(s.step.action == Action.POSTCOPY for s in self.stalling)


@dataclass(frozen=True)
class Params:
    """What VM.migrate asked for, checked."""

    host: str                       # destination vdsm, without brackets
    port: int = DEFAULT_PORT
    dstqemu: str = ""               # address for the migration stream
    tunneled: bool = False
    abort_on_error: bool = False
    compressed: bool = False
    auto_converge: bool = False
    max_bandwidth: int = 0          # MiB/s; 0: [vars] migration_max_bandwidth
    outgoing_limit: int | None = None
    incoming_limit: int | None = None
    schedule: Schedule | None = None
    enable_guest_events: bool = False
    encrypted: bool = False
    parallel: int = 0
    console_address: str = ""


def split_host_port(dst: str) -> tuple[str, int]:
    """'host', 'host:port', '[v6]', '[v6]:port' -> (host, port).

    Raises MigrationError on anything else (nothing started).
    """
    dst = dst.strip()
    port = DEFAULT_PORT
    if dst.startswith("["):
        host, sep, rest = dst[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise exception.MigrationError(f"bad destination {dst!r}")
        port_text = rest[1:]
    elif dst.count(":") == 1:
        host, _, port_text = dst.partition(":")
    else:
        host, port_text = dst, ""
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise exception.MigrationError(f"bad destination {dst!r}")
        port = int(port_text)
    if not host or any(c.isspace() or c in "/@?#" for c in host):
        raise exception.MigrationError(f"bad destination {dst!r}")
    return host, port


def uri_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


# Progress.


@dataclass(frozen=True)
class Progress:
    """One reading of a migration job's stats (bytes, ms)."""

    data_total: int = 0
    data_remaining: int = 0
    mem_iteration: int = -1         # passes over memory, when known
    elapsed_ms: int = 0
    mem_bps: int = 0

    @classmethod
    def from_job_stats(cls, stats: dict[str, Any]) -> Progress:
        return cls(
            data_total=int(stats.get(libvirt.VIR_DOMAIN_JOB_DATA_TOTAL, 0)),
            data_remaining=int(stats.get(
                libvirt.VIR_DOMAIN_JOB_DATA_REMAINING, 0)),
            mem_iteration=int(stats.get("memory_iteration", -1)),
            elapsed_ms=int(stats.get(libvirt.VIR_DOMAIN_JOB_TIME_ELAPSED,
                                     0)),
            mem_bps=int(stats.get(libvirt.VIR_DOMAIN_JOB_MEMORY_BPS, 0)))

    @property
    def percent(self) -> int:
        """0-99 while data remains; 100 is for a finished migration."""
        if not self.data_total:
            return 0
        done = 100 - (100 * self.data_remaining) // self.data_total
        return max(0, min(done, 99))


def outgoing_job(stats: dict[str, Any]) -> bool:
    """Whether these jobStats describe an outgoing migration in progress."""
    if stats.get("type", libvirt.VIR_DOMAIN_JOB_NONE) in (
            libvirt.VIR_DOMAIN_JOB_NONE, libvirt.VIR_DOMAIN_JOB_COMPLETED,
            libvirt.VIR_DOMAIN_JOB_FAILED, libvirt.VIR_DOMAIN_JOB_CANCELLED):
        return False
    return (stats.get("operation")
            == libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT)


class Convergence:
    """Which schedule steps are due, from successive progress readings.

    A new pass over memory shows as libvirt's memory_iteration going up
    or, where libvirt does not report it, as the remaining data growing
    again. ``stalled`` counts the passes after the first; the first
    stalling step whose limit is below it is due, one step per reading
    (each gets a monitor interval to act), in the schedule's order.
    """

    def __init__(self, schedule: Schedule) -> None:
        self._pending = list(schedule.stalling)
        self.stalled = 0
        self._last: Progress | None = None

    def observe(self, progress: Progress) -> Step | None:
        last, self._last = self._last, progress
        if last is not None:
            if progress.mem_iteration >= 0 and last.mem_iteration >= 0:
                if progress.mem_iteration > last.mem_iteration:
                    self.stalled += progress.mem_iteration - \
                        last.mem_iteration
            elif progress.data_remaining > last.data_remaining:
                self.stalled += 1
        if self._pending and self._pending[0].limit < self.stalled:
            return self._pending.pop(0).step
        return None


# Slots: how many migrations may run at once.


class Slots:
    """A counting semaphore whose bound can change while it is in use."""

    def __init__(self, bound: int) -> None:
        self._cond = threading.Condition()
        self._bound = max(1, bound)
        self.in_use = 0

    @property
    def bound(self) -> int:
        return self._bound

    @bound.setter
    def bound(self, value: int) -> None:
        with self._cond:
            self._bound = max(1, value)
            self._cond.notify_all()

    def try_acquire(self) -> bool:
        with self._cond:
            if self.in_use >= self._bound:
                return False
            self.in_use += 1
            return True

    def acquire(self, cancelled: threading.Event,
                poll: float = 0.5) -> bool:
        """Wait for a slot; False when cancelled first."""
        with self._cond:
            while self.in_use >= self._bound:
                if cancelled.is_set():
                    return False
                self._cond.wait(poll)
            if cancelled.is_set():
                return False
            self.in_use += 1
            return True

    def release(self) -> None:
        with self._cond:
            self.in_use = max(0, self.in_use - 1)
            self._cond.notify_all()


# Status of a VM's last outgoing migration.


class Phase(enum.Enum):
    QUEUED = "queued"               # waiting for a slot or the destination
    RUNNING = "running"             # libvirt copies memory
    POSTCOPY = "postcopy"           # switched to post-copy
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass
class State:
    """What getMigrationStatus and the migration events report."""

    phase: Phase = Phase.QUEUED
    progress: int = 0
    downtime_ms: int | None = None
    error: exception.VdsmError | None = None
    # Downtimes set in libvirt (init and schedule steps), in order.
    downtimes: list[int] = field(default_factory=list)
    # Switched to post-copy: stays true once it did, as upstream's (the
    # engine reads it in the events and the last status).
    postcopy: bool = False

    @property
    def active(self) -> bool:
        return self.phase in (Phase.QUEUED, Phase.RUNNING, Phase.POSTCOPY)


Notify = Callable[[str, State], None]


@dataclass(frozen=True)
class Settings:
    """The [vars] options migrations read."""

    libvirt_uri: str = "qemu+tls://{host}/system"
    max_bandwidth: int = 52         # MiB/s
    downtime_ms: int = 500
    monitor_interval: float = 10.0
    retry_timeout: float = 10.0
    destination_timeout: float = 21600.0
    progress_timeout: float = 240.0
    pki_dir: str = "/etc/pki/vdsm"
    use_tls: bool = True
    unsafe: bool = False


def settings_from(config: Any) -> Settings:
    get, getf = config.get, config.getfloat
    return Settings(
        libvirt_uri=get("vars", "migration_libvirt_uri"),
        max_bandwidth=config.getint("vars", "migration_max_bandwidth"),
        downtime_ms=config.getint("vars", "migration_downtime"),
        monitor_interval=getf("vars", "migration_monitor_interval"),
        retry_timeout=getf("vars", "migration_retry_timeout"),
        destination_timeout=getf("vars", "migration_destination_timeout"),
        progress_timeout=getf("vars", "migration_progress_timeout"),
        pki_dir=get("pki", "pki_dir"),
        use_tls=config.getboolean("vars", "ssl"),
        unsafe=config.getboolean("vars", "migration_unsafe"))


class Cancelled(Exception):
    pass


class SourceJob:
    """One outgoing migration of one VM (see the module docstring).

    vm is a vdsm.virt.vm.Vm; connect(host, port) returns a client of the
    destination's API (vdsm.client.Client); teardown(vm) releases the
    VM's disks once it left.
    """

    def __init__(self, vm: Any, params: Params, settings: Settings,
                 slots: Slots, connect: Callable[[str, int], Any],
                 notify: Notify,
                 teardown: Callable[[Any], None] | None = None) -> None:
        self.vm = vm
        self.params = params
        self.settings = settings
        self.slots = slots
        self._connect = connect
        self._notify = notify
        self._teardown = teardown
        self.state = State()
        self.cancelled = threading.Event()
        self._in_libvirt = False
        self._dest: Any = None
        self._bandwidth = params.max_bandwidth or settings.max_bandwidth
        self._monitor_stop = threading.Event()
        self._schedule_aborted = False
        self._thread = threading.Thread(
            target=self._run, daemon=True, name=f"migsrc/{vm.id[:8]}")

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def active(self) -> bool:
        return self.state.active

    # Verbs while it runs.

    def cancel(self) -> None:
        if not self.state.active:
            raise exception.MigrationCancelationFailed(
                f"vmId={self.vm.id}: no migration in progress")
        self.cancelled.set()
        if self._in_libvirt:
            try:
                self.vm.dom().abortJob()
            except libvirt.libvirtError as e:
                # The job ended meanwhile, or has not started in libvirt
                # yet (the cancelled flag stops it before it does).
                log.info("ABORT vm=%s libvirt=%s", self.vm.id, e)
        log.info("MIGRATION CANCEL vm=%s", self.vm.id)

    def set_max_bandwidth(self, mib_per_s: int) -> None:
        if not self.state.active:
            raise exception.MigrationNotInProgress(f"vmId={self.vm.id}")
        self._bandwidth = mib_per_s
        if self._in_libvirt:
            try:
                self.vm.dom().migrateSetMaxSpeed(mib_per_s, 0)
            except libvirt.libvirtError as e:
                raise exception.MigrationNotInProgress(
                    f"vmId={self.vm.id}: {e}")
        log.info("MIGRATION BANDWIDTH vm=%s mib_s=%d", self.vm.id,
                 mib_per_s)

    # The thread.

    def _run(self) -> None:
        log.info("MIGRATION START vm=%s dst=%s:%d", self.vm.id,
                 self.params.host, self.params.port)
        try:
            self._dest = self._connect(self.params.host, self.params.port)
        except Exception as e:
            if self.cancelled.is_set():
                self._failed(exception.MigrationCancelationFailed(
                    "Migration canceled"))
            else:
                self._failed(exception.MigrationError(
                    f"cannot connect to destination {self.params.host}: "
                    f"{e}"))
            return
        try:
            self._migrate()
        except Cancelled:
            self._failed(exception.MigrationCancelationFailed(
                "Migration canceled"))
        except exception.VdsmError as e:
            self._failed(e)
        except libvirt.libvirtError as e:
            if (self.cancelled.is_set() or e.get_error_code()
                    == libvirt.VIR_ERR_OPERATION_ABORTED):
                self._failed(exception.MigrationCancelationFailed(
                    f"Migration canceled: {e}"))
            else:
                self._failed(exception.MigrationError(str(e)))
        except Exception as e:
            log.exception("FAIL migration vm=%s", self.vm.id)
            self._failed(exception.MigrationError(str(e)))
        finally:
            try:
                self._dest.close()
            except Exception:
                pass

    def _migrate(self) -> None:
        self._dest.Host.ping2()
        while True:
            if self.params.outgoing_limit:
                self.slots.bound = self.params.outgoing_limit
            if not self.slots.acquire(self.cancelled):
                raise Cancelled()
            try:
                if self._attempt():
                    return
            finally:
                self.slots.release()
            # The destination had no free incoming slot.
            if self.cancelled.wait(self.settings.retry_timeout):
                raise Cancelled()

    def _attempt(self) -> bool:
        """One try; False when the destination asks to retry later."""
        vm = self.vm
        dom = vm.dom()
        xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE
                          | libvirt.VIR_DOMAIN_XML_SECURE)
        start = vm.start_time()
        offset = clock.monotonic() - start if start is not None else 0
        args: dict[str, Any] = {
            "vmID": vm.id,
            "params": {"vmId": vm.id, "xml": xml,
                       "elapsedTimeOffset": offset,
                       "enableGuestEvents": self.params.enable_guest_events,
                       "migrationDest": "libvirt"}}
        if self.params.incoming_limit:
            args["incomingLimit"] = self.params.incoming_limit
        if self.cancelled.is_set():
            raise Cancelled()
        try:
            created = self._dest.call("VM.migrationCreate", args,
                                      timeout=120)
        except client.ServerError as e:
            if e.code == exception.MigrationLimitExceeded.code:
                log.info("MIGRATION RETRY vm=%s reason=%s", vm.id,
                         e.message)
                return False
            # It may have registered the VM before failing.
            self._destroy_remote()
            raise _remote_error(e)
        answered = created.get("params") if isinstance(created, dict) \
            else None
        dest_xml = answered.get("xml") if isinstance(answered, dict) \
            else None
        try:
            self._libvirt_migrate(dom, dest_xml or xml)
        except BaseException:
            self._destroy_remote()
            raise
        self._succeeded(dom)
        return True

    def _libvirt_migrate(self, dom: libvirt.virDomain, xml: str) -> None:
        if self.cancelled.is_set():
            raise Cancelled()
        p = self.params
        duri = self.settings.libvirt_uri.format(host=uri_host(p.host))
        mparams: dict[str, Any] = {
            libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: self._bandwidth,
            libvirt.VIR_MIGRATE_PARAM_DEST_XML: xml,
            libvirt.VIR_MIGRATE_PARAM_PERSIST_XML: xml}
        if not p.tunneled:
            mparams[libvirt.VIR_MIGRATE_PARAM_URI] = \
                f"tcp://{uri_host(p.dstqemu or p.host)}"
        if p.console_address:
            kind = "spice" if self.vm.root is not None and \
                self.vm.root.find("devices/graphics[@type='spice']") \
                is not None else "vnc"
            mparams[libvirt.VIR_MIGRATE_PARAM_GRAPHICS_URI] = \
                f"{kind}://{p.console_address}"
        if p.parallel:
            mparams[libvirt.VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS] = \
                p.parallel
        log.info("MIGRATION LIBVIRT vm=%s duri=%s flags=%#x", self.vm.id,
                 duri, self._flags())
        monitor = threading.Thread(target=self._monitor, args=(dom,),
                                   daemon=True,
                                   name=f"migmon/{self.vm.id[:8]}")
        self.state.phase = Phase.RUNNING
        self._in_libvirt = True
        self._monitor_stop.clear()
        monitor.start()
        try:
            dom.migrateToURI3(duri, mparams, self._flags())
        finally:
            self._in_libvirt = False
            self._monitor_stop.set()
            monitor.join()

    def _flags(self) -> int:
        p = self.params
        flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
                 | libvirt.VIR_MIGRATE_PERSIST_DEST)
        if p.tunneled:
            flags |= libvirt.VIR_MIGRATE_TUNNELLED
        if p.abort_on_error:
            flags |= libvirt.VIR_MIGRATE_ABORT_ON_ERROR
        if p.compressed:
            flags |= libvirt.VIR_MIGRATE_COMPRESSED
        if p.auto_converge:
            flags |= libvirt.VIR_MIGRATE_AUTO_CONVERGE
        if p.encrypted:
            flags |= libvirt.VIR_MIGRATE_TLS
        if p.parallel:
            flags |= libvirt.VIR_MIGRATE_PARALLEL
        if self.settings.unsafe:
            flags |= libvirt.VIR_MIGRATE_UNSAFE
        if p.schedule is not None and p.schedule.uses_postcopy:
            flags |= libvirt.VIR_MIGRATE_POSTCOPY
        return flags

    # Monitor thread: progress, events, the schedule.

    def _init_steps(self) -> tuple[Step, ...]:
        if self.params.schedule is None:
            return (Step(Action.SET_DOWNTIME, self.settings.downtime_ms),)
        return self.params.schedule.init

    def _run_init(self, dom: libvirt.virDomain) -> bool:
        """The init steps; False when libvirt has no job to apply them
        to yet."""
        try:
            for step in self._init_steps():
                self._do(dom, step)
        except libvirt.libvirtError as e:
            log.debug("MIGRATION INIT vm=%s deferred: %s", self.vm.id, e)
            return False
        return True

    def _monitor(self, dom: libvirt.virDomain) -> None:
        schedule = self.params.schedule
        init_done = self._run_init(dom)
        convergence = Convergence(schedule or Schedule())
        last_change = clock.monotonic()
        lowest: int | None = None
        while not init_done and not self._monitor_stop.wait(0.1):
            # The job starts in libvirt a moment after migrateToURI3.
            init_done = self._run_init(dom)
        while not self._monitor_stop.wait(self.settings.monitor_interval):
            try:
                stats = dom.jobStats()
            except libvirt.libvirtError:
                continue
            if not outgoing_job(stats):
                continue
            progress = Progress.from_job_stats(stats)
            self.state.progress = max(self.state.progress, progress.percent)
            log.info("MIGRATION PROGRESS vm=%s percent=%d remaining_mib=%d "
                     "iteration=%d", self.vm.id, progress.percent,
                     progress.data_remaining >> 20, progress.mem_iteration)
            self._send()
            if self.state.postcopy:
                continue
            step = convergence.observe(progress)
            if step is not None:
                log.info("MIGRATION STALLING vm=%s passes=%d step=%s",
                         self.vm.id, convergence.stalled, step)
                try:
                    self._do(dom, step)
                except libvirt.libvirtError as e:
                    log.warning("MIGRATION STEP vm=%s failed: %s",
                                self.vm.id, e)
                if step.action == Action.ABORT:
                    return
            if schedule is None:
                now = clock.monotonic()
                if lowest is None or progress.data_remaining < lowest:
                    lowest, last_change = progress.data_remaining, now
                elif now - last_change > self.settings.progress_timeout:
                    log.warning("MIGRATION STUCK vm=%s seconds=%d",
                                self.vm.id, now - last_change)
                    self._abort(dom)
                    return

    def _do(self, dom: libvirt.virDomain, step: Step) -> None:
        if step.action == Action.SET_DOWNTIME:
            dom.migrateSetMaxDowntime(step.downtime_ms, 0)
            self.state.downtimes.append(step.downtime_ms)
            log.info("MIGRATION DOWNTIME vm=%s ms=%d", self.vm.id,
                     step.downtime_ms)
        elif step.action == Action.POSTCOPY:
            dom.migrateStartPostCopy(0)
            self.state.phase = Phase.POSTCOPY
            self.state.postcopy = True
            log.info("MIGRATION POSTCOPY vm=%s", self.vm.id)
            # The engine learns at once that the guest runs on the
            # destination now: no way back from here.
            self._send()
        elif step.action == Action.ABORT:
            log.warning("MIGRATION SCHEDULE ABORT vm=%s", self.vm.id)
            self._abort(dom)

    def _abort(self, dom: libvirt.virDomain) -> None:
        self._schedule_aborted = True
        try:
            dom.abortJob()
        except libvirt.libvirtError as e:
            log.warning("FAIL abort vm=%s error=%s", self.vm.id, e)

    def _send(self) -> None:
        try:
            self._notify(self.vm.id, self.state)
        except Exception:
            log.exception("FAIL migration event vm=%s", self.vm.id)

    # Endings.

    def _succeeded(self, dom: libvirt.virDomain) -> None:
        try:
            done = dom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
            downtime = done.get(libvirt.VIR_DOMAIN_JOB_DOWNTIME)
            if downtime is not None:
                self.state.downtime_ms = int(downtime)
        except libvirt.libvirtError as e:
            log.info("MIGRATION no completed stats vm=%s: %s", self.vm.id, e)
        self.state.progress = 100
        self.state.phase = Phase.SUCCEEDED
        log.info("MIGRATION DONE vm=%s downtime_ms=%s", self.vm.id,
                 self.state.downtime_ms)
        self._send()
        self.vm.migration_succeeded()
        if self._teardown is not None:
            try:
                self._teardown(self.vm)
            except Exception:
                log.exception("FAIL teardown after migration vm=%s",
                              self.vm.id)

    def _failed(self, error: exception.VdsmError) -> None:
        if self._schedule_aborted and \
                isinstance(error, exception.MigrationCancelationFailed):
            error = exception.MigrationError(
                "Migration aborted by its convergence schedule")
        self.state.error = error
        self.state.phase = Phase.FAILED
        log.warning("MIGRATION FAILED vm=%s code=%d error=%s", self.vm.id,
                    error.code, error)
        self.vm.migration_failed()

    def _destroy_remote(self) -> None:
        try:
            self._dest.call("VM.destroy", {"vmID": self.vm.id}, timeout=60)
        except Exception as e:
            log.info("MIGRATION destination destroy vm=%s: %s", self.vm.id,
                     e)


class DestinationRefused(exception.MigrationError):
    """VM.migrationCreate failed on the destination: its code is kept."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"migration destination error: {message}")
        self.code = code


def _remote_error(e: client.ServerError) -> exception.VdsmError:
    return DestinationRefused(e.code, e.message)


class RecoveredJob:
    """A migration found in libvirt when vdsmd started: wait for its end.

    Only reports: the job was started by a previous vdsmd, libvirt runs
    it. Cancel aborts it in libvirt.
    """

    def __init__(self, vm: Any, poll: float = 1.0) -> None:
        self.vm = vm
        self.state = State(phase=Phase.RUNNING)
        self.cancelled = threading.Event()
        self._poll = poll
        self._thread = threading.Thread(
            target=self._run, daemon=True, name=f"migrec/{vm.id[:8]}")

    @property
    def active(self) -> bool:
        return self.state.active

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def cancel(self) -> None:
        if not self.state.active:
            raise exception.MigrationCancelationFailed(
                f"vmId={self.vm.id}: no migration in progress")
        self.cancelled.set()
        try:
            self.vm.dom().abortJob()
        except libvirt.libvirtError as e:
            log.info("ABORT vm=%s libvirt=%s", self.vm.id, e)

    def set_max_bandwidth(self, mib_per_s: int) -> None:
        if not self.state.active:
            raise exception.MigrationNotInProgress(f"vmId={self.vm.id}")
        try:
            self.vm.dom().migrateSetMaxSpeed(mib_per_s, 0)
        except libvirt.libvirtError as e:
            raise exception.MigrationNotInProgress(f"vmId={self.vm.id}: {e}")

    def _run(self) -> None:
        log.info("MIGRATION RECOVERED vm=%s: waiting for libvirt's job",
                 self.vm.id)
        while True:
            try:
                dom = self.vm.dom()
                stats = dom.jobStats()
            except (libvirt.libvirtError, exception.VdsmError):
                break
            if not outgoing_job(stats):
                break
            self.state.progress = max(
                self.state.progress,
                Progress.from_job_stats(stats).percent)
            self.cancelled.wait(self._poll)
        try:
            state, _ = self.vm.dom().state()
        except (libvirt.libvirtError, exception.VdsmError):
            state = libvirt.VIR_DOMAIN_SHUTOFF
        if state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_PAUSED):
            self.state.phase = Phase.FAILED
            self.state.error = (
                exception.MigrationCancelationFailed("Migration canceled")
                if self.cancelled.is_set() else
                exception.MigrationError("Recovered migration failed"))
            log.warning("MIGRATION RECOVERED vm=%s failed", self.vm.id)
            self.vm.migration_failed()
        else:
            self.state.progress = 100
            self.state.phase = Phase.SUCCEEDED
            log.info("MIGRATION RECOVERED vm=%s succeeded", self.vm.id)
            self.vm.migration_succeeded()
