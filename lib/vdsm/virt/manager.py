"""The VMs of this host: create, look up, recover, route libvirt events.

``VmManager`` is ``services.virt.vms``.
It holds one ``Vm`` view per domain we manage (a domain carrying our
``<ovirt-vm:vm>`` metadata) and nothing that libvirt does not hold too.

libvirt events arrive on the libvirt event loop thread; the callback only
queues them, and one dispatch thread hands them to the VMs in order, so a
VM busy in a slow call never stalls the event loop.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from typing import Any, Callable, Iterator

import libvirt

from vdsm import hooks
from vdsm.common import exception
from vdsm.common.libvirtconnection import Connection
from vdsm.virt import domxml, graphics, metadata, migration, nics
from vdsm.virt.metadata import Metadata
from vdsm.virt.vm import (DOWN, MIGRATION_DESTINATION, MIGRATION_SOURCE,
                          Publish, Vm)

log = logging.getLogger("vdsm.virt.manager")


class VmManager:
    def __init__(self, conn: Connection, publish: Publish, hooks_dir: str,
                 emulate: Callable[[], bool], disks: Any = None,
                 shutdown_timeout: float = 30.0,
                 mirrors: nics.Mirrors | None = None) -> None:
        # disks: storage's VmDisks (prepare(root), teardown(root)), or None.
        self.disks = disks
        # Seconds a console disconnect action's shutdown waits before the
        # VM is forced off.
        self.shutdown_timeout = shutdown_timeout
        # Port mirrors of vNICs, taken down with their VM.
        self.mirrors = mirrors
        self.conn = conn
        self.publish = publish
        self.hooks_dir = hooks_dir
        self._emulate = emulate
        self._lock = threading.Lock()
        self._vms: dict[str, Vm] = {}
        self._events: queue.Queue = queue.Queue()
        self._callbacks: list[int] = []
        # Called with a recovered VM that libvirt migrates away
        # (vdsm.virt.migrations sets it).
        self.on_recovered: Callable[[Vm], None] | None = None
        self._dispatcher = threading.Thread(
            target=self._dispatch, name="virt/events", daemon=True)
        self._dispatcher.start()
        conn.add_on_connect(self._on_connect)

    # Lookup.

    def get(self, vm_id: str) -> Vm:
        with self._lock:
            vm = self._vms.get(vm_id)
        if vm is None:
            raise exception.NoSuchVM(f"vmId={vm_id}")
        return vm

    def all(self) -> list[Vm]:
        with self._lock:
            return list(self._vms.values())

    # Create.

    def create(self, vm_id: str, xml: str, launch_paused: bool = False,
               prepare: Callable[[str], None] | None = None) -> Vm:
        """Define the domain and start it in the background.

        prepare(vm_id) runs once the id is known to be new, before the
        domain is defined (restoring its TPM/NVRAM data). On any error
        nothing is left: no domain, no prepared disk, no VM.
        """
        root = domxml.parse(xml)
        domxml.check_uuid(root, vm_id)
        vm_id = root.findtext("uuid") or vm_id
        vm = Vm(vm_id, self.conn, self.publish, self.hooks_dir)
        with self._admitting(vm, root, prepare):
            domxml.prepare(root, vm_id, self._emulate())
            if launch_paused:
                md = domxml.vm_metadata(root)
                md.values["launchPaused"] = True
                metadata.replace(root, md)
            self._define(vm, root)
        log.info("CREATE vm=%s name=%s", vm_id, vm.name)
        threading.Thread(target=vm.launch, name=f"virt/start/{vm_id}",
                         daemon=True).start()
        return vm

    def create_incoming(self, vm_id: str, xml: str) -> Vm:
        """A Migration Destination VM: disks prepared, no domain yet.

        libvirt defines the domain when the guest arrives (the source
        sends the XML answered here). On error nothing is left.
        """
        root = domxml.parse(xml)
        domxml.check_uuid(root, vm_id)
        vm = Vm(vm_id, self.conn, self.publish, self.hooks_dir,
                status=MIGRATION_DESTINATION)
        with self._admitting(vm, root):
            vm.set_xml(domxml.to_string(root))
        log.info("CREATE INCOMING vm=%s name=%s", vm_id, vm.name)
        vm.send_status()
        return vm

    @contextlib.contextmanager
    def _admitting(self, vm: Vm, root,
                   prepare: Callable[[str], None] | None = None
                   ) -> Iterator[None]:
        """Register a new VM, check libvirt does not know its id, run
        prepare and prepare its disks; if any of it or the body fails,
        tear the disks down and forget the VM."""
        with self._lock:
            if vm.id in self._vms:
                raise exception.VMExists(f"vmId={vm.id}")
            self._vms[vm.id] = vm
        prepared = False
        try:
            self._check_new(vm.id)
            if prepare is not None:
                prepare(vm.id)
            if self.disks is not None:
                self.disks.prepare(root)
                prepared = True
            yield
        except BaseException:
            with self._lock:
                del self._vms[vm.id]
            if prepared and self.disks is not None:
                self.disks.teardown(root)
            raise

    def _check_new(self, vm_id: str) -> None:
        """Refuse an id libvirt already knows (code 4)."""
        try:
            conn = self.conn.get()
        except libvirt.libvirtError as e:
            raise exception.ResourceUnavailable(f"libvirt: {e}")
        try:
            conn.lookupByUUIDString(vm_id)
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise exception.CannotCreateVM(str(e))
            return
        raise exception.VMExists(f"vmId={vm_id} exists in libvirt")

    def _define(self, vm: Vm, root) -> None:
        md = domxml.vm_metadata(root)
        md.values.pop("startTime", None)
        for key in ("exitCode", "exitReason", "exitMessage"):
            md.values.pop(key, None)
        metadata.replace(root, md)
        xml = hooks.run(self.hooks_dir, "before_vm_start",
                        domxml.to_string(root), env={"vmId": vm.id})
        try:
            dom = self.conn.get().defineXMLFlags(
                xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
        except libvirt.libvirtError as e:
            raise exception.CannotCreateVM(str(e))
        vm.refresh(dom)

    # Destroy.

    def destroy(self, vm_id: str) -> None:
        vm = self.get(vm_id)
        if vm.migration is not None and vm.migration.active:
            try:
                vm.migration.cancel()
                vm.migration.join(60)
            except exception.VdsmError as e:
                log.info("DESTROY vm=%s cancel migration: %s", vm_id, e)
        if self.mirrors is not None:
            nics.release(vm, self.mirrors)
        incoming = vm.status == MIGRATION_DESTINATION
        vm.destroy()
        if incoming:
            vm.end_incoming()
        if self.disks is not None and not vm.disks_released:
            vm.disks_released = True
            self.disks.teardown(vm.root)
        with self._lock:
            if self._vms.get(vm_id) is vm:
                del self._vms[vm_id]

    # Recovery.

    def recover(self) -> int:
        """Rebuild the VM views from libvirt; return how many."""
        conn = self.conn.get()
        self._register_events(conn)
        count = 0
        for dom in conn.listAllDomains(0):
            try:
                if self._recover_one(dom):
                    count += 1
            except libvirt.libvirtError as e:
                log.warning("FAIL recover domain=%s error=%s",
                            dom.UUIDString(), e)
        log.info("RECOVERED vms=%d", count)
        return count

    def _recover_one(self, dom: libvirt.virDomain) -> bool:
        xml = dom.XMLDesc(0)
        root = domxml.parse(xml)
        if metadata.find(root) is None:
            return False
        incoming = _incoming(dom)
        if not dom.isPersistent() and not incoming:
            return False
        vm = Vm(dom.UUIDString(), self.conn, self.publish, self.hooks_dir)
        vm.set_xml(xml)
        outgoing = _outgoing(dom)
        if outgoing:
            vm.status = MIGRATION_SOURCE
        elif incoming:
            vm.status = MIGRATION_DESTINATION
        else:
            vm.status = _recovered_status(dom, vm.md)
        with self._lock:
            if vm.id in self._vms:
                return False
            self._vms[vm.id] = vm
        log.info("RECOVER vm=%s status=%s", vm.id, vm.status)
        if outgoing and self.on_recovered is not None:
            self.on_recovered(vm)
        elif vm.status == "WaitForLaunch":
            threading.Thread(target=vm.launch, daemon=True,
                             name=f"virt/start/{vm.id}").start()
        elif vm.status != DOWN and not dom.isActive():
            vm.sync_state()
        return True

    # libvirt events.

    def _on_connect(self, conn: libvirt.virConnect) -> None:
        self._register_events(conn)
        for vm in self.all():
            try:
                vm.sync_state()
            except (exception.VdsmError, libvirt.libvirtError) as e:
                log.warning("FAIL sync vm=%s error=%s", vm.id, str(e))
        log.info("RESYNCED vms=%d", len(self.all()))

    def _register_events(self, conn: libvirt.virConnect) -> None:
        self._callbacks = [
            conn.domainEventRegisterAny(None, event_id, callback, None)
            for event_id, callback in (
                (libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle_cb),
                (libvirt.VIR_DOMAIN_EVENT_ID_GRAPHICS, self._graphics_cb),
                (libvirt.VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON,
                 self._io_error_cb),
                (libvirt.VIR_DOMAIN_EVENT_ID_RTC_CHANGE, self._rtc_cb),
                (libvirt.VIR_DOMAIN_EVENT_ID_WATCHDOG, self._watchdog_cb))]

    # The callbacks run on libvirt's event loop thread: they only queue
    # (vm id, the Vm method or "graphics", its arguments).


    def _lifecycle_cb(self, conn: libvirt.virConnect,
                      dom: libvirt.virDomain, event: int, detail: int,
                      opaque: object) -> None:
        self._events.put((dom.UUIDString(), "on_lifecycle", (event, detail)))

    def _graphics_cb(self, conn: libvirt.virConnect, dom: libvirt.virDomain,
                     phase: int, local: dict, remote: dict, scheme: str,
                     subject: Any, opaque: object) -> None:
        self._events.put((dom.UUIDString(), "graphics",
                          (phase, dict(remote or {}))))

    def _io_error_cb(self, conn: libvirt.virConnect, dom: libvirt.virDomain,
                     path: str, alias: str, action: int, reason: str,
                     opaque: object) -> None:
        self._events.put((dom.UUIDString(), "on_io_error",
                          (alias, action, reason)))

    def _rtc_cb(self, conn: libvirt.virConnect, dom: libvirt.virDomain,
                utc_offset: int, opaque: object) -> None:
        self._events.put((dom.UUIDString(), "on_rtc_change", (utc_offset,)))

    def _watchdog_cb(self, conn: libvirt.virConnect, dom: libvirt.virDomain,
                     action: int, opaque: object) -> None:
        self._events.put((dom.UUIDString(), "on_watchdog", (action,)))

    def _dispatch(self) -> None:
        while True:
            vm_id, kind, args = self._events.get()
            with self._lock:
                vm = self._vms.get(vm_id)
            if vm is None:
                continue
            log.debug("EVENT vm=%s kind=%s args=%s", vm_id, kind, args)
            try:
                if kind == "graphics":
                    phase, remote = args
                    graphics.on_event(vm, phase, remote,
                                      self.shutdown_timeout)
                else:
                    getattr(vm, kind)(*args)
            except Exception:
                log.exception("FAIL event vm=%s kind=%s args=%s", vm_id,
                              kind, args)

    def stop(self) -> None:
        conn = None
        try:
            conn = self.conn.get()
        except libvirt.libvirtError:
            pass
        for cb in self._callbacks:
            try:
                if conn is not None:
                    conn.domainEventDeregisterAny(cb)
            except libvirt.libvirtError:
                pass
        self._callbacks = []


def _outgoing(dom: libvirt.virDomain) -> bool:
    """Whether libvirt migrates this domain away now."""
    try:
        return dom.isActive() and migration.outgoing_job(dom.jobStats())
    except libvirt.libvirtError:
        return False


def _incoming(dom: libvirt.virDomain) -> bool:
    """Whether this domain is a guest still arriving from another host."""
    try:
        state, reason = dom.state()
    except libvirt.libvirtError:
        return False
    return (state == libvirt.VIR_DOMAIN_PAUSED
            and reason in (libvirt.VIR_DOMAIN_PAUSED_MIGRATION,
                           libvirt.VIR_DOMAIN_PAUSED_POSTCOPY)
            and not _outgoing(dom) and not dom.isPersistent())


def _recovered_status(dom: libvirt.virDomain, md: Metadata) -> str:
    state, _ = dom.state()
    if state == libvirt.VIR_DOMAIN_RUNNING:
        return "Up"
    if state in (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PMSUSPENDED):
        return "Paused"
    if "exitReason" in md.values:
        return DOWN
    if "startTime" in md.values:
        # Stopped while vdsmd was away: sync_state records why.
        return "Powering up"
    # Defined but never started: vdsmd died during VM.create.
    return "WaitForLaunch"
