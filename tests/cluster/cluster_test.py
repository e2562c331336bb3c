"""Two hosts on one machine (tests/fixtures/cluster.py): each its own vdsmd
over TLS at its own address with its own host UUID, its own libvirtd
running a guest of the same name as the other at once, both mounting the
same POSIXFS storage; ``down`` leaves nothing behind.

Real parts: network, mount, cgroup and UTS namespaces, a bridge and veths,
virtlogd, libvirtd, sanlock, supervdsmd and vdsmd per host, TCG guests, an
ext4 on a loop device.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import uuid
import xml.etree.ElementTree as ET
from typing import Iterator

import libvirt
import pytest

from fixtures import cluster as cluster_mod
from fixtures import testguest
from fixtures.virt import Guests, StatusEvents, wait_for
from vdsm.storage.connection import local_name

pytestmark = [pytest.mark.slow, pytest.mark.root]

BLANK = "00000000-0000-0000-0000-000000000000"
POSIXFS = 6


@pytest.fixture(scope="module")
def hosts() -> Iterator[cluster_mod.Cluster]:
    cluster_mod.require()
    with cluster_mod.running(2) as c:
        yield c


@pytest.fixture
def consoles() -> Iterator[str]:
    # Where qemu (not root) can write.
    tmp = tempfile.mkdtemp(prefix="vdsmtest-", dir="/tmp")
    os.chmod(tmp, 0o777)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def peer_common_name(c: cluster_mod.Cluster, address: str, port: int
                     ) -> str:
    """The CN of the certificate served at address:port, checked against
    the cluster CA and the address (its IP SAN)."""
    ctx = ssl.create_default_context(cafile=c.engine_pki.ca_cert)
    ctx.load_cert_chain(c.engine_pki.cert, c.engine_pki.key)
    with socket.create_connection((address, port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=address) as tls:
            cert = tls.getpeercert()
    assert cert
    subject = dict(rdn[0] for rdn in cert["subject"])
    return subject["commonName"]


def libvirt_host_uuid(uri: str) -> str | None:
    conn = libvirt.open(uri)
    try:
        return ET.fromstring(conn.getCapabilities()).findtext("host/uuid")
    finally:
        conn.close()


def start_vm(host: cluster_mod.Host, vm_id: str, xml: str) -> None:
    with host.client() as cli:
        events = StatusEvents(cli.subscribe())
        cli.VM.create(vmID=vm_id, vmParams={"xml": xml})
        events.wait(vm_id, "Up")


def read(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def test_each_host_answers_over_tls_at_its_own_address(hosts):
    assert len(hosts) == 2
    assert hosts[0].address != hosts[1].address
    assert hosts[0].uuid != hosts[1].uuid
    for host in hosts:
        with host.client() as cli:
            caps = cli.Host.getCapabilities()
        assert caps["uuid"] == host.uuid
        # Its own certificate, issued by the cluster's (engine's) CA for
        # its address: vdsm's port and libvirt's TLS port.
        assert peer_common_name(hosts, host.address,
                                cluster_mod.VDSM_PORT) == host.name
        assert peer_common_name(hosts, host.address,
                                cluster_mod.LIBVIRT_TLS_PORT) == host.name
        # libvirtd's own host UUID (a migration needs two).
        assert libvirt_host_uuid(host.libvirt_uri) == host.uuid
        assert host.run(["hostname"]).stdout.strip() == host.name


def test_the_same_vm_runs_on_both_hosts_at_once(hosts, test_guest,
                                                consoles):
    guests = Guests(test_guest, consoles)
    vm_id = str(uuid.uuid4())
    xml = guests.xml(vm_id)
    name = ET.fromstring(xml).findtext("name")
    console = {h.name: os.path.join(consoles, h.name) for h in hosts}
    for host in hosts:
        start_vm(host, vm_id, xml.replace(guests.console(vm_id),
                                          console[host.name]))
    for host in hosts:
        wait_for(lambda: testguest.READY_MARK in read(console[host.name]),
                 120, f"guest on {host.name} did not boot")
    pids = {}
    for host in hosts:
        pid = int(read(host.path(f"/run/libvirt/qemu/{name}.pid")))
        pids[host.name] = pid
        # The guest's cgroup is under its host's, not a shared
        # machine/qemu-1-<name>.
        assert host.netns in read(f"/proc/{pid}/cgroup")
        conn = libvirt.open(host.libvirt_uri)
        try:
            assert [d.name() for d in conn.listAllDomains()] == [name]
        finally:
            conn.close()
    assert len(set(pids.values())) == 2
    for host in hosts:
        with host.client() as cli:
            cli.VM.destroy(vmID=vm_id)
        wait_for(lambda: not os.path.exists(f"/proc/{pids[host.name]}"),
                 30, f"qemu on {host.name} still runs")


def test_both_hosts_mount_the_shared_posixfs_storage(hosts):
    conn = hosts.posixfs_connection()
    mnt = f"/rhev/data-center/mnt/{local_name(hosts.shared_device)}"
    for host in hosts:
        with host.client() as cli:
            statuses = cli.StoragePool.connectStorageServer(
                storagepoolID=BLANK, domainType=POSIXFS,
                connectionParams=[conn])
        assert [s["status"] for s in statuses] == [0]
        assert host.run(["findmnt", "-n", "-o", "SOURCE", mnt]
                        ).stdout.strip() == hosts.shared_device
    # One file system: what one host writes, the other reads.
    token = uuid.uuid4().hex
    hosts[0].run(["sh", "-c", f"echo {token} > {mnt}/probe; sync"])
    assert hosts[1].run(["cat", f"{mnt}/probe"]).stdout.strip() == token
    # The mounts are the hosts' own: not in this (the root) namespace.
    assert mnt not in read("/proc/self/mountinfo")
    for host in hosts:
        with host.client() as cli:
            statuses = cli.StoragePool.disconnectStorageServer(
                storagepoolID=BLANK, domainType=POSIXFS,
                connectionParams=[conn])
        assert [s["status"] for s in statuses] == [0]
        assert host.run(["findmnt", "-n", mnt], check=False).returncode == 1


def test_libvirt_migrates_a_guest_between_the_hosts_over_tls(
        hosts, test_guest, consoles):
    """The fixture is migration-ready: raw ``virsh migrate --live --p2p``
    from one host's libvirtd to the other's qemu+tls URI (certificates of
    the cluster CA), there and back, the guest running throughout."""
    guests = Guests(test_guest, consoles)
    vm_id = str(uuid.uuid4())
    xml = guests.xml(vm_id)
    name = ET.fromstring(xml).findtext("name")
    conn = libvirt.open(hosts[0].libvirt_uri)
    try:
        conn.createXML(xml)
    finally:
        conn.close()
    wait_for(lambda: testguest.READY_MARK in read(guests.console(vm_id)),
             120, "guest did not boot")
    for src, dst in ((hosts[0], hosts[1]), (hosts[1], hosts[0])):
        src_pid = int(read(src.path(f"/run/libvirt/qemu/{name}.pid")))
        src.run(["virsh", "migrate", "--live", "--p2p", name,
                 dst.libvirt_tls_uri], timeout=120)
        conn = libvirt.open(dst.libvirt_uri)
        try:
            dom = conn.lookupByName(name)
            assert dom.UUIDString() == vm_id
            assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        finally:
            conn.close()
        dst_pid = int(read(dst.path(f"/run/libvirt/qemu/{name}.pid")))
        assert dst.netns in read(f"/proc/{dst_pid}/cgroup")
        conn = libvirt.open(src.libvirt_uri)
        try:
            assert conn.listAllDomains() == []
        finally:
            conn.close()
        wait_for(lambda: not os.path.exists(f"/proc/{src_pid}"), 30,
                 f"qemu still runs on {src.name}")
    conn = libvirt.open(hosts[0].libvirt_uri)
    try:
        conn.lookupByName(name).destroy()
    finally:
        conn.close()


def test_a_host_crashes_and_boots_again(hosts):
    host = hosts[1]
    conn = hosts.posixfs_connection()
    mnt = f"/rhev/data-center/mnt/{local_name(hosts.shared_device)}"
    with host.client() as cli:
        cli.StoragePool.connectStorageServer(
            storagepoolID=BLANK, domainType=POSIXFS, connectionParams=[conn])
    old = host.pids()
    host.crash()
    assert not any(os.path.exists(f"/proc/{p}") for p in old)
    assert host.pids() == set()
    with pytest.raises(OSError):
        socket.create_connection((host.address, cluster_mod.VDSM_PORT),
                                 timeout=2).close()
    host.boot()
    with host.client() as cli:
        assert cli.Host.getCapabilities()["uuid"] == host.uuid
        # vdsmd restored its storage connection at start (the mount went
        # with the old mount namespace).
        assert host.run(["findmnt", "-n", "-o", "SOURCE", mnt]
                        ).stdout.strip() == hosts.shared_device
        cli.StoragePool.disconnectStorageServer(
            storagepoolID=BLANK, domainType=POSIXFS, connectionParams=[conn])
    # One daemon: a crash and a start.
    pids = host.daemon_pids("libvirtd")
    host.kill_daemon("libvirtd")
    assert host.daemon_pids("libvirtd") == []
    host.start_daemon("libvirtd")
    assert host.daemon_pids("libvirtd") not in ([], pids)
    assert libvirt_host_uuid(host.libvirt_uri) == host.uuid


def test_configure_restarts_vdsmd_with_the_new_config(hosts):
    host = hosts[0]
    before = host.daemon_pids("vdsmd")
    host.configure({"vars": {"vm_sample_interval": "7"}})
    assert host.daemon_pids("vdsmd") not in ([], before)
    assert "vm_sample_interval = 7" in read(
        host.path("/etc/vdsm/vdsm.conf"))
    with host.client() as cli:
        assert cli.Host.ping2() is True


def test_down_leaves_nothing_behind(test_guest, consoles):
    cluster_mod.require()
    c = cluster_mod.Cluster()
    try:
        c.up(2)
        guests = Guests(test_guest, consoles)
        vm_id = str(uuid.uuid4())
        xml = guests.xml(vm_id)
        name = ET.fromstring(xml).findtext("name")
        for host in c:
            start_vm(host, vm_id, xml.replace(
                guests.console(vm_id), os.path.join(consoles, host.name)))
            with host.client() as cli:
                cli.StoragePool.connectStorageServer(
                    storagepoolID=BLANK, domainType=POSIXFS,
                    connectionParams=[c.posixfs_connection()])
        pids = set().union(*(h.pids() for h in c))
        device = c.shared_device
    finally:
        c.down()
    assert not any(os.path.exists(f"/proc/{p}") for p in pids)
    assert subprocess.run(["pgrep", "-f", f"guest={name}"],
                          capture_output=True).returncode == 1
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True,
                           text=True, check=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True,
                           text=True, check=True).stdout
    assert f"vc{c.tag}" not in netns + links
    loops = subprocess.run(["losetup", "--list", "--noheadings", "--output",
                            "NAME,BACK-FILE"], capture_output=True,
                           text=True, check=True).stdout
    assert c.shared_image not in loops
    assert not any(line.split()[0] == device
                   for line in loops.splitlines() if len(line.split()) > 1
                   and line.split()[1].startswith(c.root))
    assert c.root not in read("/proc/self/mountinfo")
    for host in c:
        assert not any(os.path.exists(p) for p in host.cgroups)
    assert not os.path.exists(c.root)
    assert c.leftovers() == []
