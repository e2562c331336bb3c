"""Privileged loop devices and udev settling.

``loop_attach(path, read_only)`` attaches a regular file under the allowed
roots to a free loop device and returns its path; ``loop_detach(device)``
detaches a loop device whose backing file is under the allowed roots (so
the host's own loop devices are out of reach). ``udev_settle(timeout)``
waits for the udev event queue to empty.
"""

from __future__ import annotations

import os
import re
import stat

from vdsm.supervdsm import paths, runtime
from vdsm.supervdsm.allowlist import privileged
from vdsm.supervdsm.errors import InvalidArguments, InvalidPath

_LOOP = re.compile(r"^/dev/loop([0-9]+)$")


@privileged
def loop_attach(path: str, read_only: bool = False) -> str:
    """Attach regular file ``path`` to a free loop device; return it."""
    with paths.open_parent(path) as (parent, name):
        flags = os.O_RDONLY if read_only else os.O_RDWR
        try:
            fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC,
                         dir_fd=parent)
        except OSError as e:
            raise InvalidPath(f"{path}: {e.strerror}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InvalidPath(f"{path} is not a regular file")
            argv = ["losetup", "--find", "--show"]
            argv += ["--read-only"] if read_only else []
            out = runtime.run(argv + [paths.fd_path(fd)], pass_fds=(fd,))
        finally:
            os.close(fd)
    return out.strip()


@privileged
def loop_detach(device: str) -> None:
    """Detach loop ``device`` (/dev/loopN) backed by an allowed file."""
    m = _LOOP.match(device)
    if not m:
        raise InvalidArguments(f"not a loop device: {device!r}")
    backing = _backing_file(f"loop{m.group(1)}")
    if backing is None:
        raise InvalidPath(f"{device} is not attached")
    paths.split_under_root(os.path.normpath(backing))
    runtime.run(["losetup", "--detach", device])


@privileged
def udev_settle(timeout: int = 10) -> None:
    """Wait up to ``timeout`` seconds for udev to process its events."""
    if not 1 <= timeout <= 600:
        raise InvalidArguments(f"timeout {timeout} is not within 1..600")
    runtime.run(["udevadm", "settle", f"--timeout={timeout}"])


def _backing_file(name: str) -> str | None:
    try:
        with open(f"/sys/block/{name}/loop/backing_file") as f:
            return f.read().strip()
    except FileNotFoundError:
        return None
