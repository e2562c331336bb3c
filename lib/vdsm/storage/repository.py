"""The repository: where this host's domains are mounted, and finding them.

Storage server connections put each export under ``<repository>/mnt/``
(see connection.py); a file domain is a directory ``<mount>/<sdUUID>``
with ``dom_md/metadata``. ``find_domain`` looks a domain up on the
connected mounts (remembering where it was found until its connection
goes); ``list_domains`` lists them. Connecting a server also sweeps
format leftovers off its mount, in the background.
"""

from __future__ import annotations

import logging
import os
import threading

from vdsm.common.exception import VdsmError
from vdsm.storage import connection as conn_mod
from vdsm.storage import constants as sc
from vdsm.storage import domain as dom_mod
from vdsm.storage import errors
from vdsm.storage.connection import (Connection, Connections,
                                     ConnectionStatus)
from vdsm.storage.domain import FileDomain
from vdsm.storage.outofprocess import Registry

log = logging.getLogger("vdsm.storage.repository")

# Seconds a domain's tree may take to be removed (format, sweep).
FORMAT_TIMEOUT = 60.0


class Repository:
    def __init__(self, connections: Connections, oop: Registry) -> None:
        self.connections = connections
        self.oop = oop
        self._lock = threading.Lock()
        self._domain_paths: dict[str, str] = {}

    @property
    def remove_timeout(self) -> float:
        """Seconds a domain's tree may take to be removed."""
        return max(self.oop.timeout, FORMAT_TIMEOUT)

    def start(self) -> None:
        """Replay the saved connections; sweep every mount."""
        self.connections.restore()
        for mount_path in self.mounts():
            self._sweep(mount_path)

    def stop(self) -> None:
        self.oop.close()

    # Connections.

    def connect_server(self, conn: Connection) -> ConnectionStatus:
        """Connect one server; its failure is its status, not raised."""
        try:
            self.connections.connect(conn)
        except VdsmError as e:
            return self._failed(conn, True, e)
        self._sweep(self.connections.local_path(conn))
        return ConnectionStatus(conn.id, 0)

    def disconnect_server(self, conn: Connection) -> ConnectionStatus:
        try:
            self.connections.disconnect(conn)
        except VdsmError as e:
            return self._failed(conn, False, e)
        prefix = self.connections.local_path(conn) + "/"
        with self._lock:
            self._domain_paths = {
                sd: p for sd, p in self._domain_paths.items()
                if not p.startswith(prefix)}
        return ConnectionStatus(conn.id, 0)

    @staticmethod
    def _failed(conn: Connection, connect: bool,
                e: VdsmError) -> ConnectionStatus:
        log.info("CONNECTION connection=%s connect=%s error=%s", conn.spec,
                 connect, e)
        return ConnectionStatus(conn.id, e.code)

    def _sweep(self, mount_path: str) -> None:
        """Remove format leftovers on a mount, in the background (a big
        or slow tree must not hold up the verb or the start)."""
        def run() -> None:
            try:
                dom_mod.sweep(self.oop.get(mount_path), mount_path,
                              self.remove_timeout)
            except VdsmError as e:     # storage shutting down
                log.info("SWEEP path=%s skipped=%s", mount_path, e)
        threading.Thread(target=run, name="storage/sweep",
                         daemon=True).start()

    # Domains.

    def mounts(self) -> list[str]:
        mnt = self.connections.mnt_dir
        try:
            return [os.path.join(mnt, n) for n in sorted(os.listdir(mnt))]
        except FileNotFoundError:
            return []

    def mount_path(self, remote_path: str) -> str:
        """The mount of a connected remote path; 360 if there is none."""
        name = conn_mod.local_name(remote_path)
        path = os.path.join(self.connections.mnt_dir, name)
        # "", "." and ".." name no mount but mnt/ itself or its parent.
        if name in ("", ".", "..") or "\0" in name \
                or not os.path.exists(path):
            raise errors.StorageDomainFSNotMounted(path=remote_path)
        return path

    def find_domain(self, sd_uuid: str) -> FileDomain:
        sd_uuid = sc.check_uuid(sd_uuid, "sd_uuid")
        with self._lock:
            path = self._domain_paths.get(sd_uuid)
        if path is not None:
            return FileDomain(sd_uuid, path, self.oop.get(
                os.path.dirname(path)))
        for mount_path in self.mounts():
            io = self.oop.get(mount_path)
            candidate = os.path.join(mount_path, sd_uuid)
            try:
                found = io.call("exists", path=os.path.join(
                    candidate, sc.DOM_MD, "metadata"))
            except errors.StorageError as e:
                log.warning("SCAN mount=%s error=%s", mount_path, e)
                continue
            if found:
                with self._lock:
                    self._domain_paths[sd_uuid] = candidate
                return FileDomain(sd_uuid, candidate, io)
        raise errors.StorageDomainDoesNotExist(sd=sd_uuid)

    def domain_exists(self, sd_uuid: str) -> bool:
        try:
            self.find_domain(sd_uuid)
            return True
        except errors.StorageDomainDoesNotExist:
            return False

    def forget(self, sd_uuid: str) -> None:
        """The domain is gone (formatted): look for it afresh next time."""
        with self._lock:
            self._domain_paths.pop(sd_uuid, None)

    def domains(self) -> list[FileDomain]:
        """Every domain on the connected mounts, readable or not."""
        out = []
        for mount_path in self.mounts():
            try:
                names = self.oop.get(mount_path).call("listdir",
                                                      path=mount_path)
            except (OSError, errors.StorageError):
                continue
            for name in names:
                try:
                    out.append(self.find_domain(name))
                except (VdsmError, OSError):
                    continue
        return out
