"""One VM: a view of its libvirt domain, its status, its lifecycle verbs.

Theory of operation
-------------------
The domain (XML + ``<ovirt-vm:vm>`` metadata) in libvirt is the only
store. A ``Vm`` caches what it must answer without asking libvirt (status,
exit info, the last domain XML for the device hash), and refreshes that
cache from libvirt after each change it makes.

Status: ``WaitForLaunch`` (defined, start pending) -> ``Powering up``
(qemu started) -> ``Up``; ``Paused`` while suspended; ``Powering down``
after VM.shutdown; ``Down`` once qemu is gone. Every change is published
as a ``|virt|VM_status|<vmId>`` event. A Down VM stays a defined, inactive
persistent domain whose metadata holds exitCode/exitReason/exitMessage, so
a restarted vdsmd still lists it Down until VM.destroy undefines it.

libvirt lifecycle events reach ``on_lifecycle`` on the manager's dispatch
thread, in order. Verbs and events on one VM are serialised by its lock;
reading status needs no lock, so a VM stuck in a libvirt call never blocks
listing or stats.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Callable

import libvirt

from vdsm import hooks
from vdsm.common import clock, exception
from vdsm.common.libvirtconnection import Connection
from vdsm.virt import domxml, exitreason, graphics, metadata
from vdsm.virt.metadata import Metadata

log = logging.getLogger("vdsm.virt.vm")

WAIT_FOR_LAUNCH = "WaitForLaunch"
POWERING_UP = "Powering up"
UP = "Up"
POWERING_DOWN = "Powering down"
PAUSED = "Paused"
DOWN = "Down"
MIGRATION_SOURCE = "Migration Source"
MIGRATION_DESTINATION = "Migration Destination"

UNDEFINE_FLAGS = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                  | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                  | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
                  | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA)



class PauseCode(enum.Enum):
    """Why a VM is paused, in upstream's (and the engine's) names."""

    NOERR = "NOERR"        # not paused by an error (or not paused)
    EOTHER = "EOTHER"      # an I/O error of no known kind
    EIO = "EIO"
    ENOSPC = "ENOSPC"      # a disk ran out of space
    EPERM = "EPERM"


# libvirt's I/O error reasons (VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON), and
# the strerror() texts qemu may pass through.
_IO_REASONS = {"eio": PauseCode.EIO, "enospc": PauseCode.ENOSPC,
               "eperm": PauseCode.EPERM,
               "input/output error": PauseCode.EIO,
               "no space left on device": PauseCode.ENOSPC,
               "operation not permitted": PauseCode.EPERM}


@dataclass(frozen=True)
class ExitInfo:
    code: int          # 0 normal, 1 error
    reason: int        # exitreason.*
    message: str


@dataclass(frozen=True)
class StatusInfo:
    """A VM's status as reported to managers, with exit info once Down."""

    status: str
    time: int          # clock.event_time() of the change
    exit: ExitInfo | None = None


@dataclass(frozen=True)
class WatchdogEvent:
    time: float        # wall clock seconds since the epoch
    action: str        # upstream's names: none, pause, reset, ...


# libvirt's watchdog actions (VIR_DOMAIN_EVENT_WATCHDOG_*), by number.
WATCHDOG_ACTIONS = ("none", "pause", "reset", "destroy", "shutdown",
                    "debug", "inject-nmi")

Publish = Callable[[str, StatusInfo], None]


class Vm:
    def __init__(self, vm_id: str, conn: Connection, publish: Publish,
                 hooks_dir: str, status: str = WAIT_FOR_LAUNCH) -> None:
        self.id = vm_id
        self.conn = conn
        self.hooks_dir = hooks_dir
        self._publish = publish
        self.lock = threading.RLock()
        self.status = status
        self.status_time = clock.event_time()
        self.md = Metadata()
        self.name = ""
        self.xml = ""
        self.root: ET.Element | None = None
        self.devices_hash = ""
        self.starting = False
        self.shutdown_requested = False
        self.destroying = False
        self.removed = threading.Event()
        self.console = graphics.Console()
        # Kind ("tpm", "nvram") -> hash of its last stable data
        # (vdsm.virt.externaldata).
        self.external_hashes: dict[str, str] = {}
        # The last outgoing migration (vdsm.virt.migration SourceJob or
        # RecoveredJob), kept after it ended for VM.getMigrationStatus.
        self.migration: Any = None
        # Incoming migration (Migration Destination): seconds the guest
        # ran on the source, and called once the guest arrived or not.
        self.elapsed_offset = 0.0
        self.incoming_ended: Callable[[Vm, bool], None] | None = None
        self.incoming_timer: threading.Timer | None = None
        # Disks torn down already (after the VM migrated away).
        self.disks_released = False
        self.pause_code = PauseCode.NOERR
        self.watchdog: WatchdogEvent | None = None

    # Views.

    @property
    def exit_info(self) -> ExitInfo | None:
        if self.status != DOWN:
            return None
        return ExitInfo(
            code=self.md.integer("exitCode", 1),
            reason=self.md.integer("exitReason", exitreason.GENERIC_ERROR),
            message=str(self.md.values.get("exitMessage", "")))

    def status_info(self) -> StatusInfo:
        return StatusInfo(self.status, self.status_time, self.exit_info)

    def time_offset(self) -> int:
        """Guest RTC minus host UTC in seconds (RTC changes included)."""
        if "timeOffset" in self.md.values:
            return self.md.integer("timeOffset")
        return domxml.clock_adjustment(self.root) if self.root is not None \
            else 0

    def start_time(self) -> float | None:
        return self.md.number("startTime")

    # libvirt access.

    def dom(self) -> libvirt.virDomain:
        try:
            return self.conn.get().lookupByUUIDString(self.id)
        except libvirt.libvirtError as e:
            raise self._translate(e, exception.NoSuchVM)

    def _translate(self, e: libvirt.libvirtError,
                   default: type[exception.VdsmError]
                   ) -> exception.VdsmError:
        if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return exception.NoSuchVM(f"vmId={self.id} not in libvirt")
        if self.conn.is_connection_error(e):
            self.conn.report_broken()
            return exception.ResourceUnavailable(f"libvirt: {e}")
        return default(f"vmId={self.id}: {e}")

    def refresh(self, dom: libvirt.virDomain | None = None) -> None:
        """Re-read the domain XML and metadata from libvirt."""
        dom = dom or self.dom()
        self.set_xml(dom.XMLDesc(0))

    def set_xml(self, xml: str) -> None:
        root = ET.fromstring(xml)
        self.root = root
        self.xml = xml
        self.name = root.findtext("name") or ""
        self.md = domxml.vm_metadata(root)
        self.devices_hash = domxml.devices_hash(root)

    def save_metadata(self, dom: libvirt.virDomain | None = None) -> None:
        """Write self.md to the domain (live and persistent)."""
        dom = dom or self.dom()
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if dom.isActive():
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                        self.md.to_plain_xml(), metadata.PREFIX,
                        metadata.NS, flags)

    def hook(self, point: str, xml: str | None = None) -> str:
        return hooks.run(self.hooks_dir, point,
                         self.xml if xml is None else xml,
                         env={"vmId": self.id, "vmName": self.name})

    # Status.

    def set_status(self, status: str) -> None:
        if status == self.status:
            return
        self.status = status
        self.status_time = clock.event_time()
        log.info("STATUS vm=%s status=%s", self.id, status)
        if status != PAUSED:
            self.pause_code = PauseCode.NOERR
        self.send_status()

    def send_status(self) -> None:
        """Publish the current status (|virt|VM_status|<vmId>)."""
        try:
            self._publish(self.id, self.status_info())
        except Exception:
            log.exception("FAIL publish status vm=%s", self.id)

    def went_down(self, code: int, reason: int, message: str) -> None:
        """Record exit info in the persistent domain, then report Down."""
        if self.status == DOWN:
            return
        self.md.values.update(exitCode=code, exitReason=reason,
                              exitMessage=message)
        self.md.values.pop("startTime", None)
        try:
            self.save_metadata()
        except exception.VdsmError as e:
            log.warning("FAIL save exit info vm=%s error=%s", self.id, str(e))
        except libvirt.libvirtError as e:
            log.warning("FAIL save exit info vm=%s error=%s", self.id, str(e))
        log.info("DOWN vm=%s code=%s reason=%s message=%r", self.id, code,
                 reason, message)
        self.set_status(DOWN)

    # Start.

    def launch(self) -> None:
        """Start the defined domain (runs in a background thread)."""
        with self.lock:
            self.starting = True
            try:
                self._launch()
            finally:
                self.starting = False

    def _launch(self) -> None:
        if self.destroying or self.status == DOWN:
            return
        # The engine writes <launchPaused>false</launchPaused> (no type).
        paused = self.md.flag("launchPaused")
        flags = libvirt.VIR_DOMAIN_START_PAUSED if paused else 0
        try:
            dom = self.dom()
            self.md.values["startTime"] = clock.monotonic()
            self.save_metadata(dom)
            dom.createWithFlags(flags)
        except (libvirt.libvirtError, exception.VdsmError) as e:
            log.warning("FAIL start vm=%s error=%s", self.id, str(e))
            self.went_down(1, exitreason.LIBVIRT_START_FAILED,
                           f"VM failed to start: {e}")
            return
        log.info("STARTED vm=%s paused=%s", self.id, paused)
        self.set_status(POWERING_UP)
        self.refresh(dom)
        try:
            self.hook("after_vm_start")
        except exception.HookError as e:
            log.warning("FAIL after_vm_start vm=%s error=%s", self.id, str(e))
        state, _ = dom.state()
        if state == libvirt.VIR_DOMAIN_PAUSED:
            self.set_status(PAUSED)
        elif state == libvirt.VIR_DOMAIN_RUNNING:
            self.set_status(UP)

    # libvirt events.

    def on_lifecycle(self, event: int, detail: int) -> None:
        with self.lock:
            if self.starting or self.destroying or self.removed.is_set():
                return
            self._on_lifecycle(event, detail)

    def _on_lifecycle(self, event: int, detail: int) -> None:
        if self.status == MIGRATION_DESTINATION:
            self._on_incoming_event(event, detail)
            return
        if self.status == MIGRATION_SOURCE and event in (
                libvirt.VIR_DOMAIN_EVENT_SUSPENDED,
                libvirt.VIR_DOMAIN_EVENT_RESUMED):
            # Paused for the switch-over, resumed after a failed
            # migration: the migration job decides the status.
            return
        if event == libvirt.VIR_DOMAIN_EVENT_SUSPENDED:
            if self.status != DOWN:
                if detail == libvirt.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR:
                    self.pause_code = self._read_pause_code()
                self.set_status(PAUSED)
        elif event == libvirt.VIR_DOMAIN_EVENT_RESUMED:
            if self.status in (PAUSED, POWERING_UP):
                self.set_status(UP)
        elif event == libvirt.VIR_DOMAIN_EVENT_STARTED:
            if self.status in (DOWN, WAIT_FOR_LAUNCH):
                # Started behind our back (virsh start): manage it again.
                self.md.values.update(startTime=clock.monotonic())
                self._clear_exit()
                self.refresh()
                self.set_status(UP)
        elif event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
            self.went_down(*exitreason.for_stop(detail,
                                                self.shutdown_requested))
        elif event == libvirt.VIR_DOMAIN_EVENT_UNDEFINED:
            if self.status != DOWN:
                self.went_down(1, exitreason.LIBVIRT_DOMAIN_MISSING,
                               "Domain undefined outside vdsm")

    # Migration.

    def _on_incoming_event(self, event: int, detail: int) -> None:
        if event == libvirt.VIR_DOMAIN_EVENT_RESUMED and \
                detail == libvirt.VIR_DOMAIN_EVENT_RESUMED_POSTCOPY:
            # Running here while its memory still comes from the source:
            # the migration job is libvirt's until the last page came
            # (RESUMED_MIGRATED); it stays Migration Destination, as
            # upstream's and as the engine expects.
            log.info("MIGRATION INCOMING POSTCOPY vm=%s", self.id)
        elif event == libvirt.VIR_DOMAIN_EVENT_RESUMED:
            self._incoming_arrived()
        elif event in (libvirt.VIR_DOMAIN_EVENT_STOPPED,
                       libvirt.VIR_DOMAIN_EVENT_UNDEFINED):
            self._incoming_failed("Incoming migration failed")

    def _incoming_arrived(self) -> None:
        try:
            dom = self.dom()
            self.refresh(dom)
            self.md.values["startTime"] = (clock.monotonic()
                                           - self.elapsed_offset)
            self.save_metadata(dom)
        except (libvirt.libvirtError, exception.VdsmError) as e:
            log.warning("FAIL refresh incoming vm=%s error=%s", self.id,
                        str(e))
        log.info("MIGRATION ARRIVED vm=%s", self.id)
        self.set_status(UP)
        self._incoming_end(True)

    def _incoming_failed(self, message: str) -> None:
        log.warning("MIGRATION INCOMING FAILED vm=%s reason=%s", self.id,
                    message)
        self.went_down(exitreason.ERROR, exitreason.MIGRATION_FAILED,
                       message)
        self._incoming_end(False)

    def end_incoming(self) -> None:
        """Destroyed before the guest arrived."""
        self._incoming_end(False)

    def _incoming_end(self, arrived: bool) -> None:
        ended, self.incoming_ended = self.incoming_ended, None
        if ended is not None:
            ended(self, arrived)

    def incoming_timeout(self) -> None:
        """The guest did not arrive in time."""
        with self.lock:
            if self.status == MIGRATION_DESTINATION:
                self._incoming_failed("Incoming migration timed out")

    def migration_succeeded(self) -> None:
        """The guest runs on the destination now."""
        with self.lock:
            self.went_down(exitreason.NORMAL, exitreason.MIGRATION_SUCCEEDED,
                           "Migration succeeded")

    def migration_failed(self) -> None:
        """The guest stayed here: report what libvirt runs."""
        with self.lock:
            if self.status != MIGRATION_SOURCE:
                return
            try:
                state, reason = self.dom().state()
            except exception.NoSuchVM:
                self.went_down(1, exitreason.LIBVIRT_DOMAIN_MISSING,
                               "Domain vanished from libvirt")
                return
            if state == libvirt.VIR_DOMAIN_RUNNING:
                self.set_status(UP)
            elif state == libvirt.VIR_DOMAIN_PAUSED:
                self.set_status(PAUSED)
            elif state == libvirt.VIR_DOMAIN_SHUTOFF and \
                    reason == libvirt.VIR_DOMAIN_SHUTOFF_MIGRATED:
                self.went_down(exitreason.NORMAL,
                               exitreason.MIGRATION_SUCCEEDED,
                               "Migration succeeded")
            else:
                self.went_down(*exitreason.for_shutoff(reason, False))

    def on_io_error(self, alias: str, action: int, reason: str) -> None:
        """libvirt's IO_ERROR_REASON event: pausing ones set pauseCode."""
        if action != libvirt.VIR_DOMAIN_EVENT_IO_ERROR_PAUSE:
            return
        code = _IO_REASONS.get(reason.lower(), PauseCode.EOTHER)
        log.warning("IOERROR vm=%s device=%s reason=%s", self.id, alias,
                    reason)
        with self.lock:
            if self.status != DOWN:
                self.pause_code = code
                if self.status != PAUSED:
                    self.set_status(PAUSED)
                    self.pause_code = code

    def on_rtc_change(self, utc_offset: int) -> None:
        """The guest set its RTC: keep the offset (VM stats timeOffset)."""
        with self.lock:
            self.md.values["timeOffset"] = int(utc_offset)
            try:
                self.save_metadata()
            except (libvirt.libvirtError, exception.VdsmError) as e:
                log.warning("FAIL save timeOffset vm=%s error=%s", self.id,
                            str(e))
        log.info("RTC vm=%s offset=%s", self.id, utc_offset)

    def on_watchdog(self, action: int) -> None:
        name = WATCHDOG_ACTIONS[action] if 0 <= action < len(
            WATCHDOG_ACTIONS) else str(action)
        self.watchdog = WatchdogEvent(time.time(), name)
        log.warning("WATCHDOG vm=%s action=%s", self.id, name)

    def _read_pause_code(self) -> PauseCode:
        """Why the domain is paused, from libvirt's state (upstream's
        rule: a disk out of space is ENOSPC, another I/O error EOTHER)."""
        try:
            dom = self.dom()
            state, reason = dom.state()
            if state != libvirt.VIR_DOMAIN_PAUSED \
                    or reason != libvirt.VIR_DOMAIN_PAUSED_IOERROR:
                return PauseCode.NOERR
            errors = dom.diskErrors()
        except (libvirt.libvirtError, exception.VdsmError) as e:
            log.warning("FAIL pause reason vm=%s error=%s", self.id, str(e))
            return PauseCode.EOTHER
        if libvirt.VIR_DOMAIN_DISK_ERROR_NO_SPACE in errors.values():
            return PauseCode.ENOSPC
        if libvirt.VIR_DOMAIN_DISK_ERROR_UNSPEC in errors.values():
            return PauseCode.EIO
        return PauseCode.EOTHER

    def _clear_exit(self) -> None:
        for key in ("exitCode", "exitReason", "exitMessage"):
            self.md.values.pop(key, None)
        self.shutdown_requested = False

    def sync_state(self) -> None:
        """Align status with libvirt after a reconnection or recovery."""
        with self.lock:
            if self.status == DOWN or self.starting:
                return
            if self.migration is not None and self.migration.active:
                return
            if self.status == MIGRATION_DESTINATION:
                self._sync_incoming()
                return
            try:
                dom = self.dom()
                state, reason = dom.state()
            except exception.NoSuchVM:
                self.went_down(1, exitreason.LIBVIRT_DOMAIN_MISSING,
                               "Domain vanished from libvirt")
                return
            if state in (libvirt.VIR_DOMAIN_SHUTOFF,
                         libvirt.VIR_DOMAIN_CRASHED):
                self.went_down(*exitreason.for_shutoff(
                    reason, self.shutdown_requested))
            elif state == libvirt.VIR_DOMAIN_PAUSED and self.status != PAUSED:
                code = self._read_pause_code()
                self.set_status(PAUSED)
                self.pause_code = code
            elif (state == libvirt.VIR_DOMAIN_RUNNING
                  and self.status in (PAUSED, POWERING_UP, WAIT_FOR_LAUNCH)):
                self.set_status(UP)

    def _sync_incoming(self) -> None:
        try:
            state, reason = self.dom().state()
        except exception.NoSuchVM:
            return  # Not here yet.
        if state == libvirt.VIR_DOMAIN_RUNNING:
            self._incoming_arrived()
        elif state in (libvirt.VIR_DOMAIN_SHUTOFF,
                       libvirt.VIR_DOMAIN_CRASHED):
            self._incoming_failed("Incoming migration failed")

    # Verbs.

    def require_running(self) -> libvirt.virDomain:
        if self.status in (DOWN, WAIT_FOR_LAUNCH):
            raise exception.VMIsDown(f"vmId={self.id} status={self.status}")
        return self.dom()

    def pause(self) -> None:
        with self.lock:
            dom = self.require_running()
            self.hook("before_vm_pause")
            try:
                dom.suspend()
            except libvirt.libvirtError as e:
                raise self._translate(e, exception.GeneralError)
            self.set_status(PAUSED)
            self.hook("after_vm_pause")

    def cont(self) -> None:
        with self.lock:
            dom = self.require_running()
            self.hook("before_vm_cont")
            try:
                dom.resume()
            except libvirt.libvirtError as e:
                raise self._translate(e, exception.GeneralError)
            self.set_status(UP)
            self.hook("after_vm_cont")

    def reset(self) -> None:
        with self.lock:
            dom = self.require_running()
            try:
                dom.reset(0)
            except libvirt.libvirtError as e:
                raise self._translate(e, exception.GeneralError)
            log.info("RESET vm=%s", self.id)

    def shutdown(self, timeout: float, reboot: bool) -> None:
        """ACPI power button (or reboot); forced off after timeout."""
        with self.lock:
            dom = self.require_running()
            try:
                if reboot:
                    dom.reboot(libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)
                    log.info("REBOOT vm=%s", self.id)
                    return
                self.shutdown_requested = True
                dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
            except libvirt.libvirtError as e:
                raise self._translate(e, exception.GeneralError)
            log.info("SHUTDOWN vm=%s timeout=%s", self.id, timeout)
            self.set_status(POWERING_DOWN)
        timer = threading.Timer(timeout, self._force_off)
        timer.daemon = True
        timer.name = f"virt/shutdown/{self.id}"
        timer.start()

    def _force_off(self) -> None:
        with self.lock:
            if self.status == DOWN or self.removed.is_set():
                return
            log.info("FORCE OFF vm=%s reason=shutdown timeout", self.id)
            try:
                self.dom().destroy()
            except (libvirt.libvirtError, exception.VdsmError) as e:
                log.warning("FAIL force off vm=%s error=%s", self.id, str(e))

    def destroy(self) -> None:
        """Stop qemu if running and undefine the domain."""
        with self.lock:
            self.hook("before_vm_destroy")
            self.destroying = True
            was_down = self.status == DOWN
            try:
                dom = self.dom()
            except exception.NoSuchVM:
                dom = None
            if dom is not None:
                self._destroy_domain(dom)
            self.removed.set()
            if not was_down:
                self.md.values.update(
                    exitCode=0, exitReason=exitreason.ADMIN_SHUTDOWN,
                    exitMessage="Admin shut down from the engine")
                self.set_status(DOWN)
            log.info("DESTROYED vm=%s", self.id)
            try:
                self.hook("after_vm_destroy")
            except exception.HookError as e:
                log.warning("FAIL after_vm_destroy vm=%s error=%s", self.id,
                            str(e))

    def _destroy_domain(self, dom: libvirt.virDomain) -> None:
        try:
            persistent = dom.isPersistent()
            if dom.isActive():
                try:
                    dom.destroyFlags(libvirt.VIR_DOMAIN_DESTROY_GRACEFUL)
                except libvirt.libvirtError:
                    dom.destroy()
            if persistent:
                dom.undefineFlags(UNDEFINE_FLAGS)
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                self.destroying = False
                raise exception.DestroyFailed(f"vmId={self.id}: {e}")
