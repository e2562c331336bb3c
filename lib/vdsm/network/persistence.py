"""The running and the safe network config, on disk.

Both live under ``<lib_dir>/persistence/netconf/`` ([vars] lib_dir,
/var/lib/vdsm by default)::

    running.json   the config as applied by the last successful
                   setupNetworks (what the host has now)
    safe.json      the config marked safe by Host.setSafeNetworkConfig;
                   ``vdsm-tool restore-nets`` brings it back at boot

Each file is one JSON object ``{"networks": {...}, "bondings": {...}}``
in upstream's canonical network attrs (the keys of its persisted
netconf and of setupNetworks: ``defaultRoute`` ...), written atomically
(temporary file, fsync, rename), so a crash leaves the old or the new
config, never half.
One file per config keeps a 200-network setupNetworks at one fsync.
"""

from __future__ import annotations

import json
import os

from vdsm.network.model import Config

RUNNING = "running.json"
SAFE = "safe.json"


def netconf_dir(lib_dir: str) -> str:
    return os.path.join(lib_dir, "persistence", "netconf")


class Store:
    def __init__(self, path: str) -> None:
        self.path = path
        # is_dirty()'s last answer, and the files' identity it was for.
        self._dirty: tuple[tuple, bool] | None = None

    def load_running(self) -> Config:
        return self._load(RUNNING)

    def load_safe(self) -> Config:
        return self._load(SAFE)

    def has_safe(self) -> bool:
        return os.path.exists(os.path.join(self.path, SAFE))

    def save_running(self, config: Config) -> None:
        self._save(RUNNING, config.to_attrs())

    def set_safe(self) -> None:
        """Mark the running config safe."""
        self._save(SAFE, self._raw(RUNNING))

    def is_dirty(self) -> bool:
        """True when the running config differs from the safe one.

        Host.getStats asks on the asyncio loop: the files are read again
        only when one of them changed (each is replaced by a rename, so
        a new inode), two stat() calls otherwise.
        """
        stamp = (self._stamp(RUNNING), self._stamp(SAFE))
        cached = self._dirty
        if cached is not None and cached[0] == stamp:
            return cached[1]
        dirty = self._raw(RUNNING) != self._raw(SAFE)
        self._dirty = (stamp, dirty)
        return dirty

    def _stamp(self, name: str) -> tuple[int, int, int, int] | None:
        try:
            st = os.stat(os.path.join(self.path, name))
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size

    def _load(self, name: str) -> Config:
        return Config.from_attrs(self._raw(name))

    def _raw(self, name: str) -> dict:
        try:
            with open(os.path.join(self.path, name)) as f:
                return json.load(f)
        except FileNotFoundError:
            return {"networks": {}, "bondings": {}}

    def _save(self, name: str, data: dict) -> None:
        os.makedirs(self.path, exist_ok=True)
        final = os.path.join(self.path, name)
        tmp = final + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        dirfd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
