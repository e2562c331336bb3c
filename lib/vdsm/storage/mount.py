"""Mounting and unmounting, the one place storage needs root for.

vdsmd never runs mount itself in production: ``mount()`` and ``umount()``
call supervdsmd's ``mount`` module. Until supervdsm's client is available
(``vdsm.supervdsm.client``) they fall back to running mount(8) directly,
which works only when vdsmd runs as root (tests, development).
"""

from __future__ import annotations

import logging
import os
import subprocess
from typing import Any, NamedTuple

from vdsm.storage import errors

log = logging.getLogger("vdsm.storage.mount")

MOUNT_TIMEOUT = 180


class MountInfo(NamedTuple):
    source: str
    target: str
    fstype: str
    options: str


def _privileged(name: str, **kwargs: Any) -> Any | None:
    """Call supervdsm's name; None when supervdsm is not available."""
    try:
        from vdsm.supervdsm import client  # type: ignore[attr-defined]
    except ImportError:
        return None
    return client.call(name, **kwargs)


def mount(source: str, target: str, vfs_type: str | None = None,
          options: str | None = None,
          timeout: int = MOUNT_TIMEOUT) -> None:
    log.info("MOUNT source=%s target=%s type=%s options=%s",
             source, target, vfs_type, options)
    try:
        if _privileged("mount.mount", source=source, target=target,
                       vfs_type=vfs_type or "", options=options or "",
                       timeout=timeout) is not None:
            return
    except Exception as e:
        raise errors.MountError(str(e), source=source) from None
    cmd = ["mount"]
    if vfs_type:
        cmd += ["-t", vfs_type]
    if options:
        cmd += ["-o", options]
    cmd += [source, target]
    _run(cmd, timeout, source)


def umount(target: str, force: bool = False, lazy: bool = False,
           timeout: int = MOUNT_TIMEOUT) -> None:
    log.info("UMOUNT target=%s force=%s lazy=%s", target, force, lazy)
    try:
        if _privileged("mount.umount", target=target, force=force,
                       lazy=lazy, timeout=timeout) is not None:
            return
    except Exception as e:
        raise errors.MountError(str(e), target=target) from None
    cmd = ["umount"] + (["-f"] if force else []) + (["-l"] if lazy else [])
    _run(cmd + [target], timeout, target)


def _run(cmd: list[str], timeout: int, what: str) -> None:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise errors.MountError("timed out", cmd=" ".join(cmd)) from None
    if p.returncode != 0:
        raise errors.MountError(p.stderr.strip() or f"rc={p.returncode}",
                                what=what)


def mounts() -> list[MountInfo]:
    """The mounts of this namespace (reading /proc never blocks on NFS)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fields = left.split()
            fstype, source, options = right.split()[:3]
            out.append(MountInfo(_unescape(source), _unescape(fields[4]),
                                 fstype, fields[5] + "," + options))
    return out


def is_mounted(target: str) -> bool:
    target = os.path.normpath(target)
    return any(m.target == target for m in mounts())


def _unescape(s: str) -> str:
    return (s.replace("\\040", " ").replace("\\011", "\t")
            .replace("\\012", "\n").replace("\\134", "\\"))
