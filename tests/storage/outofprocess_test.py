"""The out-of-process helper: results, errors, timeouts, restarts."""

from __future__ import annotations

import os

import pytest

from vdsm.storage import errors
from vdsm.storage.outofprocess import IOHelper, Registry


@pytest.fixture
def helper():
    h = IOHelper("test", timeout=5)
    yield h
    h.close()


def test_write_read_roundtrip(helper, tmp_path):
    path = str(tmp_path / "f")
    helper.call("write_text", path=path, text="A=1\n")
    assert helper.call("read_text", path=path) == "A=1\n"
    assert helper.call("stat", path=path)["size"] == 4
    assert helper.call("listdir", path=str(tmp_path)) == ["f"]


def test_missing_file_raises_file_not_found(helper, tmp_path):
    with pytest.raises(FileNotFoundError):
        helper.call("read_text", path=str(tmp_path / "nope"))


def test_unknown_op_is_an_error(helper):
    with pytest.raises(errors.StorageError):
        helper.call("system", cmd="true")


def test_timeout_kills_helper_and_next_call_works(helper):
    helper.call("ping")
    pid = helper._proc.pid
    with pytest.raises(errors.StorageTimeout) as e:
        helper.call("sleep", seconds=30, timeout=0.5)
    assert e.value.code == 379
    assert helper.call("ping") is True
    assert helper._proc.pid != pid


def test_concurrent_calls_do_not_wait_for_a_slow_one(helper, tmp_path):
    import threading
    slow = threading.Thread(
        target=lambda: helper.call("sleep", seconds=2, timeout=10))
    slow.start()
    try:
        # Served while the slow call still runs in the helper.
        assert helper.call("exists", path=str(tmp_path), timeout=1.5)
    finally:
        slow.join()


def test_direct_read(helper, tmp_path):
    path = tmp_path / "md"
    path.write_bytes(b"x" * 8192)
    res = helper.call("direct_read", path=str(path), size=4096)
    assert res["size"] == 4096
    assert res["delay"] >= 0


def test_registry_one_helper_per_name(tmp_path):
    reg = Registry(timeout=5)
    try:
        a, b = reg.get("a"), reg.get("b")
        assert reg.get("a") is a and a is not b
        a.call("ping")
        b.call("ping")
        pids = [a._proc.pid, b._proc.pid]
        assert pids[0] != pids[1]
    finally:
        reg.close()
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}")
