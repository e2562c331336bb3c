"""Fixtures of the network tests: a configurator working as root on the
test namespace (``netns``, tests/fixtures/network.py), the privileged
functions called in-process (through supervdsm's allowlist and argument
checks), its persistence in a temporary lib_dir."""

from __future__ import annotations

import pytest

from vdsm.common.config import Config
from vdsm.network.configurator import Configurator
from vdsm.network.persistence import Store
from vdsm.supervdsm import caller


@pytest.fixture
def store(tmp_path):
    return Store(str(tmp_path / "netconf"))


@pytest.fixture
def configurator(netns, store):
    return Configurator(store, caller.in_process(Config()),
                        netns=netns.name)
