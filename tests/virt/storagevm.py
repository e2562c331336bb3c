"""A running test guest on a storage disk, for snapshot and merge tests.

A real vdsmd over a real file domain (LOCALFS on a loop file system, SPM,
sanlock) with a raw base volume made by Volume.create, and a TCG guest
running from it (virtio disk vda, qemu-ga on its channel: vdsm.virtio=1).
The guest writes through qemu-ga's guest-exec (busybox dd to /dev/vda).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import libvirt
import libvirt_qemu
import pytest

from fixtures import testguest
from fixtures.virt import StatusEvents, wait_for
from storage.api_test import (create_volume, ok, overrides, setup_pool,
                              teardown_pool, vol_args)
from storage.storagefixtures import new_id

from vdsm.storage import clusterlock

MIB = 1024 * 1024
START_TIMEOUT = 300
RAW, COW = 5, 4
SECTOR = 512

DEVICES = """
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/><source file='/to/be/prepared'/>
      <target dev='vda' bus='virtio'/></disk>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>"""


def disk_metadata(sp, sd, img, vol):
    return ("<ovirt-vm:vm xmlns:ovirt-vm='http://ovirt.org/vm/1.0'>"
            "<ovirt-vm:device devtype='disk' name='vda'>"
            f"<ovirt-vm:poolID>{sp}</ovirt-vm:poolID>"
            f"<ovirt-vm:domainID>{sd}</ovirt-vm:domainID>"
            f"<ovirt-vm:imageID>{img}</ovirt-vm:imageID>"
            f"<ovirt-vm:volumeID>{vol}</ovirt-vm:volumeID>"
            "</ovirt-vm:device></ovirt-vm:vm>")


@dataclass
class StorageVm:
    vdsmd: Any
    cli: Any
    sp: str
    sd: str
    img: str
    base: str
    vm_id: str
    events: Any
    extra: dict = field(default_factory=dict)
    size: int = 64 * MIB

    def new_leaf(self, parent: str) -> str:
        vol = new_id()
        ok(self.cli, create_volume(self.cli, self.sp, self.sd, self.img,
                                   vol, parent=parent, fmt=COW,
                                   size=str(self.size)))
        return vol

    def drive_spec(self, vol: str) -> dict:
        """The engine's drive dict for vol of this VM's disk (VM.merge
        drive, VM.diskSizeExtend driveSpecs)."""
        return {"poolID": self.sp, "domainID": self.sd, "imageID": self.img,
                "volumeID": vol}

    def snap_drive(self, vol: str, parent: str) -> dict:
        return {"domainID": self.sd, "imageID": self.img, "volumeID": vol,
                "baseVolumeID": parent}

    def prepared_path(self, vol: str) -> str:
        return self.cli.Image.prepare(**vol_args(self.sp, self.sd, self.img,
                                                 vol))["path"]

    def dom(self) -> tuple[libvirt.virConnect, libvirt.virDomain]:
        conn = libvirt.open("qemu:///system")
        return conn, conn.lookupByUUIDString(self.vm_id)

    def live_source(self) -> str:
        conn, dom = self.dom()
        try:
            import xml.etree.ElementTree as ET
            root = ET.fromstring(dom.XMLDesc(0))
        finally:
            conn.close()
        return root.find("devices/disk/source").get("file")

    def guest_write(self, data: bytes, sector: int) -> None:
        """Write data (ASCII letters, digits, '-') at sector of the guest's
        /dev/vda, synced."""
        text = data.decode("ascii")
        assert text.replace("-", "").isalnum(), text
        cmd = (f"printf %s {text} | dd of=/dev/vda bs={SECTOR} "
               f"seek={sector} conv=fsync,notrunc")
        out = self.agent_exec(cmd)
        assert out["exitcode"] == 0, out

    def guest_read(self, sector: int, count: int) -> bytes:
        out = self.agent_exec(f"dd if=/dev/vda bs={SECTOR} skip={sector} "
                              f"count={count} iflag=direct 2>/dev/null")
        return base64.b64decode(out.get("out-data", ""))

    def agent_exec(self, cmd: str, timeout: float = 60) -> dict:
        conn, dom = self.dom()
        try:
            reply = json.loads(libvirt_qemu.qemuAgentCommand(dom, json.dumps(
                {"execute": "guest-exec", "arguments": {
                    "path": "/bin/sh", "arg": ["-c", cmd],
                    "capture-output": True}}), 30, 0))
            pid = reply["return"]["pid"]
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                st = json.loads(libvirt_qemu.qemuAgentCommand(
                    dom, json.dumps({"execute": "guest-exec-status",
                                     "arguments": {"pid": pid}}), 30, 0))
                if st["return"]["exited"]:
                    return st["return"]
                time.sleep(0.2)
        finally:
            conn.close()
        raise AssertionError(f"guest command did not end: {cmd}")

    def wait_agent(self, timeout: float = 120) -> None:
        def ping() -> bool:
            conn, dom = self.dom()
            try:
                libvirt_qemu.qemuAgentCommand(
                    dom, '{"execute":"guest-ping"}', 5, 0)
                return True
            except libvirt.libvirtError:
                return False
            finally:
                conn.close()
        wait_for(ping, timeout, "qemu-ga in the guest")

    def chain_md(self) -> list[str]:
        """The VM metadata's volumeChain of vda (volume ids, base first)."""
        import xml.etree.ElementTree as ET
        from vdsm.storage import vmdisks
        conn, dom = self.dom()
        try:
            root = ET.fromstring(dom.XMLDesc(0))
        finally:
            conn.close()
        [(dev, ids)] = vmdisks.storage_disks(root)
        return vmdisks.chain_of(dev) + [f"leaf={ids.vol_id}"]

    def job(self, job_id: str, timeout: float = 120) -> dict:
        def ended():
            jobs = self.cli.Host.getJobs(job_ids=[job_id])
            j = jobs.get(job_id)
            return j if j and j["status"] not in ("running",
                                                  "pending") else None
        return wait_for(ended, timeout, f"job {job_id}")

    def md(self, vol: str) -> dict:
        return self.cli.Volume.getInfo(**vol_args(self.sp, self.sd, self.img,
                                                  vol))


def read_file(path: str, offset: int, size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(size)


@pytest.fixture
def repository():
    # qemu (not root) must reach the prepared paths through the links.
    path = tempfile.mkdtemp(prefix="vdsm-repo-", dir="/var/tmp")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def disk_size():
    """The guest disk's capacity (a module may override the fixture)."""
    return 64 * MIB


@pytest.fixture
def storage_vm(env, sanlock_daemon, vdsmd_factory, guests, repository,
               tmp_path, disk_size):
    """env, sanlock_daemon: the storage tests' (tests/virt/conftest.py)."""
    clusterlock._registered()
    if not os.path.exists(testguest.QEMU_GA):
        pytest.skip("qemu-guest-agent is not installed (tests only)")
    hooks_dir = tmp_path / "hooks"
    hooks_dir.mkdir()
    conf = overrides(env)
    conf["irs"]["repository"] = repository
    conf["vars"] = {"vm_sample_interval": "1",
                    "run_dir": os.path.join(repository, "run"),
                    "hooks_dir": str(hooks_dir)}
    # Recovery goes through every domain of the shared libvirtd first.
    vdsmd = vdsmd_factory(conf, ready=False)
    vdsmd.wait_ready(timeout=START_TIMEOUT)
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, env.dir())
        img, base = new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img, base, fmt=RAW,
                              size=str(disk_size)))
        events = StatusEvents(cli.subscribe())
        vm_id = str(uuid.uuid4())
        cli.VM.create(vmID=vm_id, vmParams={"xml": guests.xml(
            vm_id, devices=DEVICES, cmdline="vdsm.virtio=1",
            metadata=disk_metadata(sp, sd, img, base))})
        events.wait(vm_id, "Up")
        vm = StorageVm(vdsmd, cli, sp, sd, img, base, vm_id, events,
                       {"hooks_dir": hooks_dir}, disk_size)
        try:
            guests.wait_ready(vm_id, timeout=400)
        except AssertionError:
            with open(guests.console(vm_id), errors="replace") as f:
                print("CONSOLE", f.read()[-3000:])
            raise
        vm.wait_agent(timeout=300)
        yield vm
    # A test may have restarted vdsmd: a new connection.
    with vdsmd.client() as cli:
        for call in (lambda: cli.VM.destroy(vmID=vm_id),
                     lambda: teardown_pool(cli, sp)):
            try:
                call()
            except Exception:
                pass
