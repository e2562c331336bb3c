"""qemu-img, the tool for everything on images.

Each call is a child process with a timeout; a caller may pass an
``on_start`` callback that gets the Popen, so a task can kill it when
stopped.
"""

from __future__ import annotations

import json
import logging
import subprocess
from typing import Any, Callable

from vdsm.storage import errors

log = logging.getLogger("vdsm.storage.qemuimg")

QEMU_IMG = "qemu-img"
FORMATS = ("raw", "qcow2")
DEFAULT_TIMEOUT = 3600

OnStart = Callable[[subprocess.Popen], None]


class QemuImgError(errors.StorageError):
    message = "qemu-img failed"


def _run(args: list[str], timeout: float = DEFAULT_TIMEOUT,
         on_start: OnStart | None = None) -> str:
    cmd = [QEMU_IMG] + args
    log.debug("RUN cmd=%s", cmd)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            close_fds=True)
    if on_start is not None:
        on_start(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise QemuImgError("timed out", cmd=" ".join(cmd)) from None
    if proc.returncode != 0:
        raise QemuImgError(err.strip() or f"rc={proc.returncode}",
                           cmd=args[0])
    return out


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
            on_start: OnStart | None = None) -> None:
    args = ["convert", "-p", "-t", "writeback", "-f", src_fmt,
            "-O", dst_fmt]
    if not create:
        args.append("-n")
    if dst_fmt == "qcow2" and create:
        args += ["-o", "compat=1.1"]
    if backing:
        args += ["-B", backing, "-F", backing_fmt or "qcow2"]
    _run(args + [src, dst], timeout, on_start)


def resize(path: str, size: int, fmt: str,
           timeout: float = DEFAULT_TIMEOUT) -> None:
    _run(["resize", "-f", fmt, path, str(size)], timeout)


def rebase_unsafe(path: str, backing: str, backing_fmt: str, fmt: str,
                  timeout: float = 60) -> None:
    _run(["rebase", "-u", "-f", fmt, "-b", backing, "-F", backing_fmt,
          path], timeout)
