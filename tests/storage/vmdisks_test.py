"""VM disks from storage: the whole flow with a real guest.

connect, create domain, create pool, spmStart, create a volume and a
snapshot on it, start a VM from it (prepared at VM.create), destroy it
(torn down), copy the image, delete. Through a real vdsmd, libvirtd and
qemu (TCG), sanlock and qemu-img.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest

from fixtures.virt import StatusEvents
from storage.api_test import (create_volume, error_code, ok, overrides,
                              setup_pool, teardown_pool, vol_args)
from storage.storagefixtures import make_pool, new_id
from storage.volume_test import create

from vdsm.common.exception import CannotCreateVM
from vdsm.storage import constants as sc
from vdsm.storage import errors

from vdsm.storage import vmdisks

pytestmark = pytest.mark.root

DISK = """<disk type='file' device='disk'>
  <driver name='qemu' type='raw'/><source file='/to/be/prepared'/>
  <target dev='vda' bus='virtio'/></disk>"""


def disk_metadata(sp, sd, img, vol):
    return ("<ovirt-vm:vm xmlns:ovirt-vm='http://ovirt.org/vm/1.0'>"
            "<ovirt-vm:device devtype='disk' name='vda'>"
            f"<ovirt-vm:poolID>{sp}</ovirt-vm:poolID>"
            f"<ovirt-vm:domainID>{sd}</ovirt-vm:domainID>"
            f"<ovirt-vm:imageID>{img}</ovirt-vm:imageID>"
            f"<ovirt-vm:volumeID>{vol}</ovirt-vm:volumeID>"
            "</ovirt-vm:device></ovirt-vm:vm>")


@pytest.fixture
def repository():
    # qemu (not root) must reach the prepared paths through the links.
    path = tempfile.mkdtemp(prefix="vdsm-repo-", dir="/var/tmp")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_vm_from_storage_whole_flow(env, vdsmd_factory, guests,
                                    repository):
    conf = overrides(env)
    conf["irs"]["repository"] = repository
    # Prepared paths are links in the run dir, which qemu must traverse
    # (the daemon's default run dir, in pytest's, is private to root).
    conf["vars"] = {"vm_sample_interval": "1",
                    "run_dir": os.path.join(repository, "run")}
    vdsmd = vdsmd_factory(conf)
    with vdsmd.client() as cli:
        sp, sd = setup_pool(cli, env.dir())
        img, base, top = new_id(), new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img, base))
        ok(cli, create_volume(cli, sp, sd, img, top, parent=base))
        prepared = cli.Image.prepare(**vol_args(sp, sd, img, top))

        events = StatusEvents(cli.subscribe())
        vm_id = str(uuid.uuid4())
        cli.VM.create(vmID=vm_id, vmParams={"xml": guests.xml(
            vm_id, devices=DISK, metadata=disk_metadata(sp, sd, img, top))})
        events.wait(vm_id, "Up")
        conn = libvirt.open("qemu:///system")
        try:
            dom = conn.lookupByUUIDString(vm_id)
            root = ET.fromstring(dom.XMLDesc(0))
        finally:
            conn.close()
        disk = root.find("devices/disk")
        assert disk.find("source").get("file") == prepared["path"]
        assert disk.find("driver").get("type") == "qcow2"
        [(dev, ids)] = vmdisks.storage_disks(root)
        assert ids.vol_id == top
        chain = [n.findtext(f"{{{vmdisks.NS}}}volumeID") for n in dev.iter(
            f"{{{vmdisks.NS}}}volumeChainNode")]
        assert chain == [base, top]
        cli.VM.destroy(vmID=vm_id)

        # A VM naming a volume that does not exist is refused, code 201.
        bad = str(uuid.uuid4())
        assert error_code(cli.VM.create, vmID=bad, vmParams={
            "xml": guests.xml(bad, devices=DISK, metadata=disk_metadata(
                sp, sd, img, new_id()))}) == 201

        # Copy the image's data to a new volume, then delete everything.
        img2, vol2 = new_id(), new_id()
        ok(cli, create_volume(cli, sp, sd, img2, vol2))
        job = new_id()
        cli.SDM.copy_data(job_id=job, source={
            "endpoint_type": "div", "sd_id": sd, "img_id": img,
            "vol_id": top}, destination={
            "endpoint_type": "div", "sd_id": sd, "img_id": img2,
            "vol_id": vol2})
        ok(cli, job)
        for image in (img, img2):
            ok(cli, cli.Image.delete(imageID=image, storagepoolID=sp,
                                     storagedomainID=sd, postZero="false",
                                     force="false"))
        assert cli.StorageDomain.getImages(storagedomainID=sd) == []
        teardown_pool(cli, sp)


def domain_xml(metadata, devices=DISK):
    return ET.fromstring(f"""<domain type='qemu'><uuid>{new_id()}</uuid>
<metadata>{metadata}</metadata><devices>{devices}</devices></domain>""")


def test_prepare_points_disk_and_records_chain(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    img = new_id()
    base = create(svc, sp, sd, img, fmt=sc.COW_FORMAT)
    top = create(svc, sp, sd, img, fmt=sc.COW_FORMAT, parent=base)
    root = domain_xml(disk_metadata(sp, sd, img, top))
    disks = svc.disks
    [drive] = disks.prepare(root)
    disk = root.find("devices/disk")
    assert disk.find("source").get("file") == drive.path
    assert disk.find("driver").get("type") == "qcow2"
    [(dev, _)] = vmdisks.storage_disks(root)
    paths = [n.findtext(f"{{{vmdisks.NS}}}path")
             for n in dev.iter(f"{{{vmdisks.NS}}}volumeChainNode")]
    assert paths == [c.path for c in drive.chain]
    disks.teardown(root)
    # Bad references: nothing is changed in the XML.
    for md, error in [
            (disk_metadata(sp, sd, img, new_id()),
             errors.VolumeDoesNotExist),
            (disk_metadata(sp, new_id(), img, top),
             errors.StorageDomainNotInPool),
            (disk_metadata(sp, sd, img, top).replace("'vda'", "'vdz'"),
             CannotCreateVM)]:
        root = domain_xml(md)
        with pytest.raises(error):
            disks.prepare(root)
        assert root.find("devices/disk/source").get("file") == \
            "/to/be/prepared"


def test_no_storage_disks_is_a_no_op():
    root = domain_xml("", devices="")
    assert vmdisks.VmDisks(None).prepare(root) == []
    vmdisks.VmDisks(None).teardown(root)
    with pytest.raises(CannotCreateVM):
        vmdisks.VmDisks(None).prepare(domain_xml(disk_metadata(
            new_id(), new_id(), new_id(), new_id())))
