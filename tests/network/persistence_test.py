"""The running and safe configs on disk: is_dirty() answers from its
cache only while neither file changed."""

from __future__ import annotations

import json
import os

from vdsm.network.model import Config
from vdsm.network.persistence import RUNNING, SAFE, Store

ONE = {"networks": {"net1": {"nic": "eth0", "bridged": True, "mtu": 1500,
                             "bootproto": "none"}}, "bondings": {}}


def test_dirty_follows_the_files(tmp_path):
    store = Store(str(tmp_path / "netconf"))
    assert not store.is_dirty()  # Neither file: both empty configs.
    store.save_running(Config.from_attrs(ONE))
    assert store.is_dirty()
    assert store.is_dirty()  # From the cache: same answer.
    store.set_safe()
    assert not store.is_dirty()
    store.save_running(Config())
    assert store.is_dirty()


def test_file_replaced_behind_its_back_is_read_again(tmp_path):
    """restore-nets and a second vdsmd write through another Store."""
    path = str(tmp_path / "netconf")
    store = Store(path)
    Store(path).save_running(Config.from_attrs(ONE))
    Store(path).set_safe()
    assert not store.is_dirty()
    with open(os.path.join(path, RUNNING + ".new"), "w") as f:
        json.dump({"networks": {}, "bondings": {}}, f)
    os.replace(os.path.join(path, RUNNING + ".new"),
               os.path.join(path, RUNNING))
    assert store.is_dirty()
    os.unlink(os.path.join(path, SAFE))
    os.unlink(os.path.join(path, RUNNING))
    assert not store.is_dirty()
