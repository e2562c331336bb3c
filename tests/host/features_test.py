from __future__ import annotations

import os

from vdsm.host import features


def test_kernel_args():
    with open("/proc/cmdline") as f:
        assert features.kernel_args() == f.read().strip()


def test_kvm_enabled():
    assert features.kvm_enabled() == os.path.exists("/dev/kvm")


def test_selinux_mode():
    path = "/sys/fs/selinux/enforce"
    if os.path.exists(path):
        with open(path) as f:
            assert features.selinux_mode() == f.read().strip()
    else:
        assert features.selinux_mode() == "-1"


def test_hugepage_sizes(tmp_path):
    for name in ("hugepages-2048kB", "hugepages-1048576kB", "other"):
        (tmp_path / name).mkdir()
    assert features.hugepage_sizes(str(tmp_path)) == [2048, 1048576]
    assert features.hugepage_sizes(str(tmp_path / "missing")) == []


def test_hugepage_sizes_real():
    names = os.listdir("/sys/kernel/mm/hugepages")
    assert len(features.hugepage_sizes()) == len(names)


def test_rng_sources():
    sources = features.rng_sources()
    assert sources[0] == "random"
    assert ("hwrng" in sources) <= os.path.exists("/dev/hwrng")


def test_auto_numa_balancing():
    path = "/proc/sys/kernel/numa_balancing"
    value = features.auto_numa_balancing()
    if os.path.exists(path):
        with open(path) as f:
            assert value == (1 if int(f.read()) else 0)
    else:
        assert value == 2


def test_kdump_status():
    assert features.kdump_status() in (-1, 0, 1)
    if not os.path.exists("/sys/kernel/kexec_crash_loaded"):
        assert features.kdump_status() == -1


def test_cpu_affinity():
    assert features.cpu_affinity() == sorted(os.sched_getaffinity(0))


def test_hosted_engine_deployed(tmp_path):
    conf = tmp_path / "hosted-engine.conf"
    assert not features.hosted_engine_deployed(str(conf))
    conf.write_text("fqdn=engine.example.com\n")
    assert features.hosted_engine_deployed(str(conf))
    assert features.hosted_engine_deployed() == os.path.exists(
        features.HOSTED_ENGINE_CONF)
