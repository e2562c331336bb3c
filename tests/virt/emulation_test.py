from __future__ import annotations

import os

from vdsm.common.libvirtconnection import Connection
from vdsm.virt.component import Emulation


def test_fake_kvm_always_emulates():
    # No libvirt call is needed when the config asks for emulation.
    assert Emulation(conn=None, fake_kvm=True)() is True  # type: ignore


def test_probe_follows_dev_kvm(virt_libvirtd):
    conn = Connection()
    try:
        emulation = Emulation(conn, fake_kvm=False)
        usable = emulation.kvm_usable()
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            assert usable is False
        assert emulation() is (not usable)
    finally:
        conn.close()
