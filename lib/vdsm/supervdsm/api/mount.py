"""Privileged mount and umount under the storage repository.

``mount(spec, mountpoint, vfs_type, options)`` mounts ``spec`` on an
existing directory ``mountpoint`` under [irs] repository (or [supervdsm]
allowed_roots). ``vfs_type`` comes from ``VFS_TYPES``; block filesystems
need a block device as ``spec`` (attach files with ``devices.loop_attach``,
the ``loop`` option is refused). ``options`` is the usual comma-separated
mount option string; ``nosuid,nodev`` are always added and ``suid``/``dev``
refused, so nothing mounted here can hand the vdsm user root. Storage code
builds NFS/POSIX/gluster option strings itself and passes them here.

``umount(mountpoint, force, lazy)`` unmounts what is mounted exactly at
``mountpoint`` (MNT_FORCE / MNT_DETACH).

Both act on the directory reached by a symlink-free walk from the allowed
root (see ``vdsm.supervdsm.paths``), so a caller cannot redirect them.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import stat

from vdsm.supervdsm import paths, runtime
from vdsm.supervdsm.allowlist import privileged
from vdsm.supervdsm.errors import (CommandFailed, InvalidArguments,
                                   MountFailed)

BLOCK_TYPES = ("ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "iso9660")
NETWORK_TYPES = ("nfs", "nfs4", "cifs", "glusterfs", "ceph")
VFS_TYPES = BLOCK_TYPES + NETWORK_TYPES + ("tmpfs",)
FORCED_OPTIONS = ("nosuid", "nodev")
# Compared case-insensitively: mount(8) takes x-mount.mkdir for
# X-mount.mkdir. helper= and uhelper= would pick the /sbin/mount.TYPE
# program run as root; the X-mount.* family makes, chowns or chmods
# directories (mkdir, owner, group, mode, subdir, idmap).
REFUSED_OPTIONS = ("suid", "dev", "loop", "remount", "bind", "rbind",
                   "move", "owner", "user", "users", "helper", "uhelper")
REFUSED_PREFIXES = ("x-mount.",)
_OPTION = re.compile(r"^[A-Za-z0-9_.+-]+(=[A-Za-z0-9_.:/+@~%-]*)?$")
_SPEC = re.compile(r"^[^\s\0-][^\s\0]*$")

MNT_FORCE = 1
MNT_DETACH = 2
UMOUNT_NOFOLLOW = 8


@privileged
def mount(spec: str, mountpoint: str, vfs_type: str, options: str = ""
          ) -> None:
    """Mount ``spec`` of type ``vfs_type`` on ``mountpoint``."""
    opts = _check(spec, vfs_type, options)
    with paths.open_dir(mountpoint) as fd:
        argv = ["mount", "--no-canonicalize", "-t", vfs_type,
                "-o", ",".join(opts), "--", spec, paths.fd_path(fd)]
        try:
            runtime.run(argv, pass_fds=(fd,))
        except CommandFailed as e:
            raise MountFailed(f"{spec} on {mountpoint}: {e.reason}") \
                from None


@privileged
def umount(mountpoint: str, force: bool = False, lazy: bool = False) -> None:
    """Unmount the filesystem mounted at ``mountpoint``."""
    flags = UMOUNT_NOFOLLOW
    flags |= MNT_FORCE if force else 0
    flags |= MNT_DETACH if lazy else 0
    with paths.open_parent(mountpoint) as (parent, name):
        target = f"{paths.fd_path(parent)}/{name}".encode()
        if _libc.umount2(target, flags) != 0:
            err = ctypes.get_errno()
            reason = ("not mounted" if err == errno.EINVAL
                      else os.strerror(err))
            raise MountFailed(f"umount {mountpoint}: {reason}")


def _check(spec: str, vfs_type: str, options: str) -> list[str]:
    if vfs_type not in VFS_TYPES:
        raise InvalidArguments(f"vfs type {vfs_type!r} is not one of "
                               f"{', '.join(VFS_TYPES)}")
    if not _SPEC.match(spec) or len(spec) > 4096:
        raise InvalidArguments(f"invalid mount source {spec!r}")
    if vfs_type in BLOCK_TYPES:
        _check_block_device(spec)
    opts = [o for o in options.split(",") if o]
    for opt in opts:
        if not _OPTION.match(opt):
            raise InvalidArguments(f"invalid mount option {opt!r}")
        name = opt.split("=", 1)[0].lower()
        if name in REFUSED_OPTIONS or name.startswith(REFUSED_PREFIXES):
            raise InvalidArguments(f"mount option {opt!r} is not allowed")
    return opts + [o for o in FORCED_OPTIONS if o not in opts]


def _check_block_device(spec: str) -> None:
    try:
        st = os.stat(spec)
    except OSError as e:
        raise InvalidArguments(f"{spec}: {e.strerror}") from None
    if not stat.S_ISBLK(st.st_mode):
        raise InvalidArguments(f"{spec} is not a block device")


_libc = ctypes.CDLL(None, use_errno=True)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
