"""oVirt Engine monitors an Up host and its VM, as the engine's code does.

In a data center with this host as SPM (datacenter.py), a thin RAW disk
is made (Volume.create, an SPM task) and a VM defined the way the engine
defines it (its domain XML with the engine's ``<ovirt-vm:vm>`` metadata,
``launchPaused`` without a type attribute, the disk named by its
pool/domain/image/volume ids) is created with VM.create, which prepares
the disk; then the steady cycle of
``HostMonitoring`` and ``PollVmStatsRefresher``: Host.getStats and
Host.getAllVmStats every cycle, Host.dumpxmls whenever a VM's ``hash``
changes (``VmDevicesMonitoring``), the ``|virt|VM_status|`` events
(``EventVmStatsRefresher``), and VM.destroy once the VM is Down
(``VmAnalyzer``). Every reply and event goes through the engine's readers
(readers.py); ``statusTime`` must never go back (``isLatestData``), the
disk's stats must carry its imageID (the engine drops them otherwise).

The engine polls every 15 s; the cycle here runs every 0.3 s against a
vdsmd sampling every second. The test guest powers itself off after a
few seconds (``vdsm.poweroff``), as a guest shut down from inside.
Once it is Up the console is opened as the engine opens it (VM.updateDevice
with the graphics ticket, ``SetVmTicketVDSCommand``).
"""

from __future__ import annotations

import time
import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest

from engine import datacenter, readers
from engine.conftest import connect
from vdsm import client

pytestmark = [pytest.mark.slow, pytest.mark.root]

# What the engine's LibvirtVmXmlBuilder writes in <metadata>.
ENGINE_METADATA = """
<ovirt-tune:qos xmlns:ovirt-tune="http://ovirt.org/vm/tune/1.0"/>
<ovirt-vm:vm xmlns:ovirt-vm="http://ovirt.org/vm/1.0">
  <ovirt-vm:minGuaranteedMemoryMb type="int">64</ovirt-vm:\
minGuaranteedMemoryMb>
  <ovirt-vm:clusterVersion>4.7</ovirt-vm:clusterVersion>
  <ovirt-vm:custom/>
  <ovirt-vm:launchPaused>false</ovirt-vm:launchPaused>
  <ovirt-vm:resumeBehavior>auto_resume</ovirt-vm:resumeBehavior>
</ovirt-vm:vm>"""
CYCLE = 0.3
TIMEOUT = 60


def drain_status_events(engine, vm_id: str, seen: list[str]) -> None:
    """EventVmStatsRefresher: every |virt|VM_status| event read."""
    while True:
        try:
            method, params = engine.events.get(timeout=0)
        except client.TimeoutError:
            return
        if not method.startswith("|virt|VM_status|"):
            continue
        readers.vm_status_event(params)
        if vm_id in params:
            seen.append(params[vm_id]["status"])


def open_console(engine, vm_id: str) -> bool:
    """SetVmTicketVDSCommand: the ticket as a graphics device update,
    the params of ovirt-engine 4.5; the reply's vmList is read as
    CreateBroker's. The ticket must be in the live domain."""
    reply = engine.rpc("VM.updateDevice", vmID=vm_id, params={
        "deviceType": "graphics", "graphicsType": "vnc",
        "password": "t1cket", "ttl": 120,
        "existingConnAction": "disconnect",
        "disconnectAction": "LOCK_SCREEN",
        "consoleDisconnectActionDelay": 0,
        "params": {"userName": "admin@internal",
                   "userId": str(uuid.uuid4()), "fips": "false",
                   "vncUsername": f"vnc-{vm_id}"}})
    readers.string(reply, "vmId", need=True)
    readers.vm_status(readers.string(reply, "status", need=True), "")
    conn = libvirt.open("qemu:///system")
    try:
        xml = conn.lookupByUUIDString(vm_id).XMLDesc(
            libvirt.VIR_DOMAIN_XML_SECURE)
    finally:
        conn.close()
    graphics = ET.fromstring(xml).find("devices/graphics")
    assert graphics is not None and graphics.get("passwd") == "t1cket"
    return True


def console_address(vm: dict) -> int:
    """updateGraphicsInfo: where the engine sends the console client; an
    entry whose port and tlsPort both read as null is not a display."""
    for info in vm.get("displayInfo", []):
        if info["type"] == "vnc":
            port = int(info["port"])
            assert port > 0 and readers.java_type(info["ipAddress"]) == \
                "String", info
            return port
    raise AssertionError(f"no vnc display in {vm.get('displayInfo')}")


def engine_disk(sp: str, sd: str, img: str, vol: str) -> tuple[str, str]:
    """The disk as LibvirtVmXmlBuilder writes it (a path vdsm replaces by
    the prepared one) and its <ovirt-vm:device> metadata.

    Not the engine's: the source's ``<seclabel model='dac'
    relabel='no'/>``. On a real host the volume is vdsm:kvm 0660 and qemu
    reads it through group kvm; the vdsmd of the tests runs as root and
    makes it root's, so libvirt must relabel it for qemu."""
    disk = f"""<disk type='file' device='disk' snapshot='no'>
  <target dev='vda' bus='virtio'/>
  <source file='/rhev/data-center/{sp}/{sd}/images/{img}/{vol}'/>
  <driver name='qemu' io='threads' type='raw' error_policy='stop'
          cache='none'/>
  <alias name='ua-{img}'/><serial>{img}</serial>
</disk>"""
    device = f"""<ovirt-vm:device devtype="disk" name="vda">
  <ovirt-vm:poolID>{sp}</ovirt-vm:poolID>
  <ovirt-vm:volumeID>{vol}</ovirt-vm:volumeID>
  <ovirt-vm:imageID>{img}</ovirt-vm:imageID>
  <ovirt-vm:domainID>{sd}</ovirt-vm:domainID>
</ovirt-vm:device>"""
    return disk, device


def test_steady_cycle_until_destroy(dc_host, guests, env):
    with connect(dc_host) as engine:
        sp, sd = datacenter.create(engine, env.dir())
        try:
            steady_cycle(engine, guests, sp, sd)
        finally:
            datacenter.remove(engine, sp)


def steady_cycle(engine, guests, sp: str, sd: str) -> None:
    # AddDiskCommand: a thin RAW data disk, an SPM task.
    img, vol = datacenter.new_id(), datacenter.new_id()
    datacenter.run_task(engine, engine.rpc(
        "Volume.create", storagepoolID=sp, storagedomainID=sd,
        imageID=img, volumeID=vol, size="67108864", volFormat=5,
        preallocate=2, diskType="DATA", desc="", srcImgUUID=
        datacenter.BLANK, srcVolUUID=datacenter.BLANK, sequence=0))
    disk, device = engine_disk(sp, sd, img, vol)
    vm_id = str(uuid.uuid4())
    xml = guests.xml(vm_id, devices=disk,
                     metadata=ENGINE_METADATA.replace(
                         "</ovirt-vm:vm>", device + "</ovirt-vm:vm>"),
                     cmdline="vdsm.poweroff=3")
    created = engine.rpc("VM.create", vmID=vm_id,
                         vmParams={"vmId": vm_id, "xml": xml})
    # CreateBrokerVDSCommand: buildVMDynamicDataFromList.
    readers.string(created, "vmId", need=True)
    readers.vm_status(readers.string(created, "status", need=True), "")
    assert created["vmId"] == vm_id

    events: list[str] = []
    statuses: list[str] = []
    last_time = -1.0
    last_hash = None
    dumped = 0
    sampled = False
    console = False
    vnc_port = 0
    deadline = time.monotonic() + TIMEOUT
    while True:
        assert time.monotonic() < deadline, statuses
        readers.host_stats(engine.rpc("Host.getStats"))
        all_stats = engine.rpc("Host.getAllVmStats")
        for i, vm in enumerate(all_stats):
            readers.vm_stats(vm, f"[{i}].")
        mine = [vm for vm in all_stats if vm["vmId"] == vm_id]
        assert len(mine) == 1, all_stats
        vm = mine[0]
        when = readers.double(vm, "statusTime", need=True)
        assert when is not None and when >= last_time, (when,
                                                        last_time)
        last_time = when
        if not statuses or statuses[-1] != vm["status"]:
            statuses.append(vm["status"])
        vda = vm.get("disks", {}).get("vda")
        if vm["status"] == "Up" and vda is not None:
            # Sampled. buildVmDiskStatistics: no imageID, no disk
            # statistics (and no actual size of a thin disk).
            sampled = True
            assert vda["imageID"] == img, vda
            assert readers.long(vda, "truesize", need=True) >= 0
        if vm["status"] == "Up" and not console:
            console = open_console(engine, vm_id)
            vnc_port = console_address(vm)
        if vm.get("hash") != last_hash:
            last_hash = vm.get("hash")
            xmls = engine.rpc("Host.dumpxmls", vmList=[vm_id])
            readers.domain_xmls(xmls)
            assert vm_id in xmls[vm_id]
            dumped += 1
        drain_status_events(engine, vm_id, events)
        if vm["status"] == "Down":
            break
        time.sleep(CYCLE)

    # The engine reads the exit info of a Down VM, then destroys it.
    for key in ("exitCode", "exitReason"):
        readers.parse_int(vm, key, need=True)
    readers.string(vm, "exitMessage", need=True)
    engine.rpc("VM.destroy", vmID=vm_id)
    assert vm_id not in [v["vmId"]
                         for v in engine.rpc("Host.getAllVmStats")]
    drain_status_events(engine, vm_id, events)

    assert "Up" in statuses and statuses[-1] == "Down", statuses
    assert sampled, "never saw a sampled Up VM"
    assert console and vnc_port >= 5900
    assert dumped >= 1
    # Launched running: launchPaused "false" read as the engine means it.
    assert "Paused" not in statuses
    assert "Up" in events and "Down" in events, events
