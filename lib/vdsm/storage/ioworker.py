"""The helper process doing file I/O on domain mounts (child side).

Run as ``python -m vdsm.storage.ioworker``. Reads one JSON request per line
on stdin, ``{"id": n, "op": name, "args": {...}}``, runs it in a thread of
its own and writes ``{"id": n, "result": ...}`` or ``{"id": n, "error":
{"errno": e, "type": name, "message": text}}`` on stdout. A request stuck on
a dead mount stalls only its own thread; the parent gives up on it after its
timeout and may kill this whole process.

Every operation is a small named function below: nothing else can run here.

Files and directories are created with explicit modes, whatever the
umask: files 0660 (``FILE_MODE``: qemu and sanlock open them through group
kvm), directories 0755 (``DIR_MODE``), as upstream Vdsm lays out domains.
"""

from __future__ import annotations

import base64
import errno
import glob as _glob
import json
import mmap
import os
import shutil
import sys
import threading
import time
from typing import Any, Callable

OPS: dict[str, Callable[..., Any]] = {}

FILE_MODE = 0o660
DIR_MODE = 0o755


def op(func: Callable[..., Any]) -> Callable[..., Any]:
    OPS[func.__name__] = func
    return func


@op
def ping() -> bool:
    return True


@op
def read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


@op
def write_text(path: str, text: str) -> None:
    """Replace path atomically: readers see the old or the new content."""
    tmp = f"{path}.tmp.{os.getpid()}.{threading.get_ident()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    with open(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
    _fsync_dir(os.path.dirname(path))


@op
def exists(path: str) -> bool:
    return os.path.exists(path)


@op
def listdir(path: str) -> list[str]:
    return sorted(os.listdir(path))


@op
def glob(pattern: str) -> list[str]:
    return sorted(_glob.glob(pattern))


@op
def stat(path: str) -> dict[str, Any]:
    st = os.stat(path)
    return {"size": st.st_size, "allocated": st.st_blocks * 512,
            "mtime": st.st_mtime, "mode": st.st_mode, "uid": st.st_uid,
            "gid": st.st_gid, "is_dir": os.path.isdir(path)}


@op
def realpath(path: str) -> str:
    """path with every symlink resolved (may hang on a dead mount, so
    here rather than in vdsmd)."""
    return os.path.realpath(path)


@op
def access(path: str) -> bool:
    """Whether this process may list, create in and enter directory path."""
    return os.access(path, os.R_OK | os.W_OK | os.X_OK)


@op
def statvfs(path: str) -> dict[str, int]:
    st = os.statvfs(path)
    return {"total": st.f_blocks * st.f_frsize,
            "free": st.f_bavail * st.f_frsize,
            "block_size": st.f_bsize}


@op
def makedirs(path: str, mode: int = DIR_MODE) -> None:
    """Make path and missing parents, each created one with mode."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        makedirs(parent, mode)
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
        return
    os.chmod(path, mode)


@op
def chmod(path: str, mode: int = FILE_MODE) -> None:
    os.chmod(path, mode)


@op
def unlink(path: str, missing_ok: bool = True) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        if not missing_ok:
            raise


@op
def rmtree(path: str) -> None:
    if os.path.lexists(path):
        shutil.rmtree(path)


@op
def rename(src: str, dst: str) -> None:
    os.rename(src, dst)


@op
def truncate(path: str, size: int, create: bool = True,
             exclusive: bool = False) -> None:
    """Make path a sparse file of size bytes (mode FILE_MODE if new)."""
    fd = _open_new(path) if create else None
    if fd is None:
        if create and exclusive:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST),
                                  path)
        fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)


@op
def probe_block_size(path: str) -> int:
    """The smallest direct-I/O write the file system of dir path takes."""
    probe = os.path.join(path,
                         f".prob-{os.getpid()}-{threading.get_ident()}")
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
    try:
        for size in (512, 4096):
            buf = mmap.mmap(-1, size)
            try:
                os.pwritev(fd, [buf], 0)
                return size
            except OSError as e:
                if e.errno != errno.EINVAL:
                    raise
            finally:
                buf.close()
        return 4096
    finally:
        os.close(fd)
        os.unlink(probe)


@op
def direct_read(path: str, size: int = 4096) -> dict[str, float]:
    """Read the start of path bypassing the page cache; time it."""
    start = time.monotonic()
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, size)
    try:
        count = os.preadv(fd, [buf], 0)
    finally:
        buf.close()
        os.close(fd)
    return {"size": count, "delay": time.monotonic() - start}


@op
def pread_direct(path: str, offset: int, size: int) -> str:
    """size bytes at offset, read bypassing the page cache (base64).
    offset and size are multiples of the file system's block size."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, size)
    try:
        with memoryview(buf) as view:
            got = 0
            while got < size:
                n = os.preadv(fd, [view[got:]], offset + got)
                if n == 0:
                    raise OSError(errno.EIO,
                                  f"short read at {offset + got}", path)
                got += n
        return base64.b64encode(buf[:]).decode("ascii")
    finally:
        buf.close()
        os.close(fd)


@op
def pwrite_direct(path: str, offset: int, data: str) -> None:
    """Write data (base64) at offset bypassing the page cache, then
    fsync: on return it is on storage. Aligned as pread_direct."""
    raw = base64.b64decode(data)
    fd = os.open(path, os.O_WRONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, len(raw))
    try:
        buf[:] = raw
        with memoryview(buf) as view:
            done = 0
            while done < len(raw):
                done += os.pwritev(fd, [view[done:]], offset + done)
        os.fsync(fd)
    finally:
        buf.close()
        os.close(fd)


@op
def sleep(seconds: float) -> None:
    """For tests of the timeout machinery."""
    time.sleep(seconds)


def _open_new(path: str) -> int | None:
    """An fd of path created now, mode FILE_MODE; None if it existed."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return None
    os.fchmod(fd, FILE_MODE)
    return fd


def _fsync_dir(path: str) -> None:
    fd = os.open(path or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Server:
    def __init__(self, out) -> None:
        self._out = out
        self._lock = threading.Lock()

    def reply(self, msg: dict[str, Any]) -> None:
        line = json.dumps(msg) + "\n"
        with self._lock:
            self._out.write(line)
            self._out.flush()

    def handle(self, req: dict[str, Any]) -> None:
        try:
            func = OPS[req["op"]]
            self.reply({"id": req["id"], "result": func(**req["args"])})
        except OSError as e:
            self.reply({"id": req["id"], "error": {
                "errno": e.errno, "type": type(e).__name__,
                "message": str(e)}})
        except Exception as e:
            self.reply({"id": req["id"], "error": {
                "errno": None, "type": type(e).__name__, "message": str(e)}})

    def serve(self, inp) -> None:
        for line in inp:
            req = json.loads(line)
            threading.Thread(target=self.handle, args=(req,),
                             daemon=True).start()


def main() -> None:
    _Server(sys.stdout).serve(sys.stdin)


if __name__ == "__main__":
    main()
