"""The host being configured: a root prefix and the effective config.

Every path a configure module touches goes through ``Target.path`` so that
``vdsm-tool --root DIR`` (or ``VDSM_TOOL_ROOT``) redirects the whole run to a
tree under DIR. Users and groups are looked up in DIR/etc/passwd and
DIR/etc/group, never through NSS, for the same reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from vdsm.common.config import Config

ROOT_ENV = "VDSM_TOOL_ROOT"
CONFIG_FILE = "/etc/vdsm/vdsm.conf"


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int


@dataclass
class Target:
    root: str
    config: Config

    def path(self, path: str) -> str:
        """Return ``path`` (absolute on the host) under the root prefix."""
        if not os.path.isabs(path):
            raise ValueError(f"not an absolute path: {path}")
        if self.root == "/":
            return path
        return os.path.join(self.root, path.lstrip("/"))

    @property
    def prefixed(self) -> bool:
        return self.root != "/"

    def user(self, name: str) -> Account | None:
        for fields in _entries(self.path("/etc/passwd")):
            if len(fields) >= 4 and fields[0] == name:
                return Account(name, int(fields[2]), int(fields[3]))
        return None

    def group_gid(self, name: str) -> int | None:
        for fields in _entries(self.path("/etc/group")):
            if len(fields) >= 3 and fields[0] == name:
                return int(fields[2])
        return None

    def group_members(self, name: str) -> list[str] | None:
        for fields in _entries(self.path("/etc/group")):
            if len(fields) >= 4 and fields[0] == name:
                return [m for m in fields[3].split(",") if m]
        return None

    def user_groups(self, name: str) -> set[str]:
        """Names of the supplementary groups listing ``name``."""
        groups = set()
        for fields in _entries(self.path("/etc/group")):
            if len(fields) >= 4 and name in fields[3].split(","):
                groups.add(fields[0])
        return groups


def load(root: str | None = None, config_files: list[str] | None = None
         ) -> Target:
    """Build the target from ``root`` (or $VDSM_TOOL_ROOT, or /).

    Without ``config_files``, ROOT/etc/vdsm/vdsm.conf is read if it exists.
    """
    root = os.path.abspath(root or os.environ.get(ROOT_ENV) or "/")
    if config_files is None:
        default = os.path.join(root, CONFIG_FILE.lstrip("/"))
        config_files = [default] if os.path.exists(default) else []
    return Target(root, Config(config_files))


def _entries(path: str) -> list[list[str]]:
    try:
        with open(path) as f:
            return [line.rstrip("\n").split(":") for line in f
                    if line.strip() and not line.startswith("#")]
    except FileNotFoundError:
        return []
