"""qemu-img, the tool for everything on images.

Each call is a child process with a timeout; a caller may pass an
``on_start`` callback that gets the Popen, so a task can kill it when
stopped. ``convert`` also takes ``on_progress``, called with the percent
done that ``qemu-img convert -p`` prints (``    (12.50/100%)\r``).
"""

from __future__ import annotations

import json
import logging
import re
import selectors
import subprocess
import time
from typing import Any, Callable

from vdsm.storage import errors

log = logging.getLogger("vdsm.storage.qemuimg")

QEMU_IMG = "qemu-img"
FORMATS = ("raw", "qcow2")
DEFAULT_TIMEOUT = 3600

OnStart = Callable[[subprocess.Popen], None]
OnProgress = Callable[[float], None]

_PROGRESS = re.compile(rb"\((\d+(?:\.\d+)?)/100%\)")


class QemuImgError(errors.StorageError):
    message = "qemu-img failed"


def _run(args: list[str], timeout: float = DEFAULT_TIMEOUT,
         on_start: OnStart | None = None,
         on_progress: OnProgress | None = None) -> str:
    cmd = [QEMU_IMG] + args
    log.debug("RUN cmd=%s", cmd)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, close_fds=True)
    if on_start is not None:
        on_start(proc)
    try:
        out, err = _communicate(proc, timeout, on_progress)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise QemuImgError("timed out", cmd=" ".join(cmd)) from None
    if proc.returncode != 0:
        raise QemuImgError(err.strip() or f"rc={proc.returncode}",
                           cmd=args[0])
    return out


def _communicate(proc: subprocess.Popen, timeout: float,
                 on_progress: OnProgress | None) -> tuple[str, str]:
    """Read both pipes to the end, reporting progress as it comes."""
    if on_progress is None:
        out, err = proc.communicate(timeout=timeout)
        return out.decode(), err.decode()
    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + timeout
    chunks: dict[Any, list[bytes]] = {proc.stdout: [], proc.stderr: []}
    with selectors.DefaultSelector() as sel:
        for pipe in chunks:
            sel.register(pipe, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(proc.args, timeout)
            for key, _ in sel.select(left):
                data = key.fileobj.read1(65536)  # type: ignore[union-attr]
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                chunks[key.fileobj].append(data)
                if key.fileobj is proc.stdout:
                    found = _PROGRESS.findall(data)
                    if found:
                        on_progress(float(found[-1]))
    proc.wait(max(0.1, deadline - time.monotonic()))
    return (b"".join(chunks[proc.stdout]).decode(),
            b"".join(chunks[proc.stderr]).decode())


def create(path: str, size: int, fmt: str, preallocation: str | None = None,
           backing: str | None = None, backing_fmt: str | None = None,
           timeout: float = DEFAULT_TIMEOUT,
           on_start: OnStart | None = None) -> None:
    opts = []
    if fmt == "qcow2":
        opts.append("compat=1.1")
    if preallocation:
        opts.append(f"preallocation={preallocation}")
    args = ["create", "-f", fmt]
    if opts:
        args += ["-o", ",".join(opts)]
    if backing:
        args += ["-b", backing, "-F", backing_fmt or "qcow2"]
    _run(args + ["-u", path, str(size)] if backing else
         args + [path, str(size)], timeout, on_start)


def info(path: str, fmt: str | None = None, backing_chain: bool = False,
         timeout: float = 60) -> Any:
    args = ["info", "--output", "json", "-U"]
    if fmt:
        args += ["-f", fmt]
    if backing_chain:
        args.append("--backing-chain")
    return json.loads(_run(args + [path], timeout))


def convert(src: str, dst: str, src_fmt: str, dst_fmt: str,
            backing: str | None = None, backing_fmt: str | None = None,
            create: bool = True, timeout: float = DEFAULT_TIMEOUT,
            on_start: OnStart | None = None,
            on_progress: OnProgress | None = None) -> None:
    args = ["convert", "-p", "-t", "writeback", "-f", src_fmt,
            "-O", dst_fmt]
    if not create:
        args.append("-n")
    if dst_fmt == "qcow2" and create:
        args += ["-o", "compat=1.1"]
    if backing:
        args += ["-B", backing, "-F", backing_fmt or "qcow2"]
    _run(args + [src, dst], timeout, on_start, on_progress)


def resize(path: str, size: int, fmt: str,
           timeout: float = DEFAULT_TIMEOUT) -> None:
    _run(["resize", "-f", fmt, path, str(size)], timeout)


def bitmaps(path: str) -> list[str]:
    """Names of the persistent bitmaps of a qcow2 image."""
    data = info(path, fmt="qcow2").get("format-specific", {}).get("data", {})
    return [b["name"] for b in data.get("bitmaps", [])]


def add_bitmap(path: str, name: str, timeout: float = 60) -> None:
    """Add an empty, enabled persistent bitmap to a qcow2 image."""
    _run(["bitmap", "--add", "--enable", "-f", "qcow2", path, name],
         timeout)


def rebase_unsafe(path: str, backing: str, backing_fmt: str, fmt: str,
                  timeout: float = 60) -> None:
    _run(["rebase", "-u", "-f", fmt, "-b", backing, "-F", backing_fmt,
          path], timeout)
