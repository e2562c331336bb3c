"""configure module ``iscsi``: this host has an iSCSI initiator name.

oVirt Engine reads the host's initiator name from getCapabilities
(``ISCSIInitiatorName``, ``HBAInventory.iSCSI``) to set up iSCSI target
access lists, so every host needs one, unique, that does not change.
open-iscsi keeps it in /etc/iscsi/initiatorname.iscsi. When the file is
missing or names no initiator, this module creates it as open-iscsi's
packaging does: ``InitiatorName=<prefix>:<12 random hex digits>`` with
Debian's prefix (what Debian's open-iscsi passes to ``iscsi-iname -p``).
An existing name is never changed: the targets' access lists name it.

vdsmd runs as vdsm and reads the file, so the file is made world-readable
(0644, as Fedora and RHEL ship it; Debian creates it 0600). The name is
an identifier, not a secret: initiators send it in every iSCSI login.
"""

from __future__ import annotations

import os
import secrets
import stat

from vdsm.host import hba
from vdsm.tool import files
from vdsm.tool.target import Target

NAME = "iscsi"
PATH = hba.INITIATOR_NAME_FILE
PREFIX = "iqn.1993-08.org.debian:01"
MODE = 0o644

HEADER = """\
## DO NOT EDIT OR REMOVE THIS FILE!
## If you remove this file, the iSCSI daemon will not start.
## If you change the InitiatorName, existing access control lists
## may reject this initiator.  The InitiatorName must be unique
## for each iSCSI initiator.  Do NOT duplicate iSCSI InitiatorNames.
"""


def generate_name() -> str:
    return f"{PREFIX}:{secrets.token_hex(6)}"


def is_configured(target: Target) -> list[str]:
    path = target.path(PATH)
    text = files.read(path)
    if text is None:
        return [f"no {PATH}: the host has no iSCSI initiator name"]
    if not hba.parse_initiator_name(text):
        return [f"{PATH} names no InitiatorName"]
    if stat.S_IMODE(os.stat(path).st_mode) & 0o004 == 0:
        return [f"{PATH} is not readable by vdsm"]
    return []


def configure(target: Target, force: bool = False) -> list[str]:
    path = target.path(PATH)
    text = files.read(path)
    changes = []
    if text is None or not hba.parse_initiator_name(text):
        name = generate_name()
        files.write(path, f"{HEADER}InitiatorName={name}\n", mode=MODE)
        changes.append(f"created {PATH} with InitiatorName={name}")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o004 == 0:
        os.chmod(path, mode | 0o044)
        changes.append(f"made {PATH} readable by vdsm")
    return changes
