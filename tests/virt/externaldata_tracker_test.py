"""externaldata.Tracker: only data read unchanged twice is reported
(unless forced), over a real file and its mtime."""

from __future__ import annotations

import os

import pytest

from vdsm.virt import externaldata
from vdsm.virt.errors import ExternalDataFailed
from vdsm.virt.externaldata import Kind, Tracker, secure_hash


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "data"
    reads = []

    def read(kind, vm_id, newer_than):
        reads.append(newer_than)
        modified = os.stat(path).st_mtime
        if modified <= newer_than:
            return None, modified
        return path.read_text(), modified

    def write(text: str, mtime: float) -> None:
        path.write_text(text)
        os.utime(path, (mtime, mtime))

    return read, write, reads


def test_reported_once_stable(source):
    read, write, reads = source
    tracker = Tracker(Kind.TPM, "vm", read)
    write("one", 1000.0)
    assert tracker.update() == externaldata.Data(None, None)
    # Unchanged since: stable now.
    assert tracker.update() == externaldata.Data("one", secure_hash("one"))
    assert reads == [-1.0, 1000.0]
    # Changing: the last stable data is still reported.
    write("two", 1001.0)
    assert tracker.update().content == "one"
    write("three", 1002.0)
    assert tracker.update().content == "one"
    assert tracker.update().content == "three"
    # Rewritten with the same content: stable at once.
    write("three", 1003.0)
    assert tracker.update().content == "three"


def test_force_reports_fresh_data(source):
    read, write, reads = source
    tracker = Tracker(Kind.NVRAM, "vm", read)
    write("one", 1000.0)
    assert tracker.update(force=True).content == "one"
    write("two", 1001.0)
    assert tracker.update(force=True).hash == secure_hash("two")
    assert reads == [-1.0, -1.0]


def test_read_errors_are_89(tmp_path):
    def read(kind, vm_id, newer_than):
        raise FileNotFoundError(str(tmp_path / "gone"))

    with pytest.raises(ExternalDataFailed) as e:
        Tracker(Kind.TPM, "vm", read).update()
    assert e.value.code == 89
