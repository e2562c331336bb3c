"""File edits for configure modules: atomic, idempotent, additive.

``write`` replaces a file only when its bytes change, so running a module
twice leaves every file byte-identical (and its mtime alone).
``apply_block`` keeps vdsm's settings in one clearly delimited block of a
host config file, and comments out (never deletes) the host's own active
lines for the keys the block sets, so the block's values win whatever the
parser's rule for repeated keys. Running it again yields the same bytes.
"""

from __future__ import annotations

import os
import re

BEGIN = "## BEGIN vdsm configuration (vdsm-tool configure; do not edit)"
END = "## END vdsm configuration"
DISABLED = "#disabled by vdsm# "


def read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def write(path: str, text: str, mode: int | None = None,
          owner: tuple[int, int] | None = None) -> bool:
    """Write ``text`` to ``path`` atomically if it differs; True if written.

    A new file gets ``mode`` (default 0644); an existing file keeps its mode
    and owner unless ``mode``/``owner`` are given.
    """
    if read(path) == text:
        return False
    try:
        st = os.stat(path)
        keep_mode, keep_owner = st.st_mode & 0o7777, (st.st_uid, st.st_gid)
    except FileNotFoundError:
        keep_mode, keep_owner = 0o644, None
    mode = keep_mode if mode is None else mode
    owner = owner or keep_owner
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.vdsm-tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if owner:
            os.chown(tmp, *owner)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    return True


def apply_block(text: str, lines: list[str], keys: list[str]) -> str:
    """Return ``text`` with vdsm's block set to ``lines``.

    ``keys`` are the ``key = value`` keys the block sets; active host lines
    for them outside the block are commented out with a marker.
    """
    body = strip_block(text)
    pattern = _key_pattern(keys)
    out = []
    for line in body.splitlines(keepends=True):
        if pattern and pattern.match(line):
            line = DISABLED + line
        out.append(line)
    body = "".join(out)
    if body and not body.endswith("\n"):
        body += "\n"
    return body + "\n".join([BEGIN, *lines, END]) + "\n"


def strip_block(text: str) -> str:
    """``text`` without vdsm's block."""
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\n")
        if stripped == BEGIN:
            inside = True
        elif stripped == END and inside:
            inside = False
        elif not inside:
            out.append(line)
    return "".join(out)


def block_lines(text: str) -> list[str] | None:
    """The lines of vdsm's block in ``text``, or None without a block."""
    lines = text.splitlines()
    if BEGIN not in lines:
        return None
    start = lines.index(BEGIN) + 1
    try:
        end = lines.index(END, start)
    except ValueError:
        return None
    return lines[start:end]


def active_conflicts(text: str, keys: list[str]) -> list[str]:
    """Active lines outside vdsm's block setting one of ``keys``."""
    pattern = _key_pattern(keys)
    if not pattern:
        return []
    return [line.strip() for line in strip_block(text).splitlines()
            if pattern.match(line)]


def _key_pattern(keys: list[str]) -> re.Pattern[str] | None:
    if not keys:
        return None
    names = "|".join(re.escape(k) for k in keys)
    return re.compile(rf"^\s*({names})\s*=")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
