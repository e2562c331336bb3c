"""Per-interface network statistics: counters and rates between samples.

A periodic sampler (``[network] stats_interval``) reads every link's
counters with one ``ip -j -s link``; ``statistics()`` answers at once
from the last two samples, so Host.getStats never waits on the kernel.
Rates are percent of the link speed, as upstream reports them; a link
without a speed (bridges, veth in some kernels) counts as 1000 Mb/s.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from vdsm.common import clock, commands
from vdsm.network import caps

DEFAULT_SPEED = 1000


@dataclass
class Sample:
    time: float
    links: dict[str, dict[str, Any]]


def take_sample(netns: str | None = None) -> Sample:
    cmd = ["ip"] + (["-n", netns] if netns else []) + ["-j", "-s", "link"]
    out = commands.run(cmd, timeout=30).stdout
    links = {}
    for raw in json.loads(out):
        s = raw.get("stats64") or raw.get("stats") or {}
        links[raw["ifname"]] = {
            "state": _state(raw.get("operstate", "")),
            "rx": s.get("rx", {}), "tx": s.get("tx", {})}
    return Sample(clock.monotonic(), links)


def _state(operstate: str) -> str:
    if operstate == "UP":
        return "up"
    if operstate == "UNKNOWN":
        return "unknown"
    return "down"


@dataclass(frozen=True)
class InterfaceStats:
    """One link's counters and rates (``vdsm.api.network_wire`` maps
    them to Host.getNetworkStatistics)."""
    name: str
    state: str                  # up down unknown
    speed: int                  # Mb/s, DEFAULT_SPEED when unknown
    rx_bytes: int
    tx_bytes: int
    rx_errors: int
    tx_errors: int
    rx_dropped: int
    tx_dropped: int
    rx_rate: float              # percent of speed since the last sample
    tx_rate: float
    sample_time: float          # monotonic seconds of the last sample


def interface_stats(first: Sample | None, last: Sample,
                    netns: str | None = None) -> dict[str, InterfaceStats]:
    out = {}
    for name, link in last.links.items():
        if name == "lo":
            continue
        before = first.links.get(name) if first else None
        # sysfs shows our own namespace only.
        speed = (0 if netns else caps.link_speed(name)) or DEFAULT_SPEED
        rx, tx = link["rx"], link["tx"]
        interval = last.time - first.time if first else 0.0
        out[name] = InterfaceStats(
            name=name, state=link["state"], speed=speed,
            rx_bytes=rx.get("bytes", 0), tx_bytes=tx.get("bytes", 0),
            rx_errors=rx.get("errors", 0), tx_errors=tx.get("errors", 0),
            rx_dropped=rx.get("dropped", 0),
            tx_dropped=tx.get("dropped", 0),
            rx_rate=_rate(before, link, "rx", interval, speed),
            tx_rate=_rate(before, link, "tx", interval, speed),
            sample_time=last.time)
    return out


def _rate(before: dict | None, now: dict, key: str, interval: float,
          speed: int) -> float:
    if before is None or interval <= 0:
        return 0.0
    delta = now[key].get("bytes", 0) - before[key].get("bytes", 0)
    if delta < 0:       # counters reset: the link was recreated
        return 0.0
    return delta * 8 / interval / (speed * 1e6) * 100


class Sampler:
    """Keeps the last two samples; ``sample()`` runs periodically."""

    def __init__(self, netns: str | None = None) -> None:
        self._netns = netns
        self._lock = threading.Lock()
        self._first: Sample | None = None
        self._last: Sample | None = None

    def sample(self) -> None:
        new = take_sample(self._netns)
        with self._lock:
            self._first, self._last = self._last, new

    def statistics(self) -> dict[str, InterfaceStats]:
        with self._lock:
            first, last = self._first, self._last
        if last is None:
            return {}
        return interface_stats(first, last, self._netns)
