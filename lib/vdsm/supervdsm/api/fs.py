"""Privileged directory creation and ownership under the allowed roots.

``mkdir(path, mode)`` creates one directory owned by the vdsm user and
group ([vars] user/group); ``chown(path)`` gives an existing file or
directory to them. Paths must lie under [irs] repository (or [supervdsm]
allowed_roots) and are walked without following symlinks.
"""

from __future__ import annotations

import os
import stat

from vdsm.supervdsm import paths, runtime
from vdsm.supervdsm.allowlist import privileged
from vdsm.supervdsm.errors import InvalidArguments, InvalidPath


@privileged
def mkdir(path: str, mode: int = 0o755) -> bool:
    """Create directory ``path`` owned by vdsm; False if it existed."""
    if not 0 <= mode <= 0o777:
        raise InvalidArguments(f"mode {mode:#o} is not within 0..0o777")
    uid, gid = runtime.vdsm_owner()
    with paths.open_parent(path) as (parent, name):
        try:
            os.mkdir(name, mode, dir_fd=parent)
        except FileExistsError:
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                raise InvalidPath(f"{path} exists and is not a directory") \
                    from None
            return False
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                     | os.O_CLOEXEC, dir_fd=parent)
        try:
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
    return True


@privileged
def chown(path: str) -> None:
    """Give ``path`` (not followed if a symlink) to the vdsm user."""
    uid, gid = runtime.vdsm_owner()
    with paths.open_parent(path) as (parent, name):
        try:
            os.chown(name, uid, gid, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            raise InvalidPath(f"{path} does not exist") from None
