"""qemu-img, the tool for everything on images.

Each call is a child process with a timeout; a caller may pass an
``on_start`` callback that gets the Popen, so a task can kill it when
stopped. ``convert`` also takes ``on_progress``, called with the percent
done that ``qemu-img convert -p`` prints (``    (12.50/100%)\r``).
Positional arguments (paths, sizes, bitmap names) always follow ``--``,
so none is ever taken for an option.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable

from vdsm.common import commands
from vdsm.storage import errors

log = logging.getLogger("vdsm.storage.qemuimg")

QEMU_IMG = "qemu-img"
FORMATS = ("raw", "qcow2")
DEFAULT_TIMEOUT = 3600

OnStart = commands.OnStart
OnProgress = Callable[[float], None]

_PROGRESS = re.compile(rb"\((\d+(?:\.\d+)?)/100%\)")


class QemuImgError(errors.StorageError):
    message = "qemu-img failed"


def _run(args: list[str], timeout: float = DEFAULT_TIMEOUT,
         on_start: OnStart | None = None,
         on_progress: OnProgress | None = None) -> str:
    cmd = [QEMU_IMG] + args
    on_stdout = None
    if on_progress is not None:
        def on_stdout(data: bytes) -> None:
            found = _PROGRESS.findall(data)
            if found:
                on_progress(float(found[-1]))
    try:
        return commands.run(cmd, timeout=timeout, on_start=on_start,
                            on_stdout=on_stdout).stdout
    except commands.CommandTimeout:
        raise QemuImgError("timed out", cmd=commands.cmdline(cmd)) from None
    except commands.CommandFailed as e:
        raise QemuImgError(e.stderr.strip() or f"rc={e.rc}",
                           cmd=args[0]) from None


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
    _run(args + ["-u", "--", path, str(size)] if backing else
         args + ["--", path, str(size)], timeout, on_start)


def info(path: str, fmt: str | None = None, backing_chain: bool = False,
         timeout: float = 60) -> Any:
    args = ["info", "--output", "json", "-U"]
    if fmt:
        args += ["-f", fmt]
    if backing_chain:
        args.append("--backing-chain")
    return json.loads(_run(args + ["--", path], timeout))


def convert(src: str, dst: str, src_fmt: str, dst_fmt: str,
            backing: str | None = None, backing_fmt: str | None = None,
            create: bool = True, timeout: float = DEFAULT_TIMEOUT,
            on_start: OnStart | None = None,
            on_progress: OnProgress | None = None,
            compat: str = "1.1", preallocation: str | None = None,
            bitmaps: bool = False) -> None:
    """compat, preallocation: of a qcow2 (preallocation also raw)
    destination convert creates; bitmaps: copy the persistent bitmaps
    (qcow2 to qcow2)."""
    args = ["convert", "-p", "-t", "writeback", "-f", src_fmt,
            "-O", dst_fmt]
    if bitmaps:
        args.append("--bitmaps")
    if not create:
        args.append("-n")
    opts = []
    if dst_fmt == "qcow2" and create:
        opts.append(f"compat={compat}")
    if preallocation and create:
        opts.append(f"preallocation={preallocation}")
    if opts:
        args += ["-o", ",".join(opts)]
    if backing:
        args += ["-B", backing, "-F", backing_fmt or "qcow2"]
    _run(args + ["--", src, dst], timeout, on_start, on_progress)


def commit(top: str, top_fmt: str, timeout: float = DEFAULT_TIMEOUT,
           on_start: OnStart | None = None,
           on_progress: OnProgress | None = None) -> None:
    """Write top's data into its backing file (top itself left as it
    was: -d; the caller drops it from the chain)."""
    _run(["commit", "-p", "-d", "-t", "writeback", "-f", top_fmt, "--",
          top], timeout, on_start, on_progress)


def _layer(path: str, fmt: str, backing: Any = None) -> dict[str, Any]:
    """A json: node of one image file (``backing`` None: qemu opens the
    image's own backing; False: no backing at all; a dict: that node)."""
    node: dict[str, Any] = {"driver": fmt,
                            "file": {"driver": "file", "filename": path}}
    if fmt == "qcow2" and backing is not None:
        node["backing"] = None if backing is False else backing
    return node


@dataclass(frozen=True)
class Measure:
    required: int           # bytes a copy needs
    fully_allocated: int    # bytes a fully allocated copy needs
    bitmaps: int | None     # bytes of the bitmaps (qemu 5.1+)


def measure(path: str, fmt: str, out_fmt: str, backing: bool = True,
            base: tuple[str, str] | None = None,
            timeout: float = 300) -> Measure:
    """What a copy of the image into out_fmt needs: the whole chain
    (backing), the image's own layer only (not backing), or the layer
    with its parent (base: the parent's path and format) only."""
    if not backing:
        source = "json:" + json.dumps(_layer(path, fmt, backing=False))
    elif base is not None:
        parent = _layer(base[0], base[1], backing=False)
        source = "json:" + json.dumps(_layer(path, fmt, backing=parent))
    else:
        source = path
    args = ["measure", "--output", "json", "-O", out_fmt]
    if source == path:
        args += ["-f", fmt]
    out = json.loads(_run(args + ["--", source], timeout))
    return Measure(int(out["required"]), int(out["fully-allocated"]),
                   int(out["bitmaps"]) if "bitmaps" in out else None)


def amend(path: str, compat: str, timeout: float = DEFAULT_TIMEOUT,
          on_start: OnStart | None = None) -> None:
    """Change a qcow2 image's compat level in place (0.10 or 1.1)."""
    _run(["amend", "-f", "qcow2", "-o", f"compat={compat}", "--", path],
         timeout, on_start)


def resize(path: str, size: int, fmt: str,
           timeout: float = DEFAULT_TIMEOUT) -> None:
    _run(["resize", "-f", fmt, "--", path, str(size)], timeout)


@dataclass(frozen=True)
class Bitmap:
    name: str
    granularity: int
    flags: tuple[str, ...]     # qemu's: "auto" (enabled), "in-use" ...

    @property
    def valid(self) -> bool:
        """Enabled and saved cleanly: it tracks every change (a bitmap
        without "auto" is disabled; "in-use" offline means it was not
        flushed when its qemu stopped, its content is unknown)."""
        return "auto" in self.flags and "in-use" not in self.flags


def bitmaps(path: str) -> list[Bitmap]:
    """The persistent bitmaps of a qcow2 image."""
    data = info(path, fmt="qcow2").get("format-specific", {}).get("data", {})
    return [Bitmap(b["name"], int(b["granularity"]), tuple(b["flags"]))
            for b in data.get("bitmaps", [])]


def add_bitmap(path: str, name: str, granularity: int | None = None,
               timeout: float = 60) -> None:
    """Add an empty, enabled persistent bitmap to a qcow2 image."""
    # The name comes from the parent image, which may be uploaded.
    opts = ["-g", str(granularity)] if granularity is not None else []
    _run(["bitmap", "--add", "--enable", *opts, "-f", "qcow2", "--", path,
          name], timeout)


def rebase_unsafe(path: str, backing: str, backing_fmt: str, fmt: str,
                  timeout: float = 60) -> None:
    _run(["rebase", "-u", "-f", fmt, "-b", backing, "-F", backing_fmt,
          "--", path], timeout)
