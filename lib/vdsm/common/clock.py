"""Time for Vdsm: monotonic for everything that measures or schedules.

Wall clock time appears only where a wire field asks for it.
"""

from __future__ import annotations

import time


def monotonic() -> float:
    return time.monotonic()


def monotonic_ms() -> int:
    return int(time.monotonic() * 1000)


# Upstream's offset: keeps event times positive and above any value an
# older Vdsm sent, so a manager never sees time go backwards.
EVENT_TIME_OFFSET = 2**31 - 1


def event_time() -> int:
    """The wire's ``notify_time`` and ``statusTime`` clock, in ms.

    Monotonic milliseconds plus ``2**31 - 1``, as upstream Vdsm counts:
    managers order a VM's status updates by it (statusTime travels as
    its decimal string, notify_time as the integer).
    """
    return monotonic_ms() + EVENT_TIME_OFFSET


class Timer:
    """Elapsed time since creation, on the monotonic clock."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start
