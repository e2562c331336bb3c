"""VM disks from storage: prepared at VM start, torn down at destroy.

A disk of a VM names its volume in the VM's metadata, as upstream's
manager writes it::

    <ovirt-vm:device devtype="disk" name="vda">
        <ovirt-vm:poolID>..</ovirt-vm:poolID>
        <ovirt-vm:domainID>..</ovirt-vm:domainID>
        <ovirt-vm:imageID>..</ovirt-vm:imageID>
        <ovirt-vm:volumeID>..</ovirt-vm:volumeID>
    </ovirt-vm:device>

``prepare(root)`` turns each such device once into a ``Drive`` (path,
format, chain) with ``ImageOps.prepare``, points the
matching ``<disk>`` (``<target dev=name>``) at the prepared path and
format, and records the chain in the device metadata
(``<ovirt-vm:volumeChain>`` of ``<ovirt-vm:volumeChainNode>``, upstream's
names). ``teardown(root)`` undoes it. Both are no-ops for disks that do
not come from storage and on hosts without a storage subsystem.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from vdsm.common.exception import CannotCreateVM
from vdsm.storage import constants as sc
from vdsm.storage.hostpools import HostPools
from vdsm.storage.imagedir import Drive
from vdsm.storage.imageops import ImageOps
from vdsm.storage.volume import VolumeInfo

log = logging.getLogger("vdsm.storage.vmdisks")

NS = "http://ovirt.org/vm/1.0"


@dataclass(frozen=True)
class DiskIds:
    """The volume a VM disk names in the VM's metadata."""

    pool_id: str
    sd_id: str
    img_id: str
    vol_id: str


# The metadata's element names (upstream's, in the libvirt domain XML).
_ELEMENTS = {"pool_id": "poolID", "sd_id": "domainID", "img_id": "imageID",
             "vol_id": "volumeID"}


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def storage_disks(root: ET.Element) -> list[tuple[ET.Element, DiskIds]]:
    """(metadata device, ids) of each disk that names a volume."""
    out = []
    for dev in root.findall(f"metadata/{_q('vm')}/{_q('device')}"):
        if dev.get("devtype") != "disk":
            continue
        ids = {field: (dev.findtext(_q(element)) or "").strip()
               for field, element in _ELEMENTS.items()}
        if all(ids.values()):
            out.append((dev, DiskIds(**ids)))
    return out


class VmDisks:
    """The hook virt calls; no pools and images: a host without storage."""

    def __init__(self, pools: HostPools | None,
                 images: ImageOps | None = None) -> None:
        self._pools = pools
        self._images = images

    def prepare_image(self, pool_id: str, sd_id: str, img_id: str,
                      vol_id: str) -> Drive:
        """Prepare a VM disk; the Drive has path, format and chain.

        pool_id is checked when this host is connected to a pool (the
        domain must be one of its active domains); a host without a pool
        may still run VMs from connected domains.
        """
        assert self._pools is not None and self._images is not None
        if self._pools.connected():
            # Named in an error as the VM's metadata names it.
            self._pools.get(pool_id).domain(
                sc.check_uuid(sd_id, _ELEMENTS["sd_id"]))
        return self._images.prepare(sd_id, img_id, vol_id)

    def teardown_image(self, sd_id: str, img_id: str,
                       vol_id: str | None = None) -> None:
        assert self._images is not None
        self._images.teardown(sd_id, img_id, vol_id)

    def sync_chain(self, sd_id: str, img_id: str, chain: list[str],
                   removed: list[str]) -> None:
        """Volume metadata after a live merge: chain (base first) is what
        qemu runs on now; removed volumes left it and become ILLEGAL, for
        the manager to delete (upstream's imageSyncVolumeChain)."""
        assert self._images is not None
        self._images.sync_chain(sd_id, img_id, chain, removed)

    def volume_info(self, sd_id: str, img_id: str,
                    vol_id: str) -> VolumeInfo:
        assert self._images is not None
        return self._images.volume_info(sd_id, img_id, vol_id)

    def set_capacity(self, sd_id: str, img_id: str, vol_id: str,
                     capacity: int) -> None:
        """Record the capacity qemu gave a volume of a running VM."""
        assert self._images is not None
        self._images.set_capacity(sd_id, img_id, vol_id, capacity)

    def prepare(self, root: ET.Element) -> list[Drive]:
        disks = storage_disks(root)
        if not disks:
            return []
        if self._images is None:
            raise CannotCreateVM("disks need storage; none on this host")
        drives: list[Drive] = []
        try:
            for dev, ids in disks:
                drive = self.prepare_image(ids.pool_id, ids.sd_id,
                                           ids.img_id, ids.vol_id)
                drives.append(drive)
                _point_disk(root, dev.get("name") or "", drive)
                _record_chain(dev, drive)
        except Exception:
            self._teardown(drives)
            raise
        return drives

    def teardown(self, root: ET.Element | None) -> None:
        if root is None:
            return
        if self._images is None:
            return
        for _, ids in storage_disks(root):
            try:
                self.teardown_image(ids.sd_id, ids.img_id, ids.vol_id)
            except Exception as e:
                log.warning("TEARDOWN img=%s error=%s", ids.img_id, e)

    def _teardown(self, drives: list[Drive]) -> None:
        for d in drives:
            try:
                self.teardown_image(d.sd_id, d.img_id, d.vol_id)
            except Exception as e:
                log.warning("TEARDOWN img=%s error=%s", d.img_id, e)


def _point_disk(root: ET.Element, name: str, drive: Drive) -> None:
    for disk in root.findall("devices/disk"):
        target = disk.find("target")
        if target is not None and target.get("dev") == name:
            break
    else:
        raise CannotCreateVM(f"no <disk> with target {name} for its "
                             "storage metadata")
    disk.set("type", "file")
    source = disk.find("source")
    if source is None:
        source = ET.SubElement(disk, "source")
    source.attrib.clear()
    source.set("file", drive.path)
    driver = disk.find("driver")
    if driver is None:
        driver = ET.SubElement(disk, "driver", name="qemu")
    driver.set("type", drive.format)


def _record_chain(dev: ET.Element, drive: Drive) -> None:
    old = dev.find(_q("volumeChain"))
    if old is not None:
        dev.remove(old)
    chain = ET.SubElement(dev, _q("volumeChain"))
    for entry in drive.chain:
        node = ET.SubElement(chain, _q("volumeChainNode"))
        for key, value in (("domainID", entry.sd_id),
                           ("imageID", entry.img_id),
                           ("volumeID", entry.vol_id),
                           ("path", entry.path),
                           ("leasePath", entry.lease_path),
                           ("leaseOffset", str(entry.lease_offset))):
            ET.SubElement(node, _q(key)).text = value


def set_leaf(dev: ET.Element, drive: Drive) -> None:
    """Name drive (its volume and chain) in the disk's device metadata."""
    vol = dev.find(_q("volumeID"))
    if vol is None:
        vol = ET.SubElement(dev, _q("volumeID"))
    vol.text = drive.vol_id
    _record_chain(dev, drive)


def chain_of(dev: ET.Element) -> list[str]:
    """The volume ids of the device's recorded chain, base first."""
    return [(n.findtext(_q("volumeID")) or "").strip()
            for n in dev.iter(_q("volumeChainNode"))]


def drop_from_chain(dev: ET.Element, vol_id: str, leaf: str) -> None:
    """Remove vol_id from the recorded chain; leaf is the new volumeID."""
    chain = dev.find(_q("volumeChain"))
    if chain is not None:
        for node in list(chain):
            if (node.findtext(_q("volumeID")) or "").strip() == vol_id:
                chain.remove(node)
    vol = dev.find(_q("volumeID"))
    if vol is not None:
        vol.text = leaf
