"""Mounting and unmounting: the one thing storage needs root for.

vdsmd never runs mount itself: ``Mounter`` calls the privileged
functions declared in ``vdsm.supervdsm.api.mount`` (``mount``,
``umount``) through a ``supervdsm.caller.Caller`` (supervdsmd's socket in
vdsmd; in-process where the caller is root), so mypy checks the
arguments against the declaration.
Reading the mount table (``mounts()``, ``is_mounted()``) needs no
privilege and never blocks on a dead server (/proc is local).
"""

from __future__ import annotations

import logging
import os
from typing import Callable, NamedTuple, ParamSpec

from vdsm.storage import errors
from vdsm.supervdsm.api import mount as mount_priv
from vdsm.supervdsm.caller import Caller
from vdsm.supervdsm.errors import InvalidArguments, InvalidPath

P = ParamSpec("P")

log = logging.getLogger("vdsm.storage.mount")


class MountInfo(NamedTuple):
    source: str
    target: str
    fstype: str
    options: str


class Mounter:
    """Mount through supervdsm, calling its declared functions."""

    def __init__(self, priv: Caller) -> None:
        self._priv = priv

    def mount(self, source: str, target: str, vfs_type: str,
              options: str = "") -> None:
        log.info("MOUNT source=%s target=%s type=%s options=%s",
                 source, target, vfs_type, options)
        self._call(mount_priv.mount, source, target, vfs_type, options)

    def umount(self, target: str, force: bool = False,
               lazy: bool = False) -> None:
        log.info("UMOUNT target=%s force=%s lazy=%s", target, force, lazy)
        self._call(mount_priv.umount, target, force, lazy)

    def _call(self, func: Callable[P, None], *args: P.args,
              **kwargs: P.kwargs) -> None:
        try:
            self._priv(func, *args, **kwargs)
        except (InvalidArguments, InvalidPath) as e:
            raise errors.InvalidParameter(str(e)) from None
        except errors.VdsmError as e:
            raise errors.MountError(str(e)) from None


def mounts() -> list[MountInfo]:
    """The mounts of this namespace."""
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
