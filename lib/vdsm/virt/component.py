"""The virt component of vdsmd: wires the connection, VMs and sampling.

``VirtService`` is ``services.virt``: ``vms`` (the ``VmManager``),
``sampler`` (their last samples), ``guests`` (what the slow poller found:
guest info, block jobs), ``stats(vm)`` (a VM's typed statistics) and
``host_counts()``, what virt adds to Host.getStats. ``start()`` recovers
every VM from libvirt (the daemon answers code 99 meanwhile), then starts
sampling and polling.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import libvirt

from vdsm.common.config import Config
from vdsm.common.libvirtconnection import Connection
from vdsm.host import procfs
from vdsm.host.stats import mem_free_kib
from vdsm.storage.vmdisks import VmDisks
from vdsm.supervdsm import caller
from vdsm.virt import domxml, externaldata, migration, vmstats
from vdsm.virt.diskextend import DiskExtends
from vdsm.virt.jobs import VirtJobs
from vdsm.virt.livemerge import Merges
from vdsm.virt.snapshot import Snapshots
from vdsm.virt.guestinfo import GuestPoller
from vdsm.virt.manager import VmManager
from vdsm.virt.migrations import Migrations
from vdsm.virt.nics import Mirrors, PrivilegedMirrors
from vdsm.virt.sampling import Sampler
from vdsm.virt.vm import DOWN, UP, Publish, Vm
from vdsm.virt.vmstats import VmStats

log = logging.getLogger("vdsm.virt")


class Emulation:
    """Whether kvm domains must run as TCG on this host."""

    def __init__(self, conn: Connection, fake_kvm: bool) -> None:
        self.conn = conn
        self.fake_kvm = fake_kvm
        self._kvm_usable: bool | None = None

    def __call__(self) -> bool:
        return self.fake_kvm or not self.kvm_usable()

    def kvm_usable(self) -> bool:
        if self._kvm_usable is None:
            self._kvm_usable = _probe_kvm(self.conn)
        return self._kvm_usable


def _probe_kvm(conn: Connection) -> bool:
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        log.info("EMULATION reason=/dev/kvm not usable")
        return False
    try:
        conn.get().getDomainCapabilities(None, None, None, "kvm", 0)
    except libvirt.libvirtError as e:
        log.info("EMULATION reason=libvirt has no kvm: %s", str(e))
        return False
    return True


@dataclass(frozen=True)
class VmCounts:
    """The VMs of this host as Host.getStats counts them."""

    total: int = 0
    active: int = 0                 # Up
    migrating: int = 0
    incoming_migrations: int = 0
    outgoing_migrations: int = 0
    # MiB the running VMs were promised, and what their qemus use now.
    mem_committed_mib: int = 0
    mem_resident_mib: int = 0

    @property
    def mem_pending_mib(self) -> int:
        """Promised to running VMs, not used by their qemus yet: taken
        for what a new VM can get (upstream's memAvailable)."""
        return max(0, self.mem_committed_mib - self.mem_resident_mib)


def _privileged(config: Config) -> caller.Caller:
    if config.get("virt", "privileged") == "direct":
        return caller.in_process(config)
    return caller.over_socket(config)


class VirtService:
    def __init__(self, config: Config, publish_status: Publish,
                 disks: VmDisks,
                 on_migration: migration.Notify | None = None) -> None:
        """publish_status(vm_id, status) sends a VM's status change (the
        daemon gives api.vm_wire's publisher); on_migration(vm_id, state)
        a migration's progress (the |virt|VM_migration_status| event)."""
        self.hooks_dir = config.get("vars", "hooks_dir")
        self.conn = Connection()
        self.emulation = Emulation(
            self.conn, config.getboolean("vars", "fake_kvm_support"))
        privileged = _privileged(config)
        # tc port mirroring for vNIC updates (vdsm.virt.nics.Mirrors).
        self.mirrors: Mirrors | None = PrivilegedMirrors(privileged)
        self.vms = VmManager(self.conn, publish_status,
                             self.hooks_dir, self.emulation,
                             disks,
                             config.getfloat("vars", "vm_shutdown_timeout"),
                             self.mirrors)
        self.migrations = Migrations(
            self.vms, migration.settings_from(config),
            config.getint("vars", "max_outgoing_migrations"),
            config.getint("vars", "max_incoming_migrations"),
            on_migration or (lambda vm_id, state: None),
            available_mib=self.available_memory_mib,
            overhead_mib=config.getint("vars", "guest_ram_overhead"))
        self._mem_reserve_mib = config.getint("vars", "host_mem_reserve")
        interval = config.getfloat("vars", "vm_sample_interval")
        self.guests = GuestPoller(
            self.vms.all, config.getfloat("vars", "vm_guest_info_interval"),
            interval)
        self.sampler = Sampler(self.conn, interval,
                               after_sample=self.guests.poll_due)
        # Virt host jobs (VM.snapshot with jobUUID) and live snapshots.
        self.jobs = VirtJobs(config.getfloat("jobs", "autodelete_delay"))
        self.snapshots = Snapshots(disks, self.jobs)
        # Live merges (VM.merge), their progress in vmJobs.
        self.merges = Merges(disks)
        # VM.diskSizeExtend.
        self.disk_extends = DiskExtends(disks)
        read, write = externaldata.privileged_io(privileged)
        self.external = externaldata.ExternalData(
            read, write, config.getfloat("virt", "external_data_interval"),
            self.vms.all)

    def start(self) -> None:
        self.vms.recover()
        for vm in self.vms.all():
            self.snapshots.recover(vm)
            self.merges.recover(vm)
            self.disk_extends.recover(vm)
        self.sampler.start()
        self.external.start()

    def stop(self) -> None:
        self.merges.stop()
        self.external.stop()
        self.sampler.stop()
        self.vms.stop()
        self.conn.close()

    def stats(self, vm: Vm) -> VmStats:
        """A VM's statistics from the views and the last samples only."""
        guest, jobs = self.guests.get(vm.id)
        # A merge reports its own job (id, image) on its disk.
        merges = self.merges.block_jobs(vm.id)
        merging = {j.disk for j in merges}
        jobs = merges + [j for j in jobs if j.disk not in merging]
        return vmstats.vm_stats(vm, *self.sampler.get(vm.id), guest=guest,
                                jobs=jobs)

    def available_memory_mib(self) -> int:
        """MiB a new VM can get now: free memory (with reclaimable
        caches) less what running VMs were promised and do not use yet,
        less [vars] host_mem_reserve (Host.getStats memAvailable, with
        the host's reserve)."""
        meminfo = procfs.parse_meminfo(procfs.read("/proc/meminfo"))
        free = mem_free_kib(meminfo) // 1024
        return (free - self.host_counts().mem_pending_mib
                - self._mem_reserve_mib)

    def host_counts(self) -> VmCounts:
        """VM counts and memory for Host.getStats, from the views only."""
        running = [vm for vm in self.vms.all() if vm.status != DOWN]
        committed = sum(domxml.memory_mib(vm.root) for vm in running
                        if vm.root is not None)
        resident = 0
        for vm in running:
            _, last = self.sampler.get(vm.id)
            if last is not None:
                resident += last.stats.get("balloon.rss", 0) // 1024
        moving = self.migrations.counts()
        return VmCounts(total=len(self.vms.all()),
                        active=sum(vm.status == UP for vm in running),
                        migrating=moving.incoming + moving.outgoing,
                        incoming_migrations=moving.incoming,
                        outgoing_migrations=moving.outgoing,
                        mem_committed_mib=committed,
                        mem_resident_mib=resident)
