"""Race-free resolution of caller-given paths under the allowed roots.

A caller (the vdsm user) owns directories under the storage repository and
could swap a path component for a symlink between our check and our use.
So a path is never used as a string after checking: ``open_under`` walks it
from the allowed root one component at a time with O_NOFOLLOW and returns
file descriptors; functions then act on ``/proc/self/fd/N`` or with
``dir_fd``, which name exactly the inode that was checked.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from vdsm.supervdsm import runtime
from vdsm.supervdsm.errors import InvalidPath

_DIR = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def split_under_root(path: str) -> tuple[str, list[str]]:
    """(root, components below it); raise InvalidPath if not allowed."""
    if not path.startswith("/") or "\0" in path:
        raise InvalidPath(f"not an absolute path: {path!r}")
    if os.path.normpath(path) != path or path.startswith("//"):
        raise InvalidPath(f"path is not normalized: {path!r}")
    for root in runtime.allowed_roots():
        if path == root or path.startswith(root.rstrip("/") + "/"):
            rest = path[len(root):].strip("/")
            return root, rest.split("/") if rest else []
    raise InvalidPath(f"{path} is not under an allowed root "
                      f"({' '.join(runtime.allowed_roots())})")


@contextmanager
def open_parent(path: str) -> Iterator[tuple[int, str]]:
    """Yield (fd of the parent directory, last component) of ``path``."""
    root, parts = split_under_root(path)
    if not parts:
        raise InvalidPath(f"{path} is an allowed root itself")
    fd = os.open(root, _DIR)
    try:
        for part in parts[:-1]:
            new = _step(fd, part, path)
            os.close(fd)
            fd = new
        yield fd, parts[-1]
    finally:
        os.close(fd)


@contextmanager
def open_dir(path: str) -> Iterator[int]:
    """Yield an O_PATH fd of the directory ``path`` (no symlinks)."""
    with open_parent(path) as (parent, name):
        try:
            fd = os.open(name, _DIR, dir_fd=parent)
        except FileNotFoundError:
            raise InvalidPath(f"{path} does not exist") from None
        except (NotADirectoryError, OSError) as e:
            raise InvalidPath(f"{path} is not a directory: {e}") from None
        try:
            yield fd
        finally:
            os.close(fd)


def fd_path(fd: int) -> str:
    return f"/proc/self/fd/{fd}"


def _step(fd: int, part: str, path: str) -> int:
    try:
        return os.open(part, _DIR, dir_fd=fd)
    except OSError as e:
        raise InvalidPath(f"{path}: component {part!r} is not a directory "
                          f"(or is a symlink): {e.strerror}") from None
