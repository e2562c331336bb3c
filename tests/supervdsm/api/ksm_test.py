"""ksm.* privileged functions through a real supervdsmd, on this
machine's /sys/kernel/mm/ksm (put back as it was)."""

from __future__ import annotations

import os

import pytest

from vdsm.supervdsm import errors

pytestmark = pytest.mark.root

KSM = "/sys/kernel/mm/ksm"


def read(knob):
    with open(os.path.join(KSM, knob)) as f:
        return int(f.read())


@pytest.fixture
def knobs():
    if not os.path.isdir(KSM):
        pytest.skip(f"this kernel has no KSM ({KSM})")
    names = ("run", "pages_to_scan", "sleep_millisecs")
    before = {k: read(k) for k in names}
    try:
        with open(os.path.join(KSM, "run"), "w") as f:
            f.write(str(before["run"]))
    except OSError as e:
        pytest.skip(f"{KSM} is not writable here: {e}")
    yield before
    for knob, value in before.items():
        with open(os.path.join(KSM, knob), "w") as f:
            f.write(str(value))


def test_set_run_and_scan(knobs, supervdsmd):
    cli = supervdsmd.client()
    cli.call("ksm.set_run", 1)
    assert read("run") == 1
    cli.call("ksm.set_scan", 123, 45)
    assert (read("pages_to_scan"), read("sleep_millisecs")) == (123, 45)
    cli.call("ksm.set_run", 0)
    assert read("run") == 0


@pytest.mark.parametrize("method,args", [
    ("ksm.set_run", [3]),
    ("ksm.set_run", [True]),
    ("ksm.set_run", ["1"]),
    ("ksm.set_scan", [-1, 10]),
    ("ksm.set_scan", [10, 2 ** 32]),
    ("ksm.set_merge_across_nodes", [1]),
])
def test_bad_arguments_change_nothing(knobs, supervdsmd, method, args):
    before = {k: read(k) for k in knobs}
    with pytest.raises(errors.InvalidArguments):
        supervdsmd.client().call(method, *args)
    assert {k: read(k) for k in knobs} == before
