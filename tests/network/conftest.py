"""Fixtures of the network tests: a configurator working as root on the
test namespace (``netns``, tests/fixtures/network.py), the privileged
functions called in-process, its persistence in a temporary lib_dir."""

from __future__ import annotations

import pytest

from vdsm.network.configurator import Configurator
from vdsm.network.persistence import Store
from vdsm.network.privileged import DirectHelper


@pytest.fixture
def store(tmp_path):
    return Store(str(tmp_path / "netconf"))


@pytest.fixture
def configurator(netns, store):
    return Configurator(store, DirectHelper(), netns=netns.name)
