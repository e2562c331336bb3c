"""Host.getDeviceList and Host.getDevicesVisibility: the host's LUNs in
upstream's wire form (sizes as strings of bytes, as upstream sends)."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.common.exception import InvalidParameter
from vdsm.host.blockdevices import BlockDevice, DeviceType

# What the engine sends (its StorageType numbers) and upstream's names.
_TYPES: dict[Any, DeviceType | None] = {
    None: None, 0: None, 2: DeviceType.FCP, 3: DeviceType.ISCSI,
    "FCP": DeviceType.FCP, "iSCSI": DeviceType.ISCSI,
    "ISCSI": DeviceType.ISCSI, "MIXED": DeviceType.MIXED}


# Upstream's BlockDeviceType names.
_WIRE_TYPES = {DeviceType.ISCSI: "iSCSI", DeviceType.FCP: "FCP",
               DeviceType.MIXED: "MIXED"}


@verb("Host.getDeviceList")
def get_device_list(ctx: CallContext, storageType: Any, guids: list[str],
                    checkStatus: bool, refresh: bool) -> list[dict]:
    if (isinstance(storageType, bool)
            or not isinstance(storageType, (int, str, type(None)))
            or storageType not in _TYPES):
        raise InvalidParameter("storageType must be 2 (FCP), 3 (iSCSI) "
                               "or a BlockDeviceType",
                               storageType=storageType)
    found = ctx.services.host.block_devices(_TYPES[storageType],
                                            tuple(guids), checkStatus)
    return [device_info(d) for d in found]


@verb("Host.getDevicesVisibility")
def get_devices_visibility(ctx: CallContext,
                           guidList: list[str]) -> dict[str, bool]:
    return ctx.services.host.devices_visible(guidList)


def device_info(dev: BlockDevice) -> dict[str, Any]:
    return {
        "GUID": dev.guid,
        "capacity": str(dev.capacity),
        "devtype": _WIRE_TYPES[dev.kind],
        "fwrev": dev.fwrev,
        "logicalblocksize": str(dev.logical_block_size),
        "physicalblocksize": str(dev.physical_block_size),
        "pathlist": [{"connection": s.address, "port": s.port,
                      "iqn": s.target, "portal": s.portal,
                      "initiatorname": s.initiator}
                     for s in dev.sessions],
        "pathstatus": [{"physdev": p.physdev, "lun": p.lun,
                        "capacity": str(p.capacity),
                        "type": _WIRE_TYPES[p.kind],
                        "state": "active" if p.active else "failed"}
                       for p in dev.paths],
        "productID": dev.product,
        "vendorID": dev.vendor,
        "serial": dev.serial,
        "pvUUID": dev.pv_uuid,
        "pvsize": "",
        "vgUUID": "",
        "status": dev.status.value,
        "discard_max_bytes": dev.discard_max_bytes,
        "discard_zeroes_data": 0,
    }
