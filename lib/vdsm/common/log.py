"""Logging set-up: one event per line, key=value fields."""

from __future__ import annotations

import logging
import os
import sys

FORMAT = ("%(asctime)s %(levelname)-7s (%(threadName)s) [%(name)s] "
          "%(message)s")


def setup(path: str, level: str = "INFO") -> None:
    """Log to ``path`` ('-' for stderr), replacing earlier handlers."""
    if path == "-":
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
    else:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
