"""Names and numbers of the storage wire and on-disk formats."""

from __future__ import annotations

import re

from vdsm.storage import errors

BLANK_UUID = "00000000-0000-0000-0000-000000000000"
# Volume generations (GEN) wrap after this, as upstream's.
MAX_GENERATION = 999

# Domain types, as the engine sends them.
NFS = 1
FCP = 2
ISCSI = 3
LOCALFS = 4
CIFS = 5
POSIXFS = 6
GLUSTERFS = 7

DOMAIN_TYPE_NAMES = {NFS: "NFS", FCP: "FCP", ISCSI: "ISCSI",
                     LOCALFS: "LOCALFS", CIFS: "CIFS", POSIXFS: "POSIXFS",
                     GLUSTERFS: "GLUSTERFS"}
FILE_DOMAIN_TYPES = (NFS, LOCALFS, POSIXFS)

# Domain classes.
DATA_DOMAIN = 1
ISO_DOMAIN = 2
BACKUP_DOMAIN = 3
DOMAIN_CLASS_NAMES = {DATA_DOMAIN: "Data", ISO_DOMAIN: "Iso",
                      BACKUP_DOMAIN: "Backup"}

DOMAIN_VERSIONS = (5,)
DEFAULT_DOMAIN_VERSION = 5

# Domain layout.
DOM_MD = "dom_md"
IMAGES = "images"
MASTER = "master"
SPECIAL_VOLUMES = ("metadata", "ids", "leases", "inbox", "outbox", "xleases")
MIB = 1024 ** 2
GIB = 1024 ** 3
SPECIAL_SIZES = {"ids": 8 * MIB, "leases": 2048 * MIB, "inbox": 16 * MIB,
                 "outbox": 16 * MIB, "xleases": GIB}
ALIGNMENT = MIB
SDM_LEASE_NAME = "SDM"
SDM_LEASE_OFFSET = MIB
LEASE_FILEEXT = ".lease"
META_FILEEXT = ".meta"

# Roles and pool domain statuses.
REGULAR = "Regular"
MASTER_ROLE = "Master"
DOM_ACTIVE = "Active"
DOM_ATTACHED = "Attached"

# Volume formats and types: numbers on the wire, names on disk.
RAW_FORMAT = 5
COW_FORMAT = 4
FORMAT_NAMES = {RAW_FORMAT: "RAW", COW_FORMAT: "COW"}
FORMAT_BY_NAME = {v: k for k, v in FORMAT_NAMES.items()}
PREALLOCATED = 1
SPARSE = 2
TYPE_NAMES = {PREALLOCATED: "PREALLOCATED", SPARSE: "SPARSE"}
TYPE_BY_NAME = {v: k for k, v in TYPE_NAMES.items()}
LEAF = "LEAF"
INTERNAL = "INTERNAL"
SHARED = "SHARED"
LEGAL = "LEGAL"
ILLEGAL = "ILLEGAL"
FAKE = "FAKE"
DISK_TYPES = ("DATA", "ISOF", "MEMD", "MEMM", "OVFS", "HEVD", "LEASE",
              "2", "")

_UUID_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_uuid(value: str, name: str = "uuid") -> str:
    """Return value if it is a UUID in canonical form, else raise 1000.

    Every id we turn into a path goes through here, so no id can name a
    path outside its domain.
    """
    if not isinstance(value, str) or not _UUID_RE.match(value.lower()):
        raise errors.InvalidParameter(f"{name} is not a UUID", value=value)
    return value.lower()
