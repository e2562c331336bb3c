"""Fixtures of the network tests: a namespace with veth NICs, a
configurator working on it as root (privileged functions called
in-process), and its persistence in a temporary lib_dir."""

from __future__ import annotations

import pytest

from nettestlib import Namespace, have_root
from vdsm.network.configurator import Configurator
from vdsm.network.persistence import Store
from vdsm.network.privileged import DirectHelper


@pytest.fixture
def netns():
    if not have_root():
        pytest.skip("needs root to make network namespaces")
    ns = Namespace().create()
    try:
        ns.add_nics("eth0", "eth1", "eth2", "eth3")
        yield ns
    finally:
        ns.delete()


@pytest.fixture
def store(tmp_path):
    return Store(str(tmp_path / "netconf"))


@pytest.fixture
def configurator(netns, store):
    return Configurator(store, DirectHelper(), netns=netns.name)
