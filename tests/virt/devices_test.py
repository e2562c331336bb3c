"""Hotplug and unplug on a booted guest, seen in XML, metadata and stats."""

from __future__ import annotations

import subprocess
import uuid

import libvirt
import pytest

from fixtures.virt import StatusEvents, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.root]

NS = "http://ovirt.org/vm/1.0"


def domain_xml(vm_id: str, flags: int = 0) -> str:
    conn = libvirt.open("qemu:///system")
    try:
        return conn.lookupByUUIDString(vm_id).XMLDesc(flags)
    finally:
        conn.close()


def booted(cli, guests, devices: str = "") -> str:
    events = StatusEvents(cli.subscribe())
    vm_id = str(uuid.uuid4())
    cli.VM.create(vmID=vm_id, vmParams={"xml": guests.xml(
        vm_id, devices=devices)})
    events.wait(vm_id, "Up")
    guests.wait_ready(vm_id)
    return vm_id


def stats(cli, vm_id):
    return cli.VM.getStats(vmID=vm_id)[0]


def test_hotplug_and_unplug_disk(virt_vdsmd, guests):
    image = f"{guests.tmp_dir}/extra.img"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", image, "64M"],
                   check=True)
    alias = f"ua-{uuid.uuid4()}"
    plug = f"""<hotplug><devices>
      <disk type='file' device='disk'><driver name='qemu' type='raw'/>
        <source file='{image}'/><target dev='vdb' bus='virtio'/>
        <alias name='{alias}'/></disk></devices>
      <metadata xmlns:ovirt-vm='{NS}'><ovirt-vm:vm>
        <ovirt-vm:device devtype='disk' name='vdb'>
          <ovirt-vm:imageID>image-1</ovirt-vm:imageID>
        </ovirt-vm:device></ovirt-vm:vm></metadata></hotplug>"""
    with virt_vdsmd.client() as cli:
        vm_id = booted(cli, guests)
        hash_before = stats(cli, vm_id)["hash"]

        info = cli.VM.hotplugDisk(vmID=vm_id, params={"xml": plug})
        assert "dev='vdb'" in info["xml"] or 'dev="vdb"' in info["xml"]
        # In the persistent definition and in the metadata already.
        persistent = domain_xml(vm_id, libvirt.VIR_DOMAIN_XML_INACTIVE)
        assert image in persistent
        assert "image-1" in persistent
        wait_for(lambda: "vdb" in stats(cli, vm_id)["disks"], 30,
                 "vdb in stats")
        assert stats(cli, vm_id)["hash"] != hash_before

        unplug = (f"<hotunplug><devices><disk><alias name='{alias}'/>"
                  "</disk></devices></hotunplug>")
        info = cli.VM.hotunplugDisk(vmID=vm_id, params={"xml": unplug})
        assert image not in info["xml"]
        assert image not in domain_xml(vm_id)
        persistent = domain_xml(vm_id, libvirt.VIR_DOMAIN_XML_INACTIVE)
        assert image not in persistent and "image-1" not in persistent
        wait_for(lambda: "vdb" not in stats(cli, vm_id)["disks"], 30,
                 "vdb gone from stats")
        assert stats(cli, vm_id)["hash"] == hash_before
        cli.VM.destroy(vmID=vm_id)


def test_hotplug_and_unplug_nic(virt_vdsmd, guests):
    mac = "52:54:00:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3])
    nic = (f"<interface type='ethernet'><mac address='{mac}'/>"
           "<model type='virtio'/></interface>")
    with virt_vdsmd.client() as cli:
        vm_id = booted(cli, guests)
        assert stats(cli, vm_id)["network"] == {}
        info = cli.VM.hotplugNic(vmID=vm_id, params={"xml": nic})
        assert mac in info["xml"]
        assert mac in domain_xml(vm_id, libvirt.VIR_DOMAIN_XML_INACTIVE)
        nics = wait_for(lambda: stats(cli, vm_id)["network"], 30,
                        "nic in stats")
        assert len(nics) == 1
        assert "rxRate" in next(iter(nics.values()))

        cli.VM.hotunplugNic(vmID=vm_id, params={
            "xml": f"<interface><mac address='{mac}'/></interface>"})
        assert mac not in domain_xml(vm_id)
        assert mac not in domain_xml(vm_id, libvirt.VIR_DOMAIN_XML_INACTIVE)
        wait_for(lambda: stats(cli, vm_id)["network"] == {}, 30,
                 "nic gone from stats")
        cli.VM.destroy(vmID=vm_id)


def test_change_cd(virt_vdsmd, guests):
    iso = f"{guests.tmp_dir}/medium.iso"
    with open(iso, "wb") as f:
        f.write(b"\0" * 2048 * 16)
    cdrom = ("<disk type='file' device='cdrom'><driver name='qemu'/>"
             "<target dev='hdc' bus='ide'/><readonly/></disk>")
    with virt_vdsmd.client() as cli:
        vm_id = booted(cli, guests, devices=cdrom)
        info = cli.VM.changeCD(vmID=vm_id, driveSpec=iso)
        assert iso in info["xml"] and iso in domain_xml(vm_id)
        info = cli.VM.changeCD(vmID=vm_id, driveSpec={"path": ""})
        assert iso not in domain_xml(vm_id)
        cli.VM.destroy(vmID=vm_id)
