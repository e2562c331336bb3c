"""Fixtures of the engine-flow tests: a real vdsmd as the engine finds it.

``engine_host``: a vdsmd over TLS managing a network namespace made for
the test ([network] netns, privileged changes through a real supervdsmd),
with a storage repository on the loop file systems of the storage tests
and the real sanlock daemon (storage/conftest.py), libvirtd for host
devices. ``engine`` is a connection as the engine's broker makes it
(engineclient.py).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from engine.engineclient import EngineClient
from fixtures.vdsmd import Vdsmd
from storage.conftest import (  # noqa: F401 (fixtures)
    env, machine_lock, sanlock_daemon, userstorage_fs)
from vdsm import client


def connect(daemon: Vdsmd) -> EngineClient:
    return EngineClient(daemon.port,
                        client.client_ssl_context(daemon.pki.root))


@pytest.fixture
def engine_host(netns, supervdsmd, vdsmd_factory, env,  # noqa: F811
                sanlock_daemon, libvirtd):  # noqa: F811
    return vdsmd_factory({
        "network": {"netns": netns.name, "privileged": "supervdsm",
                    "stats_interval": "0.5", "monitor_settle": "0.3"},
        "supervdsm": {"socket": supervdsmd.socket},
        "irs": {"repository": str(env.tmp_path / "repo"),
                "sd_health_check_delay": "0.5",
                "process_pool_timeout": "5"},
        "sanlock": {"io_timeout": "1"}})


@pytest.fixture
def engine(engine_host) -> Iterator[EngineClient]:
    with connect(engine_host) as c:
        yield c


@pytest.fixture
def virt_host(vdsmd_factory, guests):
    """A vdsmd sampling its VMs every second (the engine polls every 15
    s; the flow only needs two samples soon)."""
    return vdsmd_factory({"vars": {"vm_sample_interval": "1"}})
