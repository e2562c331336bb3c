"""What KSM should do: the arithmetic of MOM's KSM policy, our own code.

KSM costs CPU, so it runs only when it may pay: when host free memory
(MemFree + Buffers + Cached) is below ``free_percent`` of MemTotal, or
when the memory the guests could share plus that reserve exceeds
MemTotal. While it runs it scans harder under pressure (``pages_boost``)
and relaxes otherwise (``pages_decay``), within ``npages_min`` ..
``npages_max``; bigger hosts sleep less between scans.

``merge_across_nodes`` may change only while no page is shared (the
kernel answers EBUSY otherwise). As MOM does: with no shared page the
wanted value is written; with shared pages and a different wanted value,
or with KSM disabled, KSM is told to unmerge everything (run=2), and the
value is written on a later run, once nothing is shared.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

KSM_DIR = "/sys/kernel/mm/ksm"

# run values of the kernel: stop (keep merged pages), run, unmerge all.
RunMode = Literal[0, 1, 2]
STOP: RunMode = 0
RUN: RunMode = 1
UNMERGE: RunMode = 2

# MemTotal of the host whose sleep is sleep_ms_baseline (16 GiB, KiB).
BASELINE_HOST_KIB = 16 * 1024 * 1024
MIN_SLEEP_MS = 10


@dataclass(frozen=True)
class KsmState:
    """The kernel's KSM knobs and counters (sysfs)."""

    run: int
    pages_to_scan: int
    sleep_millisecs: int
    pages_shared: int
    merge_across_nodes: bool | None     # None: no such knob (no NUMA)


@dataclass(frozen=True)
class HostMemory:
    total_kib: int          # MemTotal
    free_kib: float         # MemFree + Buffers + Cached, averaged


@dataclass(frozen=True)
class KsmThresholds:
    free_percent: float = 0.20
    pages_boost: int = 300
    pages_decay: int = -50
    npages_min: int = 64
    npages_max: int = 1250
    sleep_ms_baseline: int = 10


@dataclass(frozen=True)
class KsmTuning:
    """Values to write; None leaves a knob as it is."""

    run: RunMode
    merge_across_nodes: bool | None = None
    pages_to_scan: int | None = None
    sleep_millisecs: int | None = None


def decide(enabled: bool, merge_across_nodes: bool, state: KsmState,
           memory: HostMemory, shareable_kib: int,
           th: KsmThresholds) -> KsmTuning:
    """The KSM settings for this run of the policy.

    enabled, merge_across_nodes: the engine's ksmEnabled and
    ksmMergeAcrossNodes; shareable_kib: memory of the running guests.
    """
    merge = None
    if state.pages_shared == 0 and state.merge_across_nodes is not None:
        merge = merge_across_nodes
    action: RunMode = STOP
    if state.pages_shared > 0 and (
            not enabled or (state.merge_across_nodes is not None
                            and state.merge_across_nodes
                            != merge_across_nodes)):
        action = UNMERGE
    reserve = memory.total_kib * th.free_percent
    idle = (reserve + shareable_kib < memory.total_kib
            and memory.free_kib > reserve)
    if idle or not enabled or action != STOP:
        return KsmTuning(run=action, merge_across_nodes=merge)
    delta = th.pages_boost if memory.free_kib < reserve else th.pages_decay
    pages = min(th.npages_max,
                max(th.npages_min, state.pages_to_scan + delta))
    return KsmTuning(run=RUN, merge_across_nodes=merge,
                     pages_to_scan=pages,
                     sleep_millisecs=sleep_millisecs(memory.total_kib, th))


def sleep_millisecs(total_kib: int, th: KsmThresholds) -> int:
    if total_kib <= 0:
        return MIN_SLEEP_MS
    return max(MIN_SLEEP_MS,
               th.sleep_ms_baseline * BASELINE_HOST_KIB // total_kib)


def changes(tuning: KsmTuning, state: KsmState) -> KsmTuning | None:
    """Only what differs from the kernel's state; None if nothing does
    (MOM's KSM controller writes changed values only)."""
    merge = tuning.merge_across_nodes
    if merge == state.merge_across_nodes:
        merge = None
    pages = tuning.pages_to_scan
    if pages == state.pages_to_scan:
        pages = None
    sleep = tuning.sleep_millisecs
    if sleep == state.sleep_millisecs:
        sleep = None
    if (tuning.run == state.run and merge is None and pages is None
            and sleep is None):
        return None
    return KsmTuning(run=tuning.run, merge_across_nodes=merge,
                     pages_to_scan=pages, sleep_millisecs=sleep)


def read_state(ksm_dir: str = KSM_DIR) -> KsmState | None:
    """The kernel's KSM state; None on a kernel without KSM."""
    if not os.path.isdir(ksm_dir):
        return None

    def value(name: str) -> int:
        with open(os.path.join(ksm_dir, name)) as f:
            return int(f.read())

    merge_path = os.path.join(ksm_dir, "merge_across_nodes")
    return KsmState(
        run=value("run"), pages_to_scan=value("pages_to_scan"),
        sleep_millisecs=value("sleep_millisecs"),
        pages_shared=value("pages_shared"),
        merge_across_nodes=(value("merge_across_nodes") == 1
                            if os.path.exists(merge_path) else None))
