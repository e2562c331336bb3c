"""KSM decisions of the memory policy, over typed inputs (MOM's
03-ksm.policy as the reference for what each case should give)."""

from __future__ import annotations

import os

import pytest

from vdsm.host.mempolicy import ksm
from vdsm.host.mempolicy.ksm import HostMemory, KsmState, KsmThresholds

GIB = 1024 * 1024          # KiB
TH = KsmThresholds()


def state(run=0, pages=100, sleep=20, shared=0, merge=True):
    return KsmState(run=run, pages_to_scan=pages, sleep_millisecs=sleep,
                    pages_shared=shared, merge_across_nodes=merge)


def decide(st, free_kib, total_kib=16 * GIB, shareable=0, enabled=True,
           merge=True, th=TH):
    return ksm.decide(enabled, merge, st,
                      HostMemory(total_kib=total_kib, free_kib=free_kib),
                      shareable, th)


def test_no_pressure_keeps_ksm_stopped():
    t = decide(state(), free_kib=10 * GIB)
    assert t == ksm.KsmTuning(run=0, merge_across_nodes=True)


def test_low_free_memory_runs_ksm_and_boosts():
    # 2 GiB free of 16: below the 20 % reserve.
    t = decide(state(pages=100), free_kib=2 * GIB)
    assert t.run == 1
    assert t.pages_to_scan == 100 + 300
    assert t.sleep_millisecs == 10      # 16 GiB: the baseline


def test_guest_memory_near_total_runs_ksm_and_decays():
    # Plenty free now, but the guests could take it: 14 GiB + 3.2 > 16.
    t = decide(state(pages=400), free_kib=10 * GIB, shareable=14 * GIB)
    assert t.run == 1
    assert t.pages_to_scan == 350


def test_pages_to_scan_clamped():
    assert decide(state(pages=1200), free_kib=GIB).pages_to_scan == 1250
    assert decide(state(pages=70), free_kib=10 * GIB,
                  shareable=15 * GIB).pages_to_scan == 64


def test_small_host_sleeps_longer():
    t = decide(state(), free_kib=0, total_kib=4 * GIB)
    assert t.sleep_millisecs == 40
    assert ksm.sleep_millisecs(64 * GIB, TH) == 10   # never below 10


def test_disabled_stops_even_under_pressure():
    t = decide(state(run=1), free_kib=0, enabled=False)
    assert t.run == 0 and t.pages_to_scan is None


def test_disabled_with_shared_pages_unmerges():
    t = decide(state(run=1, shared=500), free_kib=0, enabled=False)
    assert t == ksm.KsmTuning(run=2)      # merge left: pages are shared


def test_merge_change_with_shared_pages_unmerges_first():
    st = state(run=1, shared=500, merge=True)
    assert decide(st, free_kib=0, merge=False) == ksm.KsmTuning(run=2)
    # Next run, the kernel has unmerged everything: the knob changes.
    st = state(run=2, shared=0, merge=True)
    t = decide(st, free_kib=0, merge=False)
    assert t.merge_across_nodes is False and t.run == 1


def test_no_merge_knob_never_written():
    t = decide(state(merge=None, shared=0), free_kib=10 * GIB, merge=False)
    assert t.merge_across_nodes is None


def test_free_percent_one_keeps_ksm_running():
    th = KsmThresholds(free_percent=1.0)
    assert decide(state(), free_kib=15 * GIB, th=th).run == 1


def test_changes_only_what_differs():
    st = state(run=1, pages=400, sleep=10, merge=True)
    same = ksm.KsmTuning(run=1, merge_across_nodes=True, pages_to_scan=400,
                         sleep_millisecs=10)
    assert ksm.changes(same, st) is None
    t = ksm.KsmTuning(run=1, merge_across_nodes=True, pages_to_scan=450,
                      sleep_millisecs=10)
    assert ksm.changes(t, st) == ksm.KsmTuning(run=1, pages_to_scan=450)
    assert ksm.changes(ksm.KsmTuning(run=0), st) == ksm.KsmTuning(run=0)


@pytest.mark.skipif(not os.path.isdir(ksm.KSM_DIR),
                    reason="this kernel has no KSM (/sys/kernel/mm/ksm)")
def test_read_state_from_sysfs():
    st = ksm.read_state()
    assert st is not None
    with open(os.path.join(ksm.KSM_DIR, "run")) as f:
        assert st.run == int(f.read())
    assert st.pages_to_scan >= 0 and st.sleep_millisecs >= 0


def test_read_state_without_ksm(tmp_path):
    assert ksm.read_state(str(tmp_path / "none")) is None
