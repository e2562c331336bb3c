"""Balloon targets of guests: the arithmetic of MOM's balloon policy, our
own code.

When the host's free memory (a fraction of MemTotal) is below
``pressure_threshold`` and ballooning is enabled, every guest is shrunk
fairly: it keeps its used memory plus a free share that falls with the
host's free memory (negative below ``pressure_critical``, to push the
guest to swap), never below its guaranteed memory, and loses at most
``max_change_percent`` of its memory per run. Otherwise, and always when
ballooning is disabled, ballooned guests grow back towards their maximum
by the same steps (MOM deflates balloons when ballooning is off, it does
not leave them inflated). Changes smaller than ``min_change_percent``
are not made. A guest whose balloon driver reports no unused memory is
left alone, except that a guest below its guaranteed memory is always
given it back.

All sizes in KiB, as libvirt reports them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BalloonThresholds:
    pressure_threshold: float = 0.20
    pressure_critical: float = 0.05
    min_guest_free_percent: float = 0.20
    max_change_percent: float = 0.05
    min_change_percent: float = 0.0025


@dataclass(frozen=True)
class GuestBalloon:
    """One running guest with a balloon, as the policy sees it."""

    vm_id: str
    cur_kib: int                  # the guest's memory now (balloon.current)
    max_kib: int                  # its maximum (balloon.maximum)
    min_kib: int                  # guaranteed memory
    cur_avg_kib: float            # cur_kib averaged over the history
    unused_avg_kib: float | None  # unused memory the guest reports, avg


def target(guest: GuestBalloon, host_free: float, enabled: bool,
           th: BalloonThresholds) -> int | None:
    """The guest's new balloon target, or None to leave it.

    host_free: host free memory / MemTotal (averaged).
    """
    new = None
    if guest.unused_avg_kib is not None:
        if enabled and host_free < th.pressure_threshold:
            new = _shrink(guest, host_free, th)
        else:
            new = _grow(guest, host_free, th)
    if guest.cur_kib < guest.min_kib:
        new = guest.min_kib
    return new


def guest_free_percent(host_free: float, th: BalloonThresholds) -> float:
    """The free share a guest may keep, given the host's free share."""
    if host_free <= th.pressure_critical:
        return host_free - 0.05
    return th.min_guest_free_percent * host_free / th.pressure_threshold


def _floor(guest: GuestBalloon, host_free: float,
           th: BalloonThresholds) -> float:
    """What the guest needs: its used memory plus its free share."""
    assert guest.unused_avg_kib is not None
    used = guest.cur_avg_kib - guest.unused_avg_kib
    return max(guest.min_kib,
               used + guest_free_percent(host_free, th) * guest.cur_kib)


def _shrink(guest: GuestBalloon, host_free: float,
            th: BalloonThresholds) -> int | None:
    size = max(guest.cur_kib * (1 - th.max_change_percent),
               _floor(guest, host_free, th))
    if size <= guest.cur_kib and _big_enough(guest, size, th):
        return int(size)
    return None


def _grow(guest: GuestBalloon, host_free: float,
          th: BalloonThresholds) -> int | None:
    if guest.cur_kib >= guest.max_kib:
        return None
    size = max(guest.cur_kib * (1 + th.max_change_percent),
               _floor(guest, host_free, th))
    size = min(size, guest.max_kib)
    if _big_enough(guest, size, th):
        return int(size)
    return None


def _big_enough(guest: GuestBalloon, size: float,
                th: BalloonThresholds) -> bool:
    return abs(size - guest.cur_kib) > th.min_change_percent * guest.cur_kib
