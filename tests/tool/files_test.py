"""Managed blocks in host config files."""

from __future__ import annotations

import os

from vdsm.tool import files

TEXT = "# comment\nkey = 1\nother = 2\n#key = 3\n"


def test_apply_block_idempotent():
    once = files.apply_block(TEXT, ["key = 9"], ["key"])
    assert once == files.apply_block(once, ["key = 9"], ["key"])
    assert files.block_lines(once) == ["key = 9"]
    assert files.active_conflicts(once, ["key"]) == []
    assert f"{files.DISABLED}key = 1\n" in once
    assert "#key = 3\n" in once and "other = 2\n" in once


def test_apply_block_without_trailing_newline():
    out = files.apply_block("a = 1", ["b = 2"], ["b"])
    assert out.startswith("a = 1\n")
    assert out == files.apply_block(out, ["b = 2"], ["b"])


def test_strip_block_restores_text():
    out = files.apply_block(TEXT, ["x = 1"], ["x"])
    assert files.strip_block(out) == TEXT


def test_write_only_when_changed(tmp_path):
    path = str(tmp_path / "f")
    assert files.write(path, "a\n", 0o640)
    mtime = os.stat(path).st_mtime_ns
    assert not files.write(path, "a\n")
    assert os.stat(path).st_mtime_ns == mtime
    assert files.write(path, "b\n")
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["f"]
