"""Moving the master role of a pool: reconstructMaster and switchMaster.

The pool's metadata lives on its master domain (see pool.py). When the
master is lost the engine *reconstructs* the pool on another domain with a
higher master version (``reconstruct``, on a host not connected to the
pool); while the master is fine the SPM may *switch* it to another active
member (``switch``, an SPM task). Both take the SDM lease of the new master
before writing it, as upstream.

The order of writes makes every crash safe: the new master is written whole
(``ROLE=Master``, a higher ``MASTER_VERSION``) before the old one is
demoted. A crash in between leaves two domains saying Master; the one with
the higher version is the pool's (the engine connects with it), and the
stale one is demoted to Regular the next time an SPM sees it
(``demote_stale``: at spmStart and at StorageDomain.activate), as upstream
sets a returning old master Regular.
"""

from __future__ import annotations

import logging
import os

from vdsm.common.exception import InvalidParameter
from vdsm.storage import clusterlock
from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.domain import FileDomain

log = logging.getLogger("vdsm.storage.master")

# What the master holds besides POOL_UUID and ROLE (pool.POOL_KEYS plus
# the lease parameters): moved with the role.
POOL_KEYS = ("POOL_DESCRIPTION", "MASTER_VERSION", "POOL_SPM_ID",
             "POOL_SPM_LVER", "POOL_DOMAINS")
LEASE_KEYS = ("LOCKRENEWALINTERVALSEC", "LEASETIMESEC", "IOOPTIMEOUTSEC",
              "LEASERETRIES")

# Upstream's deprecated statuses a domainDict may still carry.
_STATUSES = {"active": sc.DOM_ACTIVE, "attached": sc.DOM_ATTACHED,
             "inactive": sc.DOM_ATTACHED}


def parse_statuses(domains: dict[str, str]) -> dict[str, str]:
    """domainDict ({sdUUID: "active"|"attached"}, any case) checked."""
    out = {}
    for sd, status in domains.items():
        sc.check_uuid(sd, "sd_uuid")
        value = _STATUSES.get(str(status).lower())
        if value is None:
            raise InvalidParameter("bad domain status", sd=sd, status=status)
        out[sd] = value
    return out


def take_sdm(dom: FileDomain) -> int:
    return clusterlock.acquire(dom.sd_uuid, sc.SDM_LEASE_NAME,
                               dom.md_path("leases"), sc.SDM_LEASE_OFFSET,
                               dom.block_size)


def release_sdm(dom: FileDomain) -> None:
    clusterlock.release(dom.sd_uuid, sc.SDM_LEASE_NAME, dom.md_path("leases"),
                        sc.SDM_LEASE_OFFSET)


def reconstruct(new: FileDomain, sp_uuid: str, host_id: int, name: str,
                version: int, domains_value: str,
                lease_md: dict[str, str]) -> None:
    """Make ``new`` the master of the pool (the caller checked the input and
    that this host is not connected to the pool). Takes the host id and the
    SDM lease on ``new`` (a live SPM elsewhere fails it with 651, nothing
    written); the host id stays for the StoragePool.connect that follows."""
    owner = new.metadata().get("POOL_UUID", "")
    if owner and owner != sp_uuid:
        raise errors.StorageDomainAlreadyAttached(sd=new.sd_uuid, pool=owner)
    new.acquire_host_id(host_id)
    take_sdm(new)
    try:
        new.io.call("makedirs", path=os.path.join(new.master_dir(), "tasks"))
        new.update_metadata(
            **lease_md, POOL_UUID=sp_uuid, ROLE=sc.MASTER_ROLE,
            POOL_DESCRIPTION=name, MASTER_VERSION=str(version),
            POOL_SPM_ID="-1", POOL_SPM_LVER="-1",
            POOL_DOMAINS=domains_value)
    finally:
        release_sdm(new)
    log.info("RECONSTRUCT pool=%s master=%s version=%s domains=%s", sp_uuid,
             new.sd_uuid, version, domains_value)


def check_switch(old: FileDomain, old_uuid: str, new_uuid: str,
                 version: int, members: dict[str, str], sp_uuid: str) -> None:
    """switchMaster's checks, as upstream's masterMigrate: 324 for an old
    master that is not the pool's or a version not above the pool's; 353,
    1000, 369 for a new master not in the pool, the same as the old, or
    not active."""
    if old_uuid != old.sd_uuid:
        raise errors.StoragePoolWrongMaster(pool=sp_uuid, sd=old_uuid)
    current = int(old.metadata().get("MASTER_VERSION", "0"))
    if version <= current:
        raise errors.StoragePoolWrongMaster(
            "masterVersion must be above the pool's", pool=sp_uuid,
            version=current, given=version)
    if new_uuid not in members:
        raise errors.StorageDomainNotInPool(sd=new_uuid, pool=sp_uuid)
    if new_uuid == old_uuid:
        raise InvalidParameter("new master is the old one", sd=new_uuid)
    if members[new_uuid] != sc.DOM_ACTIVE:
        raise errors.StorageDomainNotActive(sd=new_uuid)


def switch(old: FileDomain, new: FileDomain, host_id: int, version: int,
           spm_id: int) -> int:
    """Move the role from ``old`` to ``new`` (the SPM, holding old's SDM
    lease, checked with ``check_switch``). Returns the lver of new's SDM
    lease, which this host then holds; old's is released."""
    new.acquire_host_id(host_id)
    lver = take_sdm(new)
    try:
        old_md = old.metadata()
        new.io.call("makedirs", path=os.path.join(new.master_dir(), "tasks"))
        moved = {k: old_md[k] for k in POOL_KEYS + LEASE_KEYS if k in old_md}
        moved.update(ROLE=sc.MASTER_ROLE, MASTER_VERSION=str(version),
                     POOL_SPM_ID=str(spm_id), POOL_SPM_LVER=str(lver))
        new.update_metadata(**moved)   # the point of no return
    except Exception:
        release_sdm(new)
        raise
    log.info("SWITCH_MASTER old=%s new=%s version=%s", old.sd_uuid,
             new.sd_uuid, version)
    try:
        demote(old)
    except (OSError, errors.StorageError) as e:
        log.warning("SWITCH_MASTER old=%s demote_error=%s (demoted when an "
                    "SPM sees it)", old.sd_uuid, e)
    finally:
        release_sdm(old)
    return lver


def demote(dom: FileDomain) -> None:
    """A domain that is no longer the master: its pool keys go, ROLE
    Regular; POOL_UUID stays (it is still a member)."""
    md = {k: v for k, v in dom.metadata().items()
          if k not in POOL_KEYS}
    md["ROLE"] = sc.REGULAR
    dom.write_metadata(md)
    try:
        dom.io.call("rmtree", path=dom.master_dir())
    except (OSError, errors.StorageError) as e:
        log.warning("DEMOTE sd=%s leftover=%s error=%s", dom.sd_uuid,
                    dom.master_dir(), e)
    log.info("DEMOTE sd=%s role=%s", dom.sd_uuid, sc.REGULAR)


def demote_stale(dom: FileDomain, master: FileDomain) -> bool:
    """Demote ``dom`` if it says Master while ``master`` is the pool's
    (an old master back after reconstructMaster, or a switch that crashed
    before the demotion). True when it did."""
    if dom.sd_uuid == master.sd_uuid:
        return False
    if dom.metadata().get("ROLE") != sc.MASTER_ROLE:
        return False
    log.info("STALE_MASTER sd=%s master=%s", dom.sd_uuid, master.sd_uuid)
    demote(dom)
    return True
