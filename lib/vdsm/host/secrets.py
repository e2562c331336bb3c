"""libvirt secrets the manager registers for VMs (Ceph/RBD disks, LUNs).

Host.registerSecrets defines each secret in libvirt, ephemeral and
private (kept in libvirtd's memory only, its value never readable back),
with the usage the disk XML refers to: ``ceph`` (usage name), ``volume``
or ``iscsi`` (usage target). oVirt's usage ids start with ``ovirt/``;
``clear`` removes every other oVirt secret, so after activation the host
holds exactly the manager's set. A secret registered again under another
usage id replaces the old one. All secrets are checked before any is
defined: a malformed one changes nothing.
"""

from __future__ import annotations

import logging
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Iterable

import libvirt

from vdsm.host import errors

log = logging.getLogger("vdsm.host.secrets")

URI = "qemu:///system"
OVIRT_PREFIX = "ovirt/"
# usage type -> the element naming the usage in libvirt's secret XML.
USAGE_ELEMENTS = {"ceph": "name", "volume": "volume", "iscsi": "target"}


def usage_types() -> list[str]:
    return sorted(USAGE_ELEMENTS)


@dataclass(frozen=True)
class Secret:
    uuid: str
    usage_type: str
    usage_id: str
    value: bytes
    description: str | None = None

    def __str__(self) -> str:
        # Never the value.
        return (f"secret={self.uuid} usage_type={self.usage_type} "
                f"usage_id={self.usage_id}")


def secret_xml(sec: Secret) -> str:
    root = ET.Element("secret", ephemeral="yes", private="yes")
    if sec.description:
        ET.SubElement(root, "description").text = sec.description
    ET.SubElement(root, "uuid").text = sec.uuid
    usage = ET.SubElement(root, "usage", type=sec.usage_type)
    ET.SubElement(usage, USAGE_ELEMENTS[sec.usage_type]).text = sec.usage_id
    return ET.tostring(root, encoding="unicode")


def register(secrets: list[Secret], clear: bool = False) -> None:
    con = _open(errors.SecretRegistrationFailed)
    try:
        for sec in secrets:
            try:
                _define(con, sec)
            except libvirt.libvirtError as e:
                raise errors.SecretRegistrationFailed(
                    str(e), secret=sec.uuid) from None
            log.info("REGISTER %s", sec)
        if clear:
            keep = {sec.uuid for sec in secrets}
            for old in con.listAllSecrets():
                if old.UUIDString() not in keep and _is_ovirt(old):
                    _undefine(old, errors.SecretRegistrationFailed)
    finally:
        con.close()


def unregister(uuids: Iterable[str]) -> None:
    try:
        wanted = [str(uuid.UUID(u)) for u in uuids]
    except ValueError as e:
        raise errors.BadSecretRequest(str(e)) from None
    con = _open(errors.SecretUnregistrationFailed)
    try:
        for sec_uuid in wanted:
            try:
                old = con.secretLookupByUUIDString(sec_uuid)
            except libvirt.libvirtError as e:
                if e.get_error_code() == libvirt.VIR_ERR_NO_SECRET:
                    log.info("UNREGISTER secret=%s absent", sec_uuid)
                    continue
                raise errors.SecretUnregistrationFailed(
                    str(e), secret=sec_uuid) from None
            _undefine(old, errors.SecretUnregistrationFailed)
    finally:
        con.close()


def _define(con: libvirt.virConnect, sec: Secret) -> None:
    try:
        old = con.secretLookupByUUIDString(sec.uuid)
    except libvirt.libvirtError as e:
        if e.get_error_code() != libvirt.VIR_ERR_NO_SECRET:
            raise
    else:
        if old.usageID() != sec.usage_id:
            old.undefine()
    con.secretDefineXML(secret_xml(sec)).setValue(sec.value)


def _undefine(old: libvirt.virSecret,
              error: type[errors.SecretRegistrationFailed]
              | type[errors.SecretUnregistrationFailed]) -> None:
    name = old.UUIDString()
    try:
        old.undefine()
    except libvirt.libvirtError as e:
        raise error(str(e), secret=name) from None
    log.info("UNREGISTER secret=%s", name)


def _is_ovirt(sec: libvirt.virSecret) -> bool:
    return (sec.usageID() or "").startswith(OVIRT_PREFIX)


def _open(error: type[errors.SecretRegistrationFailed]
          | type[errors.SecretUnregistrationFailed]) -> libvirt.virConnect:
    try:
        return libvirt.open(URI)
    except libvirt.libvirtError as e:
        raise error(f"cannot reach libvirtd: {e}") from None
