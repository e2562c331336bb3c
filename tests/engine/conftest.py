"""Fixtures of the engine-flow tests: a real vdsmd as the engine finds it.

``engine_host``: a vdsmd over TLS managing a network namespace made for
the test ([network] netns, privileged changes through a real supervdsmd),
with a storage repository on the loop file systems of the storage tests
and the real sanlock daemon (storage/conftest.py), libvirtd for host
devices. ``engine`` is a connection as the engine's broker makes it
(engineclient.py). ``dc_host``: a vdsmd for a data center with VMs on
its storage (datacenter.py), the test guest booting from libvirtd.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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


# VM recovery reads every domain of the machine's libvirtd, other tests'
# too: on a busy machine it takes longer than the fixture's 30 s.
READY_TIMEOUT = 120


def started(daemon: Vdsmd) -> Vdsmd:
    daemon.wait_ready(READY_TIMEOUT)
    return daemon


@pytest.fixture
def engine_host(netns, supervdsmd, vdsmd_factory, env,  # noqa: F811
                sanlock_daemon, libvirtd):  # noqa: F811
    return started(vdsmd_factory({
        "network": {"netns": netns.name, "privileged": "supervdsm",
                    "stats_interval": "0.5", "monitor_settle": "0.3"},
        "supervdsm": {"socket": supervdsmd.socket},
        "irs": {"repository": str(env.tmp_path / "repo"),
                "sd_health_check_delay": "0.5",
                "process_pool_timeout": "5"},
        "sanlock": {"io_timeout": "1"}}, ready=False))


@pytest.fixture
def engine(engine_host) -> Iterator[EngineClient]:
    with connect(engine_host) as c:
        yield c


@pytest.fixture
def dc_repo() -> Iterator[str]:
    """Where qemu (not root) reaches the prepared disks: not pytest's
    private tmp. Made before the daemon, removed after it stopped."""
    path = tempfile.mkdtemp(prefix="vdsm-engine-", dir="/var/tmp")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def dc_host(dc_repo, vdsmd_factory, guests, env,  # noqa: F811
            sanlock_daemon):  # noqa: F811
    """A vdsmd for a data center with running VMs: repository and run dir
    under dc_repo, VMs sampled every second (the engine polls every 15 s;
    the flow only needs two samples soon)."""
    return started(vdsmd_factory({
        "irs": {"repository": os.path.join(dc_repo, "rhev"),
                "sd_health_check_delay": "0.5",
                "process_pool_timeout": "5"},
        "sanlock": {"io_timeout": "1"},
        "vars": {"vm_sample_interval": "1",
                 "run_dir": os.path.join(dc_repo, "run")}}, ready=False))
