"""Kernel and platform features of the host, each read from /proc or /sys.

A file that does not exist means the feature is absent (or, where upstream
has a value for it, "unknown"); nothing here guesses.
"""

from __future__ import annotations

import os

from vdsm.host import procfs

HOSTED_ENGINE_CONF = "/etc/ovirt-hosted-engine/hosted-engine.conf"

_NESTED_PARAMS = ("/sys/module/kvm_intel/parameters/nested",
                  "/sys/module/kvm_amd/parameters/nested")


def _read(path: str) -> str | None:
    try:
        return procfs.read(path).strip()
    except OSError:
        return None


def kernel_args() -> str:
    return _read("/proc/cmdline") or ""


def kvm_enabled() -> bool:
    return os.path.exists("/dev/kvm")


def selinux_mode() -> str:
    """'1' enforcing, '0' permissive, '-1' disabled, as upstream."""
    value = _read("/sys/fs/selinux/enforce")
    return value if value in ("0", "1") else "-1"


def kdump_status() -> int:
    """1 a crash kernel is loaded, 0 not, -1 unknown."""
    value = _read("/sys/kernel/kexec_crash_loaded")
    if value is None:
        return -1
    return 1 if value == "1" else 0


def fips_enabled() -> bool:
    return _read("/proc/sys/crypto/fips_enabled") == "1"


def realtime_kernel() -> bool:
    return _read("/sys/kernel/realtime") == "1"


def nested_virtualization() -> bool:
    return any(_read(p) in ("Y", "1") for p in _NESTED_PARAMS)


def hugepage_sizes(path: str = "/sys/kernel/mm/hugepages") -> list[int]:
    """Huge page sizes the kernel offers, in KiB."""
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return []
    sizes = (n.removeprefix("hugepages-").removesuffix("kB") for n in names)
    return sorted(int(s) for s in sizes if s.isdigit())


def rng_sources() -> list[str]:
    sources = ["random"]
    current = _read("/sys/class/misc/hw_random/rng_current")
    if os.path.exists("/dev/hwrng") and current not in (None, "", "none"):
        sources.append("hwrng")
    return sources


def hostdev_passthrough() -> bool:
    """True when an IOMMU is active (VT-d / AMD-Vi groups exist)."""
    try:
        return bool(os.listdir("/sys/kernel/iommu_groups"))
    except FileNotFoundError:
        return False


def auto_numa_balancing() -> int:
    """0 off, 1 on, 2 unknown (no such knob in this kernel)."""
    value = _read("/proc/sys/kernel/numa_balancing")
    if value is None or not value.isdigit():
        return 2
    return 1 if int(value) else 0


def cpu_affinity() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def hosted_engine_deployed(conf: str = HOSTED_ENGINE_CONF) -> bool:
    """Whether hosted-engine setup configured this host."""
    return os.path.exists(conf)
