from __future__ import annotations

from vdsm.common import clock


def test_event_time_is_upstreams_offset_monotonic_ms():
    before = clock.monotonic_ms()
    t = clock.event_time()
    after = clock.monotonic_ms()
    assert isinstance(t, int)
    assert before + 2**31 - 1 <= t <= after + 2**31 - 1


def test_event_time_never_goes_back():
    times = [clock.event_time() for _ in range(1000)]
    assert times == sorted(times)
