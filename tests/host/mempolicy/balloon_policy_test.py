"""Balloon targets of the memory policy, over typed inputs (MOM's
02-balloon.policy as the reference for what each case should give)."""

from __future__ import annotations

import pytest

from vdsm.host.mempolicy import balloon
from vdsm.host.mempolicy.balloon import BalloonThresholds, GuestBalloon

MIB = 1024
TH = BalloonThresholds()


def guest(cur=1024 * MIB, max_=1024 * MIB, min_=0, unused=512 * MIB):
    return GuestBalloon(vm_id="vm", cur_kib=cur, max_kib=max_,
                        min_kib=min_, cur_avg_kib=cur,
                        unused_avg_kib=unused)


def test_pressure_shrinks_by_the_max_step():
    # Host 10 % free: the guest keeps 512 MiB used + 10 % free; the step
    # of 5 % (972.8 MiB) is above that floor.
    assert balloon.target(guest(), 0.10, True, TH) == int(1024 * MIB * .95)


def test_shrink_stops_at_what_the_guest_needs():
    # 900 MiB used + 10 % of 1024 free = 1002.4 MiB > the 5 % step.
    g = guest(unused=124 * MIB)
    assert balloon.target(g, 0.10, True, TH) == int(
        900 * MIB + 0.10 * 1024 * MIB)


def test_shrink_never_below_guaranteed_memory():
    g = guest(unused=1000 * MIB, min_=1000 * MIB)
    assert balloon.target(g, 0.10, True, TH) == 1000 * MIB


def test_critical_pressure_pushes_guest_to_swap():
    assert balloon.guest_free_percent(0.04, TH) == pytest.approx(-0.01)
    # 1000 MiB used - 1 %: below the step, so the step wins.
    g = guest(unused=24 * MIB)
    assert balloon.target(g, 0.04, True, TH) == int(
        1000 * MIB - 0.01 * 1024 * MIB)


def test_no_pressure_full_guest_left_alone():
    assert balloon.target(guest(), 0.50, True, TH) is None


def test_no_pressure_ballooned_guest_grows_by_the_step():
    g = guest(cur=800 * MIB, unused=600 * MIB)
    assert balloon.target(g, 0.50, True, TH) == int(800 * MIB * 1.05)


def test_grow_capped_at_maximum():
    g = guest(cur=1000 * MIB, unused=10 * MIB)
    assert balloon.target(g, 0.50, True, TH) == 1024 * MIB


def test_disabled_deflates_even_under_pressure():
    g = guest(cur=800 * MIB, unused=600 * MIB)
    assert balloon.target(g, 0.01, False, TH) == int(800 * MIB * 1.05)


def test_tiny_change_not_made():
    # 1024 -> 1023.9 MiB is under 0.25 % of the guest's memory.
    g = guest(cur=1024 * MIB - 100, unused=10 * MIB)
    assert balloon.target(g, 0.50, True, TH) is None


def test_guest_without_memory_stats_left_alone():
    assert balloon.target(guest(unused=None), 0.01, True, TH) is None


def test_guest_below_guaranteed_memory_gets_it_back():
    g = guest(cur=500 * MIB, min_=600 * MIB, unused=None)
    assert balloon.target(g, 0.01, True, TH) == 600 * MIB


def test_threshold_one_always_shrinks():
    th = BalloonThresholds(pressure_threshold=1.0)
    assert balloon.target(guest(), 0.90, True, th) == int(1024 * MIB * .95)
