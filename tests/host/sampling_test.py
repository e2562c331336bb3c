from __future__ import annotations

import os
import time

import pytest

from vdsm.host import procfs, sampling


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("text,state", [
    ("always [madvise] never\n", "madvise"),
    ("[always] madvise never\n", "always"),
    ("always madvise\n", None),
])
def test_parse_thp(text, state):
    assert sampling.parse_thp(text) == state


def test_take_sample_real():
    sample = sampling.take_sample(sampling.find_ksmd())
    assert sample.meminfo["MemTotal"] > 0
    assert "lo" not in sample.nics
    expected = set(procfs.parse_net_dev(procfs.read("/proc/net/dev")))
    # Devices may come and go meanwhile (other tests); most stay.
    assert set(sample.nics) <= expected | set(os.listdir("/sys/class/net"))
    for nic in sample.nics.values():
        assert nic.state in ("up", "down", "unknown")
        assert nic.speed >= 0
    assert sample.disk_free["/tmp"] > 0
    assert sorted(c for cpus in sample.node_cpus.values() for c in cpus) \
        >= sorted(sample.stat.cpus)
    if os.path.isdir(sampling.KSM_DIR):
        assert sample.ksm is not None


def test_find_ksmd():
    pid = sampling.find_ksmd()
    if pid is not None:
        assert procfs.read(f"/proc/{pid}/comm").strip() == "ksmd"


def test_read_disk_free_skips_missing(tmp_path):
    free = sampling.read_disk_free((str(tmp_path), str(tmp_path / "no")))
    st = os.statvfs(tmp_path)
    assert list(free) == [str(tmp_path)]
    assert abs(free[str(tmp_path)] - st.f_bavail * st.f_frsize // 2**20) \
        < 64


def _fake(timestamp):
    real = sampling.take_sample()
    real.timestamp = timestamp
    return real


def test_record_keeps_last_two():
    sampler = sampling.HostSampler(interval=2)
    assert sampler.samples() == (None, None)
    a, b, c = _fake(10.0), _fake(12.0), _fake(14.0)
    sampler.record(a)
    assert sampler.samples() == (None, a)
    sampler.record(b)
    assert sampler.samples() == (a, b)
    sampler.record(c)
    assert sampler.samples() == (b, c)


def test_record_replaces_a_too_recent_sample():
    sampler = sampling.HostSampler(interval=2)
    a, b, c = _fake(10.0), _fake(10.5), _fake(12.0)
    sampler.record(a)
    sampler.record(b)           # under half an interval: replaces a
    assert sampler.samples() == (None, b)
    sampler.record(c)
    assert sampler.samples() == (b, c)


def test_sampler_thread():
    sampler = sampling.HostSampler(interval=0.2)
    sampler.start()
    try:
        assert sampler.samples()[1] is not None     # taken by start()
        assert _wait_for(lambda: sampler.samples()[0] is not None)
        first, last = sampler.samples()
        assert last.timestamp - first.timestamp >= 0.1
        # It goes on sampling.
        assert _wait_for(lambda: sampler.samples()[1] is not last)
    finally:
        sampler.stop()
