"""Logging set-up: one event per line, key=value fields.

The log file is rotated by logrotate (static/etc/logrotate.d/vdsm, run
hourly by static/etc/cron.hourly/vdsm-logrotate): ``LogFileHandler``
notices that its file was moved away and reopens the path, as upstream's
WatchedFileHandler does. Past ``max_bytes`` it also rotates the file itself
to ``<path>.old`` (one such file, replaced each time): a size cap that
holds when logrotate does not run.

Values a client chose (JSON-RPC ids and methods, flow ids, subscription
ids) go through ``quote()``: a newline, a NUL or a lone surrogate in them
cannot forge a line, break the file's encoding or hide the line. The file
is written with ``backslashreplace`` as well, so no line is ever lost to
an encoding error.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

FORMAT = ("%(asctime)s %(levelname)-7s (%(threadName)s) [%(name)s] "
          "%(message)s")

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Shown as they are; anything else is shown as its repr().
_PLAIN = re.compile(r"[\w.,:;/@+#%~-]*", re.ASCII)


def quote(value: Any) -> str:
    """``value`` safe for a log line: plain words as they are, anything
    else as a Python literal (newlines, NULs, surrogates escaped)."""
    text = value if isinstance(value, str) else repr(value)
    if _PLAIN.fullmatch(text):
        return text
    return repr(text)


class LogFileHandler(logging.FileHandler):
    """A file handler that follows logrotate, with a size cap."""

    def __init__(self, path: str, max_bytes: int = 0) -> None:
        self.max_bytes = max_bytes
        self._id: tuple[int, int] | None = None
        super().__init__(path, encoding="utf-8", errors="backslashreplace")
        self._remember()

    def _remember(self) -> None:
        if self.stream is not None:
            st = os.fstat(self.stream.fileno())
            self._id = (st.st_dev, st.st_ino)

    def _reopen_if_moved(self) -> None:
        try:
            st = os.stat(self.baseFilename)
            current: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            current = None
        if current is not None and current == self._id:
            return
        if self.stream is not None:
            self.stream.flush()
            self.stream.close()
        self.stream = self._open()
        self._remember()

    def _cap(self) -> None:
        if not self.max_bytes or self.stream is None:
            return
        if self.stream.tell() < self.max_bytes:
            return
        self.stream.close()
        os.replace(self.baseFilename, self.baseFilename + ".old")
        self.stream = self._open()
        self._remember()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._reopen_if_moved()
            self._cap()
        except OSError:
            self.handleError(record)
            return
        super().emit(record)


def setup(path: str, level: str = "INFO", max_bytes: int = 0) -> None:
    """Log to ``path`` ('-' for stderr), replacing earlier handlers."""
    if path == "-":
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
    else:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        handler = LogFileHandler(path, max_bytes)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())


def set_level(level: str, name: str = "") -> None:
    """Set the level of logger ``name`` (the root logger when empty), at
    run time; not kept across restarts."""
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}")
    logger = logging.getLogger(name or None)
    # Logged before a level that would hide it takes effect.
    logging.getLogger("vdsm.log").warning(
        "LOG_LEVEL logger=%s level=%s", quote(logger.name), level)
    logger.setLevel(level)
