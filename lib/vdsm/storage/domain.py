"""File storage domains: the layout on the mount and its metadata.

A domain is the directory ``<mount>/<sdUUID>``::

    dom_md/metadata   sealed KEY=VALUE lines (see metadata.py)
    dom_md/ids        sanlock lockspace: one delta lease per host id
    dom_md/leases     sanlock resources; the SPM lease at 1 MiB
    dom_md/xleases    external (VM) leases and their index (xlease.py)
    dom_md/inbox, outbox   made with upstream's sizes (sparse)
    images/<imgUUID>/<volUUID>[.meta|.lease]
    master/tasks/     (master domain only) persisted tasks

Every access to those files goes through the domain's out-of-process
helper (``self.io``); sanlock and qemu-img are processes of their own.

Hidden names beside the domains: ``.create-<host>-<sdUUID>-<random>``, a
domain being made (renamed to ``<sdUUID>`` when complete), and
``.remove-<sdUUID>-<random>``, one being removed; ``sweep`` removes the
leftovers of both (for creates, only this host's).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Iterator

from vdsm.storage import clusterlock, metadata, xlease
from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage.outofprocess import IOHelper

log = logging.getLogger("vdsm.storage.domain")


@dataclass(frozen=True)
class DomainSpec:
    """What StorageDomain.create asks for."""

    sd_uuid: str
    name: str
    dom_type: int
    dom_class: int = sc.DATA_DOMAIN
    version: int = sc.DEFAULT_DOMAIN_VERSION
    remote_path: str = ""


@dataclass(frozen=True)
class Space:
    """Bytes of the domain's file system (what statvfs reports)."""

    total: int
    free: int


@dataclass(frozen=True)
class DomainInfo:
    """What a domain's metadata says about it. ``type``, ``dom_class``,
    ``role`` and ``version`` are the metadata's own strings."""

    uuid: str
    name: str
    type: str
    dom_class: str
    role: str
    version: str
    pools: list[str]
    remote_path: str
    master_version: int | None
    block_size: int
    alignment: int


class FileDomain:
    def __init__(self, sd_uuid: str, path: str, io: IOHelper) -> None:
        self.sd_uuid = sd_uuid
        self.path = path
        self.io = io
        self._block_size: int | None = None

    # Paths.

    def md_path(self, name: str) -> str:
        return os.path.join(self.path, sc.DOM_MD, name)

    def image_dir(self, img_uuid: str) -> str:
        return os.path.join(self.path, sc.IMAGES, sc.check_uuid(img_uuid))

    def master_dir(self) -> str:
        return os.path.join(self.path, sc.MASTER)

    # Metadata.

    def metadata(self) -> dict[str, str]:
        try:
            return metadata.parse_domain(
                self.io.call("read_text", path=self.md_path("metadata")))
        except FileNotFoundError:
            raise errors.StorageDomainDoesNotExist(sd=self.sd_uuid) from None

    def update_metadata(self, **changes: str) -> dict[str, str]:
        md = self.metadata()
        md.update(changes)
        self.write_metadata(md)
        return md

    def write_metadata(self, md: dict[str, str]) -> None:
        """Replace the whole metadata (atomically, see ioworker)."""
        self.io.call("write_text", path=self.md_path("metadata"),
                     text=metadata.dump_domain(md))

    @property
    def block_size(self) -> int:
        if self._block_size is None:
            self._block_size = int(self.metadata().get("BLOCK_SIZE", 512))
        return self._block_size

    def io_timeout(self) -> int:
        return int(self.metadata().get("IOOPTIMEOUTSEC", 10))

    # Views.

    def info(self) -> DomainInfo:
        md = self.metadata()
        master_version = md.get("MASTER_VERSION")
        return DomainInfo(
            uuid=self.sd_uuid, name=md.get("DESCRIPTION", ""),
            type=md.get("TYPE", ""), dom_class=md.get("CLASS", ""),
            role=md.get("ROLE", ""), version=md.get("VERSION", ""),
            pools=[p for p in md.get("POOL_UUID", "").split(",") if p],
            remote_path=md.get("REMOTE_PATH", ""),
            master_version=(None if master_version is None
                            else int(master_version)),
            block_size=int(md.get("BLOCK_SIZE", 512)),
            alignment=int(md.get("ALIGNMENT", sc.ALIGNMENT)))

    def space(self) -> Space:
        st = self.io.call("statvfs", path=self.path)
        return Space(total=st["total"], free=st["free"])

    def images(self) -> list[str]:
        names = self.io.call("listdir",
                             path=os.path.join(self.path, sc.IMAGES))
        return [n for n in names if not n.startswith(".")]

    def volumes(self, img_uuid: str | None = None) -> list[str]:
        """Volume UUIDs (those with a .meta file) of one image or of all."""
        img_dir = (self.image_dir(img_uuid) if img_uuid
                   else os.path.join(self.path, sc.IMAGES, "*"))
        paths = self.io.call("glob", pattern=os.path.join(
            img_dir, "*" + sc.META_FILEEXT))
        return sorted(os.path.basename(p)[:-len(sc.META_FILEEXT)]
                      for p in paths)

    # External leases.

    def supports_xleases(self) -> bool:
        """Version 4 and later domains have an xleases volume."""
        version = self.metadata().get("VERSION", "0")
        return (version.isdigit() and int(version) >= 4
                and self.io.call("exists", path=self.md_path("xleases")))

    def xleases(self) -> DirectFile:
        return DirectFile(self.io, self.md_path("xleases"), self.block_size)

    # Sanlock.

    def acquire_host_id(self, host_id: int, wait: bool = True) -> None:
        clusterlock.add_lockspace(self.sd_uuid, host_id,
                                  self.md_path("ids"), self.io_timeout(),
                                  wait=wait)

    def release_host_id(self, host_id: int, wait: bool = True) -> None:
        clusterlock.rem_lockspace(self.sd_uuid, host_id,
                                  self.md_path("ids"), wait=wait)

    def has_host_id(self, host_id: int) -> bool:
        return clusterlock.has_host_id(self.sd_uuid, host_id,
                                       self.md_path("ids"))


class DirectFile:
    """Direct I/O on one file of a domain, through its helper process
    (xlease.BlockIO)."""

    def __init__(self, io: IOHelper, path: str, block_size: int) -> None:
        self.io = io
        self.path = path
        self.block_size = block_size

    def pread(self, offset: int, size: int) -> bytes:
        return base64.b64decode(self.io.call(
            "pread_direct", path=self.path, offset=offset, size=size))

    def pwrite(self, offset: int, data: bytes) -> None:
        self.io.call("pwrite_direct", path=self.path, offset=offset,
                     data=base64.b64encode(data).decode("ascii"))

    def size(self) -> int:
        return int(self.io.call("stat", path=self.path)["size"])


def create(spec: DomainSpec, mount_path: str, io: IOHelper,
           io_timeout: int) -> FileDomain:
    """Lay out a new domain under mount_path; raise 365 if it exists.

    Everything is made in a hidden directory beside it (``CREATE_PREFIX``)
    renamed to ``<sdUUID>`` once complete: a domain appears whole or not
    at all. On failure the hidden directory is removed at once; what a
    crash leaves is removed by ``sweep`` when the mount is next connected.
    """
    path = os.path.join(mount_path, spec.sd_uuid)
    if io.call("exists", path=path):
        raise errors.StorageDomainAlreadyExists(sd=spec.sd_uuid)
    block_size = io.call("probe_block_size", path=mount_path)
    # Bad input is refused before anything is made.
    text = metadata.dump_domain(_metadata(spec, block_size, io_timeout))
    tmp = os.path.join(mount_path, f"{unfinished_prefix()}{spec.sd_uuid}-"
                       f"{uuid.uuid4().hex[:8]}")
    with _busy(tmp):
        try:
            _lay_out(FileDomain(spec.sd_uuid, tmp, io), block_size,
                     io_timeout, text)
            try:
                io.call("rename", src=tmp, dst=path)
            except OSError:
                # Made meanwhile by another host (rename onto a
                # non-empty directory fails).
                raise errors.StorageDomainAlreadyExists(sd=spec.sd_uuid) \
                    from None
        except BaseException:
            _discard(io, tmp)
            raise
    log.info("CREATE sd=%s path=%s block_size=%s", spec.sd_uuid, path,
             block_size)
    return FileDomain(spec.sd_uuid, path, io)


def _metadata(spec: DomainSpec, block_size: int,
              io_timeout: int) -> dict[str, str]:
    return {"CLASS": sc.DOMAIN_CLASS_NAMES[spec.dom_class],
            "DESCRIPTION": spec.name, "IOOPTIMEOUTSEC": str(io_timeout),
            "LEASERETRIES": "3", "LEASETIMESEC": "60", "LOCKPOLICY": "",
            "LOCKRENEWALINTERVALSEC": "5", "POOL_UUID": "",
            "REMOTE_PATH": spec.remote_path, "ROLE": sc.REGULAR,
            "SDUUID": spec.sd_uuid,
            "TYPE": sc.DOMAIN_TYPE_NAMES[spec.dom_type],
            "VERSION": str(spec.version), "BLOCK_SIZE": str(block_size),
            "ALIGNMENT": str(sc.ALIGNMENT)}


def _lay_out(dom: FileDomain, block_size: int, io_timeout: int,
             text: str) -> None:
    dom.io.call("makedirs", path=os.path.join(dom.path, sc.DOM_MD))
    dom.io.call("makedirs", path=os.path.join(dom.path, sc.IMAGES))
    for name, size in sc.SPECIAL_SIZES.items():
        dom.io.call("truncate", path=dom.md_path(name), size=size)
    clusterlock.init_lockspace(dom.sd_uuid, dom.md_path("ids"), block_size,
                               io_timeout)
    clusterlock.init_resource(dom.sd_uuid, sc.SDM_LEASE_NAME,
                              dom.md_path("leases"), sc.SDM_LEASE_OFFSET,
                              block_size)
    xlease.format_index(dom.sd_uuid, DirectFile(
        dom.io, dom.md_path("xleases"), block_size))
    dom.io.call("write_text", path=dom.md_path("metadata"), text=text)


def _discard(io: IOHelper, tmp: str) -> None:
    try:
        io.call("rmtree", path=tmp)
    except FileNotFoundError:
        pass
    except (OSError, errors.StorageError) as e:
        log.warning("CREATE_LEFTOVER path=%s error=%s", tmp, e)


def unfinished_prefix() -> str:
    """How this host's unfinished creates are named on a mount: with this
    host in the name, so a sweep never takes another host's create in
    progress on shared storage."""
    return f"{CREATE_PREFIX}{_host_key()}-"


def _host_key() -> str:
    try:
        with open(MACHINE_ID) as f:
            key = f.read().strip()
    except OSError:
        key = ""
    return (key or socket.gethostname()).replace("-", "")[:32]


MACHINE_ID = "/etc/machine-id"
CREATE_PREFIX = ".create-"


TRASH_PREFIX = ".remove-"

# Trash dirs a format of this process is removing now, and dirs a create
# of this process is filling: a sweep skips them.
_removing: set[str] = set()
_removing_lock = threading.Lock()


@contextlib.contextmanager
def _busy(path: str) -> Iterator[None]:
    with _removing_lock:
        _removing.add(path)
    try:
        yield
    finally:
        with _removing_lock:
            _removing.discard(path)


def remove(dom: FileDomain, timeout: float) -> None:
    """Remove the domain's directory for good (StorageDomain.format).

    The directory is first renamed to a hidden name beside it: one atomic
    step after which no scan of the mount finds the domain. The tree is
    then removed with a longer timeout than usual (a domain may hold many
    files); if that fails, only the hidden remnant is left, logged, and
    removed by a later ``sweep`` of the mount.
    """
    trash = os.path.join(os.path.dirname(dom.path),
                         f"{TRASH_PREFIX}{dom.sd_uuid}-{uuid.uuid4().hex[:8]}")
    with _busy(trash):
        try:
            dom.io.call("rename", src=dom.path, dst=trash)
        except FileNotFoundError:
            raise errors.StorageDomainDoesNotExist(sd=dom.sd_uuid) from None
        except OSError as e:
            raise errors.MiscDirCleanupFailure(str(e),
                                               path=dom.path) from None
        log.info("FORMAT sd=%s path=%s", dom.sd_uuid, dom.path)
        try:
            dom.io.call("rmtree", path=trash, timeout=timeout)
        except (OSError, errors.StorageError) as e:
            log.warning("FORMAT_LEFTOVER sd=%s path=%s error=%s",
                        dom.sd_uuid, trash, e)


def sweep(io: IOHelper, mount_path: str, timeout: float) -> list[str]:
    """Remove what earlier formats left on a mount (their rmtree failed
    or vdsmd died during it) and this host's unfinished creates; return
    the names removed."""
    try:
        names = io.call("listdir", path=mount_path)
    except (OSError, errors.StorageError) as e:
        log.warning("SWEEP path=%s error=%s", mount_path, e)
        return []
    removed = []
    ours = unfinished_prefix()
    for name in sorted(n for n in names if n.startswith(TRASH_PREFIX)
                       or n.startswith(ours)):
        path = os.path.join(mount_path, name)
        with _removing_lock:
            if path in _removing:
                continue
        try:
            io.call("rmtree", path=path, timeout=timeout)
        except FileNotFoundError:
            continue    # another host's sweep or format was first
        except (OSError, errors.StorageError) as e:
            log.warning("SWEEP_LEFTOVER path=%s error=%s", path, e)
            continue
        log.info("SWEEP removed=%s", path)
        removed.append(name)
    return removed


def now() -> str:
    """CTIME of volumes: wall clock seconds, as the on-disk format has."""
    return str(int(time.time()))
