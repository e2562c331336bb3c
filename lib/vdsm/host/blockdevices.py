"""Host.getDeviceList and Host.getDevicesVisibility: the host's LUNs.

As upstream, the block devices a block storage domain can be built on are
the multipath maps: device-mapper devices whose uuid starts with
``mpath-``, named by their WWID (the GUID the manager uses), under
/dev/mapper. Each is read through pyudev (sysfs attributes, and udev's
properties when udevd runs) with its paths (the SCSI disks under it):
for each path its LUN and state, and for iSCSI paths the session (target,
portal, initiator). A host without multipath maps (no multipathd, no
LUNs) has none: an empty list.

Whether a device is free for a new volume group is decided from what is
on it, without writing: a partition table, a holder (an LV, a mount), or
a signature udev identified (ID_FS_TYPE, LVM2_member included; needs
udevd) make it ``used``. pvsize and vgUUID need LVM's metadata, which
only root can read: they are reported empty.
"""

from __future__ import annotations

import enum
import logging
import os
import re
from dataclasses import dataclass, field

import pyudev

log = logging.getLogger("vdsm.host.blockdevices")

MAPPER_DIR = "/dev/mapper"
MPATH_PREFIX = "mpath-"
_SESSION = re.compile(r"/session(\d+)/")
_SECTOR = 512


class DeviceType(enum.Enum):
    ISCSI = "iscsi"
    FCP = "fcp"
    MIXED = "mixed"


class Status(enum.Enum):
    FREE = "free"
    USED = "used"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class IscsiSession:
    target: str
    portal: str        # the target portal group tag
    address: str
    port: str
    initiator: str


@dataclass(frozen=True)
class Path:
    physdev: str
    lun: str
    capacity: int
    kind: DeviceType
    active: bool
    session: IscsiSession | None = None


@dataclass(frozen=True)
class BlockDevice:
    guid: str
    capacity: int
    vendor: str
    product: str
    serial: str
    fwrev: str
    logical_block_size: int
    physical_block_size: int
    discard_max_bytes: int
    pv_uuid: str
    status: Status
    paths: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def kind(self) -> DeviceType:
        kinds = {p.kind for p in self.paths}
        if len(kinds) > 1:
            return DeviceType.MIXED
        return kinds.pop() if kinds else DeviceType.FCP

    @property
    def sessions(self) -> tuple[IscsiSession, ...]:
        found: list[IscsiSession] = []
        for p in self.paths:
            if p.session is not None and p.session not in found:
                found.append(p.session)
        return tuple(found)


def devices(kind: DeviceType | None = None, guids: tuple[str, ...] = (),
            check_status: bool = True,
            context: pyudev.Context | None = None) -> list[BlockDevice]:
    ctx = context or pyudev.Context()
    found = []
    for dev in ctx.list_devices(subsystem="block", DEVTYPE="disk"):
        if not _is_multipath(dev):
            continue
        guid = _attr(dev, "dm/name")
        if guids and guid not in guids:
            continue
        try:
            info = _device(ctx, dev, guid, check_status)
        except OSError as e:
            # A map removed while we read it.
            log.warning("SKIP device=%s reason=%s", guid, e)
            continue
        if kind is None or info.kind == kind or info.kind == \
                DeviceType.MIXED:
            found.append(info)
    return found


def visible(guids: list[str], mapper_dir: str = MAPPER_DIR
            ) -> dict[str, bool]:
    """Whether each GUID has its device node, readable by its owner."""
    result = {}
    for guid in guids:
        try:
            st = os.stat(os.path.join(mapper_dir, guid))
        except FileNotFoundError:
            result[guid] = False
        else:
            result[guid] = bool(st.st_mode & 0o400)
    return result


def _is_multipath(dev: pyudev.Device) -> bool:
    uuid = dev.properties.get("DM_UUID") or _attr(dev, "dm/uuid")
    return uuid.startswith(MPATH_PREFIX)


def _device(ctx: pyudev.Context, dev: pyudev.Device, guid: str,
            check_status: bool) -> BlockDevice:
    slaves = _listdir(os.path.join(dev.sys_path, "slaves"))
    paths = tuple(_path(pyudev.Devices.from_name(ctx, "block", name))
                  for name in slaves)
    first = pyudev.Devices.from_name(ctx, "block", slaves[0]) \
        if slaves else dev
    return BlockDevice(
        guid=guid,
        capacity=_int(dev, "size") * _SECTOR,
        vendor=_scsi_attr(first, "vendor"),
        product=_scsi_attr(first, "model"),
        serial=dev.properties.get("ID_SCSI_SERIAL",
                                  first.properties.get("ID_SERIAL_SHORT",
                                                       "")),
        fwrev=_scsi_attr(first, "rev"),
        logical_block_size=_int(dev, "queue/logical_block_size"),
        physical_block_size=_int(dev, "queue/physical_block_size"),
        discard_max_bytes=_int(dev, "queue/discard_max_bytes"),
        pv_uuid=_pv_uuid(dev),
        status=_status(dev) if check_status else Status.UNKNOWN,
        paths=paths)


def _path(dev: pyudev.Device) -> Path:
    scsi = dev.find_parent("scsi", "scsi_device")
    lun = scsi.sys_name.rsplit(":", 1)[-1] if scsi is not None else "0"
    session = _session(dev.sys_path)
    kind = DeviceType.ISCSI if session else DeviceType.FCP
    state = _attr(scsi, "state") if scsi is not None else "running"
    return Path(physdev=dev.sys_name, lun=lun,
                capacity=_int(dev, "size") * _SECTOR, kind=kind,
                active=state == "running", session=session)


def _session(sys_path: str) -> IscsiSession | None:
    m = _SESSION.search(os.path.realpath(sys_path))
    if not m:
        return None
    base = f"/sys/class/iscsi_session/session{m.group(1)}"
    conn = f"/sys/class/iscsi_connection/connection{m.group(1)}:0"
    return IscsiSession(
        target=_read(base, "targetname"), portal=_read(base, "tpgt"),
        address=_read(conn, "persistent_address"),
        port=_read(conn, "persistent_port"),
        initiator=_read(base, "initiatorname"))


def _status(dev: pyudev.Device) -> Status:
    if _listdir(os.path.join(dev.sys_path, "holders")):
        return Status.USED
    if any(child.device_type == "partition" for child in dev.children):
        return Status.USED
    if dev.properties.get("ID_FS_TYPE") or dev.properties.get(
            "ID_PART_TABLE_TYPE"):
        return Status.USED
    return Status.FREE


def _pv_uuid(dev: pyudev.Device) -> str:
    if dev.properties.get("ID_FS_TYPE") == "LVM2_member":
        return dev.properties.get("ID_FS_UUID", "")
    return ""


def _scsi_attr(dev: pyudev.Device, name: str) -> str:
    return _read(os.path.join(dev.sys_path, "device"), name)


def _attr(dev: pyudev.Device, name: str) -> str:
    return _read(dev.sys_path, name)


def _int(dev: pyudev.Device, name: str) -> int:
    value = _attr(dev, name)
    return int(value) if value.isdigit() else 0


def _read(base: str, name: str) -> str:
    try:
        with open(os.path.join(base, name)) as f:
            return f.read().strip()
    except OSError:
        return ""


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []
