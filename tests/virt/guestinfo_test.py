from __future__ import annotations

import threading

import libvirt

from vdsm.virt import guestinfo
from vdsm.virt.vm import UP, Vm

VM_ID = "2c1f3a3e-8f5d-4c62-9d0e-3b1f4cbe2b10"

# virDomainGetGuestInfo's record, as libvirt 9 returns it for a Linux
# guest running qemu-guest-agent.
FLAT = {
    "hostname": "guest1.example.com",
    "os.id": "debian", "os.name": "Debian GNU/Linux",
    "os.version": "12 (bookworm)", "os.version-id": "12",
    "os.kernel-release": "6.1.0-57-amd64", "os.machine": "x86_64",
    "timezone.name": "CET", "timezone.offset": 3600,
    "user.count": 1, "user.0.name": "alice",
    "if.count": 1, "if.0.name": "eth0", "if.0.hwaddr": "56:6f:1a:2b:00:01",
    "if.0.addr.count": 2, "if.0.addr.0.type": "ipv4",
    "if.0.addr.0.addr": "192.0.2.10", "if.0.addr.0.prefix": 24,
    "if.0.addr.1.type": "ipv6", "if.0.addr.1.addr": "fe80::1",
    "disk.count": 2, "disk.0.name": "/dev/vda", "disk.0.serial": "img-1",
    "disk.1.name": "/dev/sr0",
    "fs.count": 1, "fs.0.mountpoint": "/", "fs.0.name": "vda1",
    "fs.0.fstype": "ext4", "fs.0.total-bytes": 1000, "fs.0.used-bytes": 400,
}


def test_parse_guest_info():
    info = guestinfo.parse_guest_info(FLAT, cpu_count=2)
    assert info.hostname == "guest1.example.com"
    assert info.os is not None and info.os.kernel_release == "6.1.0-57-amd64"
    assert info.timezone == guestinfo.Timezone("CET", 60)
    assert info.users == ["alice"]
    assert info.cpu_count == 2
    [nic] = info.interfaces
    assert (nic.name, nic.hw, nic.inet, nic.inet6) == (
        "eth0", "56:6f:1a:2b:00:01", ["192.0.2.10"], ["fe80::1"])
    assert info.disks == {"img-1": "/dev/vda"}
    assert info.filesystems == [guestinfo.Filesystem("/", "ext4", 1000, 400)]


def test_cpu_list():
    assert guestinfo._cpu_list("0-2,4") == {0, 1, 2, 4}
    assert guestinfo._cpu_list("") == set()


def test_block_job_id_is_stable_per_disk():
    a = guestinfo.block_job_id(VM_ID, "vda")
    assert a == guestinfo.block_job_id(VM_ID, "vda")
    assert a != guestinfo.block_job_id(VM_ID, "vdb")


class HungDomain:
    """Stands for a domain whose guest agent never answers: a real hung
    agent cannot be made on demand here (a guest without an agent gets an
    error from libvirt at once)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def guestInfo(self, types: int, flags: int) -> dict:
        self.calls += 1
        self.release.wait(30)
        raise libvirt.libvirtError("agent timeout")

    def guestVcpus(self, flags: int) -> dict:
        raise libvirt.libvirtError("agent timeout")

    def blockJobInfo(self, disk: str, flags: int) -> dict:
        return {}


def make_vm(dom: HungDomain) -> Vm:
    vm = Vm(VM_ID, conn=None, publish=lambda i, s: None,  # type: ignore
            hooks_dir="/nonexistent", status=UP)
    vm.set_xml(f"""<domain type='qemu'><name>g</name><uuid>{VM_ID}</uuid>
      <devices><channel type='unix'><target type='virtio'
        name='org.qemu.guest_agent.0'/></channel></devices></domain>""")
    vm.dom = lambda: dom  # type: ignore[method-assign]
    return vm


def test_hung_agent_holds_neither_stats_nor_next_polls():
    dom = HungDomain()
    vm = make_vm(dom)
    poller = guestinfo.GuestPoller(lambda: [vm], guest_interval=0,
                                   jobs_interval=0)
    try:
        poller.poll_due()
        guestinfo_wait(lambda: dom.calls == 1)
        # Stats read the last answer (none) at once.
        assert poller.get(VM_ID) == (None, [])
        # The stuck worker gets no second one, however often it is due.
        for _ in range(5):
            poller.poll_due()
        assert dom.calls == 1
    finally:
        dom.release.set()


def guestinfo_wait(pred, timeout: float = 10) -> None:
    done = threading.Event()
    for _ in range(int(timeout * 100)):
        if pred():
            return
        done.wait(0.01)
    raise AssertionError("timeout")


def test_no_disk_no_agent_no_worker():
    dom = HungDomain()
    vm = make_vm(dom)
    vm.set_xml(f"<domain type='qemu'><name>g</name><uuid>{VM_ID}</uuid>"
               "<devices/></domain>")
    poller = guestinfo.GuestPoller(lambda: [vm], guest_interval=0,
                                   jobs_interval=0)
    poller.poll_due()
    assert poller._in_flight == set() and dom.calls == 0
