"""The migrations of this host: the verbs' side of vdsm.virt.migration.

``Migrations`` is ``services.virt.migrations``. It owns the host's
outgoing and incoming slots, starts a ``SourceJob`` for VM.migrate,
registers the Migration Destination VM for VM.migrationCreate, and
answers the status, cancel and bandwidth verbs from the VM's job.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from vdsm import client
from vdsm.common import exception
from vdsm.virt import domxml, migration
from vdsm.virt.manager import VmManager
from vdsm.virt.migration import Params, Settings, Slots, State
from vdsm.virt.vm import (DOWN, MIGRATION_DESTINATION, MIGRATION_SOURCE,
                          PAUSED, UP, Vm)

log = logging.getLogger("vdsm.virt.migrations")


@dataclass(frozen=True)
class Counts:
    outgoing: int = 0
    incoming: int = 0


class Migrations:
    def __init__(self, vms: VmManager, settings: Settings,
                 max_outgoing: int, max_incoming: int,
                 notify: migration.Notify,
                 connect: Callable[[str, int], Any] | None = None,
                 available_mib: Callable[[], int] | None = None,
                 overhead_mib: int = 0) -> None:
        """available_mib() is the memory (MiB) a new VM can get on this
        host now; an incoming VM needs its <memory> and overhead_mib
        more (None: no check)."""
        self.vms = vms
        self._available_mib = available_mib
        self._overhead_mib = overhead_mib
        self.settings = settings
        self.outgoing = Slots(max_outgoing)
        self.incoming = Slots(max_incoming)
        self._notify = notify
        self._connect = connect or self._connect_tls
        self._lock = threading.Lock()
        vms.on_recovered = self._recovered

    def _connect_tls(self, host: str, port: int) -> client.Client:
        ctx = (client.client_ssl_context(self.settings.pki_dir)
               if self.settings.use_tls else None)
        return client.connect(host, port, ssl_context=ctx,
                              use_tls=self.settings.use_tls, timeout=120,
                              connect_timeout=10)

    # Source.

    def migrate(self, vm_id: str, params: Params) -> State:
        vm = self.vms.get(vm_id)
        with self._lock, vm.lock:
            if vm.migration is not None and vm.migration.active:
                raise exception.MigrationInProgress(
                    f"vmId={vm_id} is migrating already")
            if vm.status not in (UP, PAUSED):
                # Upstream answers noVM for WaitForLaunch and Down.
                if vm.status == DOWN:
                    raise exception.NoSuchVM(f"vmId={vm_id} is Down")
                raise exception.NoSuchVM(
                    f"vmId={vm_id} status={vm.status}: not running")
            job = migration.SourceJob(
                vm, params, self.settings, self.outgoing, self._connect,
                self._notify, teardown=self._release_disks)
            vm.migration = job
            vm.set_status(MIGRATION_SOURCE)
            job.start()
        return job.state

    def _release_disks(self, vm: Vm) -> None:
        if self.vms.disks is not None and vm.root is not None and \
                not vm.disks_released:
            vm.disks_released = True
            self.vms.disks.teardown(vm.root)

    def _job(self, vm_id: str) -> Any:
        return self.vms.get(vm_id).migration

    def status(self, vm_id: str) -> State:
        job = self._job(vm_id)
        if job is None:
            return State()
        return job.state

    def cancel(self, vm_id: str) -> None:
        job = self._job(vm_id)
        if job is None:
            raise exception.MigrationCancelationFailed(
                f"vmId={vm_id}: no migration in progress")
        job.cancel()

    def change_params(self, vm_id: str, max_bandwidth: int | None) -> None:
        """Refused with 81 when the VM does not migrate now."""
        job = self._job(vm_id)
        if job is None or not job.active:
            raise exception.MigrationNotInProgress(f"vmId={vm_id}")
        if max_bandwidth is not None:
            job.set_max_bandwidth(max_bandwidth)

    def _recovered(self, vm: Vm) -> None:
        """vdsmd started while libvirt migrates this VM away."""
        job = migration.RecoveredJob(vm)
        vm.migration = job
        job.start()

    # Destination.

    def create_incoming(self, vm_id: str, xml: str, elapsed_offset: float,
                        incoming_limit: int | None) -> Vm:
        """Register a Migration Destination VM; answer its prepared XML.

        Refuses with 82 when the incoming slots are taken (the source
        retries), 14 (upstream's outOfMem) when the VM needs more memory
        than this host can give, 4 when the VM is here already; disks that
        cannot be prepared refuse with storage's code. Nothing is left on
        refusal.
        """
        self._check_memory(vm_id, xml)
        if incoming_limit:
            self.incoming.bound = incoming_limit
        if not self.incoming.try_acquire():
            raise exception.MigrationLimitExceeded(
                f"{self.incoming.in_use} incoming migrations running")
        try:
            vm = self.vms.create_incoming(vm_id, xml)
        except BaseException:
            self.incoming.release()
            raise
        vm.elapsed_offset = elapsed_offset
        vm.incoming_ended = self._incoming_ended
        timer = threading.Timer(self.settings.destination_timeout,
                                vm.incoming_timeout)
        timer.daemon = True
        timer.name = f"migdst/{vm_id[:8]}"
        vm.incoming_timer = timer
        timer.start()
        log.info("MIGRATION INCOMING vm=%s", vm_id)
        return vm

    def _check_memory(self, vm_id: str, xml: str) -> None:
        if self._available_mib is None:
            return
        needed = domxml.memory_mib(domxml.parse(xml)) + self._overhead_mib
        available = self._available_mib()
        if needed > available:
            log.warning("MIGRATION REFUSED vm=%s needed_mib=%d "
                        "available_mib=%d", vm_id, needed, available)
            raise exception.OutOfMemory(
                f"vmId={vm_id} needs {needed} MiB, {available} MiB "
                "available")

    def _incoming_ended(self, vm: Vm, arrived: bool) -> None:
        timer = vm.incoming_timer
        if timer is not None:
            timer.cancel()
        self.incoming.release()
        log.info("MIGRATION INCOMING END vm=%s arrived=%s", vm.id, arrived)

    # Host.getStats.

    def counts(self) -> Counts:
        vms = self.vms.all()
        return Counts(
            outgoing=sum(vm.status == MIGRATION_SOURCE for vm in vms),
            incoming=sum(vm.status == MIGRATION_DESTINATION for vm in vms))

