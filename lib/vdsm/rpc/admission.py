"""Who may connect: connection limits and the refusal log's rate limit.

Sans-IO and loop-only. ``Admission`` counts open connections, in total and
per client address, and TLS handshakes in progress; the server asks it
before it spends anything on a new socket (no TLS state, no buffers), so a
flood of idle connects costs a bounded amount of memory and descriptors.
``RateLimit`` keeps refusal lines (limits, failed TLS handshakes) to a few
per interval, and says how many it held back.
"""

from __future__ import annotations

import enum
from collections import Counter

from vdsm.common import clock


class Refusal(enum.Enum):
    TOTAL = "too many connections"
    PER_CLIENT = "too many connections from this client"
    HANDSHAKES = "too many TLS handshakes in progress"


class Admission:
    def __init__(self, max_total: int, max_per_client: int,
                 max_handshakes: int) -> None:
        self.max_total = max_total
        self.max_per_client = max_per_client
        self.max_handshakes = max_handshakes
        self.total = 0
        self.handshakes = 0
        self._per_client: Counter[str] = Counter()

    def open(self, client: str) -> Refusal | None:
        """Count a new connection from ``client``, or say why not."""
        if self.total >= self.max_total:
            return Refusal.TOTAL
        if self._per_client[client] >= self.max_per_client:
            return Refusal.PER_CLIENT
        self.total += 1
        self._per_client[client] += 1
        return None

    def close(self, client: str) -> None:
        self.total -= 1
        self._per_client[client] -= 1
        if self._per_client[client] <= 0:
            del self._per_client[client]

    def start_handshake(self) -> Refusal | None:
        if self.handshakes >= self.max_handshakes:
            return Refusal.HANDSHAKES
        self.handshakes += 1
        return None

    def end_handshake(self) -> None:
        self.handshakes -= 1

    def connections(self, client: str) -> int:
        return self._per_client[client]


class RateLimit:
    """At most ``burst`` events per ``interval`` seconds."""

    def __init__(self, burst: int, interval: float) -> None:
        self.burst = burst
        self.interval = interval
        self._window_start = -float("inf")
        self._count = 0
        self._held = 0

    def allow(self) -> tuple[bool, int]:
        """(may log now, lines held back since the last one logged)."""
        now = clock.monotonic()
        if now - self._window_start >= self.interval:
            self._window_start = now
            self._count = 0
        if self._count >= self.burst:
            self._held += 1
            return False, 0
        self._count += 1
        held, self._held = self._held, 0
        return True, held
