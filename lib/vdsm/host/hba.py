"""The host bus adapters storage can reach LUNs through.

iSCSI: the initiator name of this host, from open-iscsi's
/etc/iscsi/initiatorname.iscsi (``vdsm-tool configure`` module ``iscsi``
creates it when missing and makes it readable by vdsm). FC: every
/sys/class/fc_host/hostN with its port and node WWNs and the model the
driver reports. A host without open-iscsi or without FC adapters has none
of that kind: an empty answer, never an error, since getCapabilities must
answer on every host.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger("vdsm.host.hba")

INITIATOR_NAME_FILE = "/etc/iscsi/initiatorname.iscsi"
FC_HOST_DIR = "/sys/class/fc_host"

# Attribute names drivers use for the model, as pairs (name, description):
# qla2xxx, lpfc and bfa each chose their own.
_MODEL_ATTRS = (("modelname", "modeldesc"), ("model", "model_description"),
                ("model_name", "model_desc"))


@dataclass(frozen=True)
class FcAdapter:
    wwpn: str
    wwnn: str
    model: str


@dataclass(frozen=True)
class HbaInventory:
    iscsi_initiators: tuple[str, ...]
    fc_adapters: tuple[FcAdapter, ...]


def inventory(initiator_file: str | None = None,
              fc_host_dir: str | None = None) -> HbaInventory:
    name = initiator_name(initiator_file)
    return HbaInventory(iscsi_initiators=(name,) if name else (),
                        fc_adapters=fc_adapters(fc_host_dir))


def initiator_name(path: str | None = None) -> str:
    """The InitiatorName= of ``path``; "" when it cannot be read."""
    path = path or INITIATOR_NAME_FILE
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        log.warning("NO iscsi-initiator path=%s reason=%s", path, e.strerror)
        return ""
    return parse_initiator_name(text)


def parse_initiator_name(text: str) -> str:
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.strip() == "InitiatorName":
            return value.strip()
    return ""


def fc_adapters(fc_host_dir: str | None = None) -> tuple[FcAdapter, ...]:
    fc_host_dir = fc_host_dir or FC_HOST_DIR
    try:
        hosts = sorted(os.listdir(fc_host_dir))
    except FileNotFoundError:
        return ()
    except OSError as e:
        log.warning("NO fc-hosts path=%s reason=%s", fc_host_dir, e.strerror)
        return ()
    found = []
    for host in hosts:
        path = os.path.join(fc_host_dir, host)
        try:
            found.append(FcAdapter(
                wwpn=_wwn(_read(os.path.join(path, "port_name"))),
                wwnn=_wwn(_read(os.path.join(path, "node_name"))),
                model=_model(path, host)))
        except OSError as e:
            # An adapter going away while we look: report the others.
            log.warning("SKIP fc-host=%s reason=%s", host, e.strerror)
    return tuple(found)


def _model(fc_host: str, host: str) -> str:
    scsi_host = os.path.join(fc_host, "device", "scsi_host", host)
    for name_attr, desc_attr in _MODEL_ATTRS:
        try:
            name = _read(os.path.join(scsi_host, name_attr))
            desc = _read(os.path.join(scsi_host, desc_attr))
        except OSError:
            continue
        return f"{name} - {desc}"
    return "Unknown - Unknown"


def _wwn(value: str) -> str:
    """sysfs writes 0x2100001b32xxxxxx; the manager wants the hex digits."""
    return value[2:] if value.lower().startswith("0x") else value


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()
