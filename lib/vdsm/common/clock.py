"""Time for Vdsm: monotonic for everything that measures or schedules.

Wall clock time appears only where a wire field asks for it.
"""

from __future__ import annotations

import time


def monotonic() -> float:
    return time.monotonic()


def monotonic_ms() -> int:
    """The ``notify_time`` and ``statusTime`` clock of the wire."""
    return int(time.monotonic() * 1000)


class Timer:
    """Elapsed time since creation, on the monotonic clock."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start
