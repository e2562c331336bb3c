"""sanlock: host ids (lockspaces) and leases (resources) on domains.

A domain's lockspace is named by its UUID and lives in ``dom_md/ids``; the
SPM lease is the resource ``SDM`` at 1 MiB in ``dom_md/leases``; each
volume has its own resource (its UUID) in its ``.lease`` file. Leases are
held by this process (registered once); if vdsmd dies, sanlock frees them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import sanlock

from vdsm.storage import constants as sc
from vdsm.storage import errors

log = logging.getLogger("vdsm.storage.clusterlock")

_register_lock = threading.Lock()
_fd: int | None = None


def _b(s: str) -> bytes:
    return s.encode()


def _registered() -> int:
    global _fd
    with _register_lock:
        if _fd is None:
            _fd = sanlock.register()
        return _fd


def init_lockspace(sd_uuid: str, ids_path: str, block_size: int,
                   io_timeout: int) -> None:
    try:
        sanlock.write_lockspace(_b(sd_uuid), ids_path, iotimeout=io_timeout,
                                align=sc.ALIGNMENT, sector=block_size)
    except sanlock.SanlockException as e:
        raise errors.ClusterLockInitError(str(e), sd=sd_uuid,
                                          path=ids_path) from None


def init_resource(sd_uuid: str, name: str, path: str, offset: int,
                  block_size: int) -> None:
    try:
        sanlock.write_resource(_b(sd_uuid), _b(name), [(path, offset)],
                               align=sc.ALIGNMENT, sector=block_size)
    except sanlock.SanlockException as e:
        raise errors.ClusterLockInitError(str(e), sd=sd_uuid, lease=name,
                                          path=path) from None


def add_lockspace(sd_uuid: str, host_id: int, ids_path: str,
                  io_timeout: int, wait: bool = True) -> None:
    _wait_removed(sd_uuid, host_id, ids_path)
    try:
        sanlock.add_lockspace(_b(sd_uuid), host_id, ids_path,
                              iotimeout=io_timeout, wait=wait)
    except sanlock.SanlockException as e:
        if e.errno == 17:  # EEXIST: already ours
            return
        if e.errno == 115 and wait:
            # EINPROGRESS: an earlier add without waiting (a domain being
            # activated) is still joining: wait for it to end, as asked.
            _wait_added(sd_uuid, host_id, ids_path)
            return
        raise errors.AcquireHostIdFailure(str(e), sd=sd_uuid) from None
    log.info("ADD_LOCKSPACE sd=%s host_id=%s wait=%s", sd_uuid, host_id,
             wait)


def rem_lockspace(sd_uuid: str, host_id: int, ids_path: str,
                  wait: bool = True) -> None:
    try:
        sanlock.rem_lockspace(_b(sd_uuid), host_id, ids_path, wait=wait)
    except sanlock.SanlockException as e:
        if e.errno != 2:  # ENOENT: not there
            raise errors.StorageError(f"rem_lockspace: {e}") from None
    if not wait:
        with _removing_lock:
            _removing.add(sd_uuid)
    log.info("REM_LOCKSPACE sd=%s host_id=%s wait=%s", sd_uuid, host_id,
             wait)


# Lockspaces released without waiting: sanlock keeps reporting them as
# held for a while (about a second), then removes them. Adding one back
# in that window would "succeed" (EEXIST) and lose it moments later, so
# add_lockspace first waits for the removal to end.
_removing: set[str] = set()
_removing_lock = threading.Lock()
REMOVAL_TIMEOUT = 120.0


def _wait_removed(sd_uuid: str, host_id: int, ids_path: str) -> None:
    with _removing_lock:
        if sd_uuid not in _removing:
            return
    deadline = time.monotonic() + REMOVAL_TIMEOUT
    while has_host_id(sd_uuid, host_id, ids_path) or sanlock_busy(
            sd_uuid, host_id, ids_path):
        if time.monotonic() > deadline:
            raise errors.AcquireHostIdFailure(
                "an earlier release of the host id does not end", sd=sd_uuid)
        time.sleep(0.1)
    with _removing_lock:
        _removing.discard(sd_uuid)
    log.info("REMOVED sd=%s (earlier release ended)", sd_uuid)


def _wait_added(sd_uuid: str, host_id: int, ids_path: str) -> None:
    deadline = time.monotonic() + REMOVAL_TIMEOUT
    while not has_host_id(sd_uuid, host_id, ids_path):
        if not sanlock_busy(sd_uuid, host_id, ids_path):
            raise errors.AcquireHostIdFailure(
                "an earlier add of the host id failed", sd=sd_uuid)
        if time.monotonic() > deadline:
            raise errors.AcquireHostIdFailure(
                "an earlier add of the host id does not end", sd=sd_uuid)
        time.sleep(0.1)
    log.info("ADDED sd=%s host_id=%s (earlier add ended)", sd_uuid, host_id)


def sanlock_busy(sd_uuid: str, host_id: int, ids_path: str) -> bool:
    """Whether sanlock is still adding or removing the host id."""
    try:
        return sanlock.inq_lockspace(_b(sd_uuid), host_id, ids_path) is None
    except sanlock.SanlockException:
        return False


def has_host_id(sd_uuid: str, host_id: int, ids_path: str) -> bool:
    try:
        return bool(sanlock.inq_lockspace(_b(sd_uuid), host_id, ids_path))
    except sanlock.SanlockException:
        return False


def acquire(sd_uuid: str, name: str, path: str, offset: int,
            block_size: int) -> int:
    """Take the resource; return its lease version (lver)."""
    try:
        sanlock.acquire(_b(sd_uuid), _b(name), [(path, offset)],
                        slkfd=_registered())
    except sanlock.SanlockException as e:
        raise errors.AcquireLockFailure(str(e), sd=sd_uuid,
                                        lease=name) from None
    return lease_version(path, offset, block_size)


def release(sd_uuid: str, name: str, path: str, offset: int) -> None:
    try:
        sanlock.release(_b(sd_uuid), _b(name), [(path, offset)],
                        slkfd=_registered())
    except sanlock.SanlockException as e:
        log.warning("RELEASE sd=%s lease=%s error=%s", sd_uuid, name, e)


def lease_version(path: str, offset: int, block_size: int) -> int:
    return int(sanlock.read_resource(path, offset, align=sc.ALIGNMENT,
                                     sector=block_size)["version"])


def lease_owners(sd_uuid: str, name: str, path: str, offset: int,
                 block_size: int) -> list[int]:
    """Host ids holding the resource now."""
    try:
        owners = sanlock.read_resource_owners(
            _b(sd_uuid), _b(name), [(path, offset)], align=sc.ALIGNMENT,
            sector=block_size)
    except sanlock.SanlockException:
        return []
    return [o["host_id"] for o in owners]


# External leases (the xleases volume, storage/xlease.py).

# sanlock_rv.h: no resource leader at the offset (never written, or
# cleared).
SANLK_LEADER_MAGIC = -223


@dataclass(frozen=True)
class ResourceInfo:
    lockspace: str
    resource: str
    version: int


def clear_lease(path: str, offset: int, block_size: int) -> None:
    """Clear the resource at offset: a later read finds none there."""
    try:
        sanlock.write_resource(b"", b"", [(path, offset)], clear=True,
                               align=sc.ALIGNMENT, sector=block_size)
    except sanlock.SanlockException as e:
        raise errors.ClusterLockInitError(str(e), path=path,
                                          offset=offset) from None


def read_lease(path: str, offset: int, block_size: int
               ) -> ResourceInfo | None:
    """The resource at offset; None if there is none (never written or
    cleared)."""
    try:
        res = sanlock.read_resource(path, offset, align=sc.ALIGNMENT,
                                    sector=block_size)
    except sanlock.SanlockException as e:
        if e.errno == SANLK_LEADER_MAGIC:
            return None
        raise errors.StorageError(f"read_resource: {e}", path=path,
                                  offset=offset) from None
    if not res["resource"]:
        return None
    return ResourceInfo(_s(res["lockspace"]), _s(res["resource"]),
                        int(res["version"]))


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def acquire_lvb(sd_uuid: str, name: str, path: str, offset: int) -> None:
    """Take the resource with its lock value block readable (651 if
    another host holds it)."""
    try:
        sanlock.acquire(_b(sd_uuid), _b(name), [(path, offset)],
                        slkfd=_registered(), lvb=True)
    except sanlock.SanlockException as e:
        raise errors.AcquireLockFailure(str(e), sd=sd_uuid,
                                        lease=name) from None


def get_lvb(sd_uuid: str, name: str, path: str, offset: int,
            size: int) -> bytes:
    """The whole lock value block (size: the sector size) of a resource
    held with acquire_lvb, trailing NULs removed."""
    try:
        data = sanlock.get_lvb(_b(sd_uuid), _b(name), [(path, offset)],
                               size)
    except sanlock.SanlockException as e:
        raise errors.StorageError(f"get_lvb: {e}", sd=sd_uuid,
                                  lease=name) from None
    return bytes(data).rstrip(b"\0")


def set_lvb(sd_uuid: str, name: str, path: str, offset: int,
            data: bytes) -> None:
    try:
        sanlock.set_lvb(_b(sd_uuid), _b(name), [(path, offset)], data)
    except sanlock.SanlockException as e:
        raise errors.StorageError(f"set_lvb: {e}", sd=sd_uuid,
                                  lease=name) from None
