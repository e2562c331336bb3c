"""What storage this host serves, as getCapabilities reports it.

``domain_versions``: the storage domain format versions this host can
create and use. ``supported_block_size``: per storage type, the block
sizes a new domain of that type may be created with, 0 meaning "detected
from the storage" (upstream's BLOCK_SIZE_AUTO); the manager attaches a
4K or auto-detected domain only when every host lists 0 for its type.
File domains here always probe the storage (StorageDomain.create's
blockSize is not used) and work with 512 and 4096 byte sectors (sanlock
leases are written with the probed size). No block (FCP, iSCSI) or
GlusterFS domain can be created here: their lists are empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vdsm.storage import constants as sc

BLOCK_SIZE_AUTO = 0
# Upstream's names of the storage types, as the manager looks them up.
STORAGE_TYPES = ("FCP", "GLUSTERFS", "ISCSI", "LOCALFS", "NFS", "POSIXFS")


@dataclass(frozen=True)
class StorageCaps:
    domain_versions: tuple[int, ...] = ()
    block_sizes: dict[str, tuple[int, ...]] = field(default_factory=dict)


def storage_caps() -> StorageCaps:
    served = {sc.DOMAIN_TYPE_NAMES[t] for t in sc.FILE_DOMAIN_TYPES}
    return StorageCaps(
        domain_versions=tuple(sc.DOMAIN_VERSIONS),
        block_sizes={name: ((BLOCK_SIZE_AUTO, 512, 4096)
                            if name in served else ())
                     for name in STORAGE_TYPES})
