"""Host.getDeviceList / getDevicesVisibility against a real vdsmd.

The devices are multipath maps (device-mapper devices with an mpath-
uuid). Where the kernel has device-mapper, a map is made for real with
dmsetup over a loop device (as multipathd would make one, with a loop
device as its only path); where it has none, the host has no map and the
list must be empty.
"""

from __future__ import annotations

import glob
import os
import subprocess

import pytest

from vdsm.api import host_blockdevices
from vdsm.client import ServerError
from vdsm.host import blockdevices

WWID = "36001405a0b1c2d3e4f5a6b7c8d9e0f11"


def _host_maps() -> set[str]:
    maps = set()
    for path in glob.glob("/sys/block/dm-*/dm/uuid"):
        with open(path) as f:
            if f.read().startswith("mpath-"):
                with open(os.path.join(os.path.dirname(path), "name")) as n:
                    maps.add(n.read().strip())
    return maps


def _dm_usable() -> bool:
    res = subprocess.run(["dmsetup", "version"], capture_output=True)
    return res.returncode == 0


def test_list_is_the_hosts_multipath_maps(vdsmd):
    with vdsmd.client() as cli:
        devices = cli.Host.getDeviceList(storageType=3, checkStatus=False)
        everything = cli.Host.getDeviceList()
    assert {d["GUID"] for d in everything} == _host_maps()
    assert {d["GUID"] for d in devices} <= _host_maps()


def test_visibility_of_absent_device(vdsmd):
    with vdsmd.client() as cli:
        assert cli.Host.getDevicesVisibility(guidList=[WWID]) == {
            WWID: os.path.exists(f"/dev/mapper/{WWID}")}


def test_bad_storage_type(vdsmd):
    with vdsmd.client() as cli:
        for bad in (7, "NFS", True):
            with pytest.raises(ServerError) as e:
                cli.Host.getDeviceList(storageType=bad)
            assert e.value.code == 1000


@pytest.fixture
def multipath_map(tmp_path):
    if os.geteuid() != 0 or not _dm_usable():
        pytest.skip("no device-mapper in this kernel")
    image = tmp_path / "lun.img"
    image.write_bytes(b"")
    os.truncate(image, 64 * 1024 * 1024)
    loop = subprocess.run(["losetup", "--find", "--show", str(image)],
                          check=True, capture_output=True,
                          text=True).stdout.strip()
    try:
        subprocess.run(["dmsetup", "create", "--noudevsync", WWID,
                        "--uuid", f"mpath-{WWID}", "--table",
                        f"0 131072 linear {loop} 0"], check=True)
        try:
            yield os.path.basename(loop)
        finally:
            subprocess.run(["dmsetup", "remove", "--noudevsync", WWID],
                           check=False)
    finally:
        subprocess.run(["losetup", "--detach", loop], check=False)


def test_real_map(vdsmd, multipath_map):
    with vdsmd.client() as cli:
        [dev] = [d for d in cli.Host.getDeviceList(guids=[WWID])]
        assert dev["GUID"] == WWID
        assert dev["capacity"] == str(64 * 1024 * 1024)
        assert dev["logicalblocksize"] == "512"
        assert dev["status"] == "free"
        assert [p["physdev"] for p in dev["pathstatus"]] == [multipath_map]
        assert dev["pathstatus"][0]["state"] == "active"
        # A loop path is no iSCSI session: not an iSCSI device.
        assert dev["devtype"] == "FCP"
        assert cli.Host.getDeviceList(storageType=3, guids=[WWID]) == []
        assert cli.Host.getDeviceList(guids=[WWID], checkStatus=False)[0][
            "status"] == "unknown"
        assert cli.Host.getDevicesVisibility(guidList=[WWID]) == {
            WWID: True}


def test_wire_shape():
    session = blockdevices.IscsiSession(
        target="iqn.2003-01.org.linux-iscsi.target:lun1", portal="1",
        address="192.0.2.10", port="3260",
        initiator="iqn.1993-08.org.debian:01:5d581cf3589")
    path = blockdevices.Path(physdev="sdb", lun="3", capacity=1 << 30,
                             kind=blockdevices.DeviceType.ISCSI,
                             active=True, session=session)
    dev = blockdevices.BlockDevice(
        guid=WWID, capacity=1 << 30, vendor="LIO-ORG", product="lun1",
        serial="abc", fwrev="4.0", logical_block_size=512,
        physical_block_size=4096, discard_max_bytes=0, pv_uuid="",
        status=blockdevices.Status.FREE, paths=(path, path))
    wire = host_blockdevices.device_info(dev)
    assert wire["devtype"] == "iSCSI"
    assert wire["capacity"] == str(1 << 30)
    assert wire["pathlist"] == [{
        "connection": "192.0.2.10", "port": "3260",
        "iqn": "iqn.2003-01.org.linux-iscsi.target:lun1", "portal": "1",
        "initiatorname": "iqn.1993-08.org.debian:01:5d581cf3589"}]
    assert wire["pathstatus"][0] == {"physdev": "sdb", "lun": "3",
                                     "capacity": str(1 << 30),
                                     "type": "iSCSI", "state": "active"}
