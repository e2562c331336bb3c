"""configure module iscsi against a temporary root: creates the initiator
name when missing, keeps an existing one, makes it readable by vdsm."""

from __future__ import annotations

import os
import re
import stat

from vdsm.common.config import Config
from vdsm.host import hba
from vdsm.tool import configurator, iscsi
from vdsm.tool.target import Target

NAME = re.compile(r"^iqn\.1993-08\.org\.debian:01:[0-9a-f]{12}$")


def _target(root):
    return Target(str(root), Config())


def _path(root):
    return root / iscsi.PATH.lstrip("/")


def test_creates_missing_name(tmp_path):
    target = _target(tmp_path)
    assert iscsi.is_configured(target)
    changes = iscsi.configure(target)
    assert changes and "created" in changes[0]
    name = hba.initiator_name(str(_path(tmp_path)))
    assert NAME.match(name)
    assert stat.S_IMODE(os.stat(_path(tmp_path)).st_mode) == 0o644
    assert iscsi.is_configured(target) == []
    # Run again: nothing changes, the name stays.
    assert iscsi.configure(target) == []
    assert hba.initiator_name(str(_path(tmp_path))) == name


def test_keeps_existing_name_makes_it_readable(tmp_path):
    path = _path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("InitiatorName=iqn.2004-10.com.example:host1\n")
    os.chmod(path, 0o600)
    target = _target(tmp_path)
    assert iscsi.is_configured(target) == [
        f"{iscsi.PATH} is not readable by vdsm"]
    assert iscsi.configure(target) == [f"made {iscsi.PATH} readable by vdsm"]
    assert hba.initiator_name(str(path)) == "iqn.2004-10.com.example:host1"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_replaces_file_without_name(tmp_path):
    path = _path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("## DO NOT EDIT OR REMOVE THIS FILE!\n")
    target = _target(tmp_path)
    assert iscsi.is_configured(target) == [
        f"{iscsi.PATH} names no InitiatorName"]
    iscsi.configure(target)
    assert NAME.match(hba.initiator_name(str(path)))


def test_names_are_unique():
    assert len({iscsi.generate_name() for _ in range(100)}) == 100


def test_module_runs_with_the_others():
    assert "iscsi" in configurator.names()
