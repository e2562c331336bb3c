"""Helpers for migrations between the hosts of tests/fixtures/cluster.py:
a storage pool on the shared POSIXFS storage seen by both hosts, a guest
with a disk there, a NIC and a serial console that answers.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import libvirt

from fixtures import cluster as cluster_mod
from fixtures import testguest
from fixtures.virt import wait_for
from storage.api_test import LEASE_ARGS, SPM_ARGS, create_volume, ok

BLANK = "00000000-0000-0000-0000-000000000000"
POSIXFS = 6
BRIDGE = "vmbr0"
MIB = 1024 * 1024
# The guest with its counter and console responder (vdsm.counter=1), in
# its own cache directory: the default one is rebuilt by every tree that
# runs tests, with its own version of testguest.py.
GUEST_DIR = testguest.DEFAULT_CACHE + "-counter"
PREFIX = "vdsmtest-mig-"


def _quiet(ctx: object, err: object) -> None:
    pass


# Consoles end with "stream is closed" when a guest leaves: not news.
libvirt.registerErrorHandler(_quiet, None)

# Every host's vdsm.conf (Cluster(config=)): fast monitoring for tests,
# the rest as upstream's defaults; libvirt cannot know the ext4 on the
# loop device is shared.
CONF = {"vars": {"migration_monitor_interval": "1",
                 "migration_unsafe": "true",
                 "migration_retry_timeout": "1",
                 "vm_sample_interval": "1"}}


def guest_dir() -> str:
    return testguest.build(GUEST_DIR)


def add_bridge(host: cluster_mod.Host, name: str = BRIDGE) -> None:
    host.run(["ip", "link", "add", name, "type", "bridge"])
    host.run(["ip", "link", "set", name, "up"])


# Storage.


def setup_pool(hosts: cluster_mod.Cluster) -> tuple[str, str]:
    """A data domain on the shared storage, a pool with host 0 as SPM and
    host 1 connected; (pool id, domain id)."""
    conn = hosts.posixfs_connection()
    for host in hosts:
        with host.client() as cli:
            assert [s["status"] for s in
                    cli.StoragePool.connectStorageServer(
                        storagepoolID=BLANK, domainType=POSIXFS,
                        connectionParams=[conn])] == [0]
    sd, sp = str(uuid.uuid4()), str(uuid.uuid4())
    with hosts[0].client() as cli:
        cli.StorageDomain.create(storagedomainID=sd, domainType=POSIXFS,
                                 typeArgs=conn["connection"],
                                 name="migration", domainClass=1)
        cli.StoragePool.create(storagepoolID=sp, name="migration",
                               masterSdUUID=sd, masterVersion=1,
                               domainList=[sd], **LEASE_ARGS)
        cli.StoragePool.connect(storagepoolID=sp, hostID=1, scsiKey=sp,
                                masterSdUUID=sd, masterVersion=1)
        ok(cli, cli.StoragePool.spmStart(storagepoolID=sp, **SPM_ARGS))
    for i, host in enumerate(hosts):
        if i == 0:
            continue
        with host.client() as cli:
            cli.StoragePool.connect(storagepoolID=sp, hostID=i + 1,
                                    scsiKey=sp, masterSdUUID=sd,
                                    masterVersion=1)
    return sp, sd


def new_disk(hosts: cluster_mod.Cluster, sp: str, sd: str) -> dict:
    img, vol = str(uuid.uuid4()), str(uuid.uuid4())
    with hosts[0].client() as cli:
        ok(cli, create_volume(cli, sp, sd, img, vol, fmt=5, prealloc=2,
                              size=str(16 * MIB)))
    return {"poolID": sp, "domainID": sd, "imageID": img, "volumeID": vol}


# The guest.


def vm_xml(vm_id: str, disk: dict | None, memory_mib: int = 128,
           bridge: str | None = BRIDGE, cmdline: str = "") -> str:
    g = guest_dir()
    name = f"{PREFIX}{vm_id[:8]}"
    devices = ""
    metadata = ""
    if disk is not None:
        devices += ("<disk type='file' device='disk'>"
                    "<driver name='qemu' type='raw' cache='none'/>"
                    "<source file='/to/be/prepared'/>"
                    "<target dev='vda' bus='virtio'/></disk>")
        metadata = (
            "<ovirt-vm:vm xmlns:ovirt-vm='http://ovirt.org/vm/1.0'>"
            "<ovirt-vm:device devtype='disk' name='vda'>"
            + "".join(f"<ovirt-vm:{k}>{v}</ovirt-vm:{k}>"
                      for k, v in disk.items())
            + "</ovirt-vm:device></ovirt-vm:vm>")
    if bridge:
        devices += (f"<interface type='bridge'><source bridge='{bridge}'/>"
                    "<model type='virtio'/></interface>")
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <uuid>{vm_id}</uuid>
  <memory unit='MiB'>{memory_mib}</memory>
  <vcpu>1</vcpu>
  <metadata>{metadata}</metadata>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{g}/vmlinuz</kernel>
    <initrd>{g}/initrd.img</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet vdsm.counter=1 {cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <graphics type='vnc' port='-1' autoport='yes' listen='0.0.0.0'/>
    {devices}
  </devices>
</domain>"""


class Console:
    """The guest's serial console through a host's libvirtd."""

    def __init__(self, host: cluster_mod.Host, vm_id: str) -> None:
        self.conn = libvirt.open(host.libvirt_uri)
        dom = self.conn.lookupByUUIDString(vm_id)
        self.stream = self.conn.newStream(0)
        dom.openConsole(None, self.stream,
                        libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        self.text = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.stream.recv(4096)
            except libvirt.libvirtError:
                return
            if not isinstance(data, bytes) or not data:
                return
            with self._lock:
                self.text += data.decode(errors="replace")

    def ping(self, timeout: float = 60) -> int:
        """Send a line; the guest's counter in its answer."""
        token = uuid.uuid4().hex[:8]
        deadline = time.monotonic() + timeout
        while True:
            self.stream.send(f"{token}\n".encode())
            end = time.monotonic() + 5
            while time.monotonic() < end:
                with self._lock:
                    text = self.text
                mark = f"VDSM-TEST-PONG {token} "
                if mark in text:
                    rest = text.split(mark, 1)[1].split()[0]
                    return int(rest)
                time.sleep(0.1)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"console did not answer: {self.text[-500:]!r}")

    def wait_for(self, mark: str, timeout: float = 180) -> None:
        wait_for(lambda: mark in self.text, timeout, f"{mark} on console")

    def close(self) -> None:
        try:
            self.stream.finish()
        except libvirt.libvirtError:
            pass
        try:
            self.conn.close()
        except libvirt.libvirtError:
            pass


def domain_state(host: cluster_mod.Host, vm_id: str) -> int | None:
    """libvirt's state of the VM on host; None when not defined there."""
    conn = libvirt.open(host.libvirt_uri)
    try:
        return conn.lookupByUUIDString(vm_id).state()[0]
    except libvirt.libvirtError:
        return None
    finally:
        conn.close()


def running_on(hosts: cluster_mod.Cluster, vm_id: str) -> list[str]:
    """The hosts where a qemu of the VM is active (running or paused)."""
    return [h.name for h in hosts
            if domain_state(h, vm_id) in (libvirt.VIR_DOMAIN_RUNNING,
                                          libvirt.VIR_DOMAIN_PAUSED)]


def wait_status(host: cluster_mod.Host, vm_id: str, status: str,
                timeout: float = 180) -> dict[str, Any]:
    def current() -> dict | None:
        with host.client() as cli:
            for vm in cli.Host.getVMList(fullStatus=True, vmList=[vm_id],
                                         onlyUUID=False):
                if vm["vmId"] == vm_id and vm["status"] == status:
                    return vm
        return None
    return wait_for(current, timeout, f"{vm_id} {status} on {host.name}",
                    interval=0.5)


def destroy_everywhere(hosts: cluster_mod.Cluster, vm_id: str) -> None:
    for host in hosts:
        try:
            with host.client() as cli:
                cli.VM.destroy(vmID=vm_id)
        except Exception:
            pass
