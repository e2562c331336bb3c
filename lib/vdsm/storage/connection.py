"""Storage server connections: what to mount (or link) and where.

A connection makes a storage server's export visible under
``<repository>/mnt/<name>``: NFS and POSIXFS are mounted there (through
supervdsm), LOCALFS is a symlink to the local directory. ``<name>`` is the
remote path with ``_`` doubled and ``/`` turned into ``_``, as upstream
names it, so an existing host layout stays valid. A LOCALFS path that is
(once its symlinks are resolved) the repository, under it or above it is
refused (1000): its link would make a loop under the repository.

The list of connections is the only storage state kept on the host:
``<lib_dir>/storage/connections.json``, rewritten atomically on every
change and replayed by ``restore()`` when vdsmd starts.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict, dataclass

from vdsm.storage import constants as sc
from vdsm.storage import errors, mount
from vdsm.storage.mount import Mounter
from vdsm.storage.outofprocess import Registry

log = logging.getLogger("vdsm.storage.connection")

NFS_OPTIONS = "soft,nosharecache,timeo=100,retrans=3"


@dataclass(frozen=True)
class Connection:
    id: str
    dom_type: int
    spec: str
    vfs_type: str = ""
    options: str = ""
    nfs_version: str = ""

    @property
    def name(self) -> str:
        return local_name(self.spec)

    def mount_options(self) -> str:
        if self.dom_type != sc.NFS:
            return self.options
        opts = [NFS_OPTIONS]
        if self.nfs_version and self.nfs_version != "auto":
            opts.append(f"nfsvers={self.nfs_version}")
        if self.options:
            opts.append(self.options)
        return ",".join(opts)


@dataclass(frozen=True)
class ConnectionStatus:
    """The outcome of connecting or disconnecting one connection."""

    id: str
    code: int          # 0, or the error's code


def local_name(remote_path: str) -> str:
    """The name of a remote path's mount under mnt/, as upstream's."""
    return remote_path.replace("_", "__").replace("/", "_")


def check_type(dom_type: int) -> None:
    """451 unless the domain type is one we connect (file domains)."""
    if dom_type not in sc.FILE_DOMAIN_TYPES:
        raise errors.StorageServerConnectionError(
            "unsupported domain type", domType=dom_type)


def check(conn: Connection) -> Connection:
    """conn if it can be connected safely; 451/1000 (nothing done)."""
    check_type(conn.dom_type)
    dom_type, spec = conn.dom_type, conn.spec
    if not spec or "\0" in spec or "\n" in spec:
        raise errors.InvalidParameter("bad connection", value=spec)
    if dom_type == sc.LOCALFS and (not os.path.isabs(spec)
                                   or os.path.normpath(spec) != spec):
        raise errors.InvalidParameter(
            "LOCALFS path must be absolute and normalized", path=spec)
    if conn.name in (".", ".."):
        # Its mount point would be the repository's mnt dir or the
        # repository itself.
        raise errors.InvalidParameter("bad connection", value=spec)
    if dom_type == sc.NFS and ":" not in spec:
        raise errors.InvalidParameter("NFS needs server:/path", value=spec)
    if conn.vfs_type and not conn.vfs_type.replace(".", "").isalnum():
        raise errors.InvalidParameter("bad vfs_type", value=conn.vfs_type)
    return conn


class Connections:
    """Connect, disconnect and persist storage server connections."""

    def __init__(self, repository: str, lib_dir: str, oop: Registry,
                 mounter: Mounter) -> None:
        self._mounter = mounter
        self._repository = repository
        self.mnt_dir = os.path.join(repository, "mnt")
        self._file = os.path.join(lib_dir, "storage", "connections.json")
        self._oop = oop
        self._lock = threading.Lock()

    def local_path(self, conn: Connection) -> str:
        return os.path.join(self.mnt_dir, conn.name)

    def connect(self, conn: Connection) -> None:
        with self._lock:
            self._connect(conn)
            saved = [c for c in self._load() if c.spec != conn.spec]
            self._save(saved + [conn])

    def disconnect(self, conn: Connection) -> None:
        with self._lock:
            self._disconnect(conn)
            self._save([c for c in self._load() if c.spec != conn.spec])

    def umount_all(self) -> None:
        """Lazily unmount what is mounted under mnt_dir (tests, cleanup)."""
        for m in mount.mounts():
            if m.target.startswith(self.mnt_dir + "/"):
                self._mounter.umount(m.target, lazy=True)

    def restore(self) -> None:
        """Bring back every saved connection (at vdsmd start)."""
        for conn in self._load():
            try:
                with self._lock:
                    self._connect(conn)
                log.info("RESTORE connection=%s status=ok", conn.spec)
            except (errors.StorageError, errors.InvalidParameter) as e:
                log.warning("RESTORE connection=%s error=%s", conn.spec, e)

    def saved(self) -> list[Connection]:
        return self._load()

    # Helpers.

    def _connect(self, conn: Connection) -> None:
        target = self.local_path(conn)
        _makedirs(self.mnt_dir)
        if conn.dom_type == sc.LOCALFS:
            self._link(conn, target)
            return
        if mount.is_mounted(target):
            return
        _makedirs(target)
        try:
            self._mounter.mount(conn.spec, target, conn.vfs_type or
                                ("nfs" if conn.dom_type == sc.NFS else ""),
                                conn.mount_options())
        except (errors.StorageError, errors.InvalidParameter):
            _rmdir(target)
            raise
        try:
            self._check_access(target)
        except errors.StorageError:
            self._mounter.umount(target, lazy=True)
            self._oop.get(target).close()
            _rmdir(target)
            raise

    def _link(self, conn: Connection, target: str) -> None:
        self._check_outside_repository(conn.spec, conn.spec)
        try:
            st = self._oop.get(conn.spec).call("stat", path=conn.spec)
            real = self._oop.get(conn.spec).call("realpath", path=conn.spec)
        except FileNotFoundError:
            raise errors.StorageServerConnectionError(
                "no such directory", path=conn.spec) from None
        self._check_outside_repository(conn.spec, real)
        if not st["is_dir"]:
            raise errors.StorageServerConnectionError(
                "not a directory", path=conn.spec)
        self._check_access(conn.spec)
        if os.path.islink(target):
            if os.readlink(target) == conn.spec:
                return
            os.unlink(target)
        os.symlink(conn.spec, target)

    def _check_outside_repository(self, spec: str, path: str) -> None:
        """A LOCALFS link to the repository, into it or to one of its
        parents would make a loop (mnt/_rhev -> /rhev -> .../mnt/_rhev):
        refused as upstream refuses a bad path (1000), nothing made."""
        repo = os.path.realpath(self._repository)
        if path == repo or path.startswith(repo.rstrip("/") + "/") or \
                repo.startswith(path.rstrip("/") + "/"):
            raise errors.InvalidParameter(
                "LOCALFS path is the storage repository, under it or "
                "above it", path=spec)

    def _check_access(self, path: str) -> None:
        """vdsmd runs as vdsm:kvm: the storage must be usable by it, as
        upstream checks (469), before anything is created there."""
        if not self._oop.get(path).call("access", path=path):
            raise errors.StorageServerAccessPermissionError(path=path)

    def _disconnect(self, conn: Connection) -> None:
        target = self.local_path(conn)
        if conn.dom_type == sc.LOCALFS:
            if os.path.islink(target):
                os.unlink(target)
            return
        if mount.is_mounted(target):
            self._mounter.umount(target)
        self._oop.get(target).close()
        _rmdir(target)

    def _load(self) -> list[Connection]:
        try:
            with open(self._file) as f:
                return [Connection(**d) for d in json.load(f)]
        except FileNotFoundError:
            return []

    def _save(self, conns: list[Connection]) -> None:
        os.makedirs(os.path.dirname(self._file), exist_ok=True)
        tmp = self._file + ".tmp"
        with open(tmp, "w") as f:
            json.dump([asdict(c) for c in conns], f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, self._file)


def _rmdir(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass


def _makedirs(path: str) -> None:
    """A dir of the repository (made by vdsm-tool configure for vdsm)."""
    try:
        os.makedirs(path, exist_ok=True)
    except PermissionError:
        raise errors.StorageServerConnectionError(
            "vdsm cannot create the mount point (is the repository owned by "
            "vdsm? see vdsm-tool configure)", path=path) from None
