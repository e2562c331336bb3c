"""Host hardware identity: DMI (SMBIOS) fields and the host UUID.

The kernel exports DMI strings under /sys/class/dmi/id. Some are readable
by root only (product_serial, product_uuid) and virtual machines without
SMBIOS (microVMs) have none at all: a field that cannot be read is left
out of the result, never invented.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from vdsm.host import procfs

log = logging.getLogger("vdsm.host.hardware")

DMI_DIR = "/sys/class/dmi/id"
VDSM_ID = "/etc/vdsm/vdsm.id"
MACHINE_ID = "/etc/machine-id"

# HardwareInfo field -> file under DMI_DIR.
DMI_FIELDS = {
    "manufacturer": "sys_vendor",
    "product_name": "product_name",
    "version": "product_version",
    "serial_number": "product_serial",
    "uuid": "product_uuid",
    "family": "product_family",
}


@dataclass(frozen=True)
class HardwareInfo:
    """The DMI system fields; None where unreadable or a placeholder."""
    manufacturer: str | None = None
    product_name: str | None = None
    version: str | None = None
    serial_number: str | None = None
    uuid: str | None = None
    family: str | None = None


# Placeholders firmware vendors put in fields they did not fill.
_PLACEHOLDERS = {"", "none", "not specified", "not settable",
                 "not applicable", "to be filled by o.e.m.",
                 "default string", "system serial number"}


def hardware_info(dmi_dir: str = DMI_DIR) -> HardwareInfo:
    """The DMI fields that are readable and real."""
    return HardwareInfo(**{name: _read_dmi(f"{dmi_dir}/{file_name}")
                           for name, file_name in DMI_FIELDS.items()})


def _read_dmi(path: str) -> str | None:
    try:
        value = procfs.read(path).strip()
    except (OSError, UnicodeDecodeError):
        return None
    if value.lower() in _PLACEHOLDERS:
        return None
    return value


def host_uuid(vdsm_id: str = VDSM_ID, dmi_dir: str = DMI_DIR,
              machine_id: str = MACHINE_ID) -> str:
    """The id the manager knows this host by.

    An administrator's /etc/vdsm/vdsm.id wins (as upstream); then the
    SMBIOS system UUID; then systemd's machine id, which is stable for the
    installation and unique, written in UUID form. Raises OSError when
    none exists.
    """
    try:
        text = procfs.read(vdsm_id).strip()
    except FileNotFoundError:
        text = ""
    if text:
        return text
    dmi = _read_dmi(f"{dmi_dir}/product_uuid")
    if dmi and _is_real_uuid(dmi):
        return dmi.lower()
    return str(uuid.UUID(procfs.read(machine_id).strip()))


def _is_real_uuid(text: str) -> bool:
    try:
        value = uuid.UUID(text)
    except ValueError:
        return False
    # All-zero and all-F UUIDs are firmware placeholders.
    return value.int not in (0, (1 << 128) - 1)
