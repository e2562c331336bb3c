"""vdsm-tool restore-nets after a "reboot" of a test namespace: its
virtual links deleted and its NICs left bare, then the real vdsm-tool
(a subprocess, as root) restores the safe config there."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vdsm.common.config import Config
from vdsm.network.configurator import Configurator
from vdsm.network.persistence import Store, netconf_dir
from vdsm.supervdsm import caller

pytestmark = pytest.mark.root

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VDSM_TOOL = os.path.join(TOP, "vdsm", "vdsm-tool")


@pytest.fixture
def lib_dir(tmp_path):
    path = tmp_path / "lib"
    path.mkdir()
    return str(path)


@pytest.fixture
def conf(tmp_path, lib_dir):
    path = tmp_path / "vdsm.conf"
    path.write_text(f"[vars]\nlib_dir = {lib_dir}\n")
    return str(path)


def restore_nets(conf, netns):
    env = dict(os.environ, PYTHONPATH=os.path.join(TOP, "lib"))
    return subprocess.run(
        [sys.executable, VDSM_TOOL, "--config", conf, "restore-nets",
         "--netns", netns.name], env=env, capture_output=True, text=True)


def test_restore_after_reboot(netns, conf, lib_dir):
    store = Store(netconf_dir(lib_dir))
    conf_ = Configurator(store, caller.in_process(Config()), netns.name)
    conf_.setup_networks(
        {"mgmt": {"nic": "eth0", "ipaddr": "192.0.2.1", "prefix": 24,
                  "gateway": "192.0.2.254", "defaultRoute": True,
                  "mtu": 1400},
         "data": {"nic": "eth1", "bridged": False,
                  "ipv6addr": "2001:db8::1/64"}}, {}, {})
    conf_.set_safe_config()
    safe_state = netns.state_text()
    conf_.setup_networks({"late": {"nic": "eth2"},
                          "data": {"remove": True}}, {}, {})
    # Reboot: virtual links gone, NICs down with no address.
    netns.batch(["link del mgmt", "link del late",
                 "addr flush dev eth1", "link set eth0 mtu 1500"] +
                [f"link set eth{i} down" for i in range(3)] +
                [f"link set eth{i} up" for i in range(3)])
    proc = restore_nets(conf, netns)
    assert proc.returncode == 0, proc.stderr
    assert "restored 2 networks" in proc.stdout
    assert netns.state_text() == safe_state
    assert netns.link("late") is None
    assert not store.is_dirty()


def test_restore_removes_networks_added_later(netns, conf, lib_dir):
    store = Store(netconf_dir(lib_dir))
    conf_ = Configurator(store, caller.in_process(Config()), netns.name)
    conf_.setup_networks({"a": {"nic": "eth0"}}, {}, {})
    conf_.set_safe_config()
    safe_state = netns.state_text()
    conf_.setup_networks({"b": {"nic": "eth1", "ipaddr": "192.0.2.9",
                                "prefix": 24}}, {}, {})
    assert restore_nets(conf, netns).returncode == 0
    assert netns.link("b") is None
    assert netns.state_text() == safe_state


def test_nothing_to_restore(netns, conf):
    before = netns.state_text()
    proc = restore_nets(conf, netns)
    assert proc.returncode == 0
    assert "nothing to do" in proc.stdout
    assert netns.state_text() == before
