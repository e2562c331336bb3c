"""Fixtures of the host tests: a running libvirtd."""

from __future__ import annotations

import os
import subprocess
import time

import libvirt  # type: ignore[import-untyped]
import pytest

LIBVIRT_SOCK = "/run/libvirt/libvirt-sock"


def _libvirtd_answers() -> bool:
    try:
        conn = libvirt.openReadOnly("qemu:///system")
    except libvirt.libvirtError:
        return False
    conn.close()
    return True


@pytest.fixture(scope="session")
def libvirtd() -> None:
    """Make sure libvirtd (and virtlogd) run; skip when they cannot.

    Started by hand (no systemd on the test machine) and left running:
    other tests and the daemon share it.
    """
    if _libvirtd_answers():
        return
    if os.geteuid() != 0:
        pytest.skip("libvirtd is not running and starting it needs root")
    for daemon in ("virtlogd", "libvirtd"):
        try:
            subprocess.run([daemon, "-d"], check=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as e:
            pytest.skip(f"cannot start {daemon}: {e}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _libvirtd_answers():
            return
        time.sleep(0.2)
    pytest.skip("libvirtd started but does not answer on qemu:///system")
