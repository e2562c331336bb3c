from __future__ import annotations

import libvirt

from vdsm.virt import exitreason


def test_guest_power_off_is_user_shutdown():
    assert exitreason.for_stop(libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
                               False)[:2] == (0, exitreason.USER_SHUTDOWN)


def test_requested_shutdown_is_admin():
    for detail in (libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
                   libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED):
        assert exitreason.for_stop(detail, True)[:2] == (
            0, exitreason.ADMIN_SHUTDOWN)


def test_killed_qemu_is_lost_connection():
    for detail in (libvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED,
                   libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED):
        assert exitreason.for_stop(detail, False)[:2] == (
            1, exitreason.LOST_QEMU_CONNECTION)


def test_shutoff_reasons():
    assert exitreason.for_shutoff(libvirt.VIR_DOMAIN_SHUTOFF_CRASHED,
                                  False)[1] == exitreason.LOST_QEMU_CONNECTION
    assert exitreason.for_shutoff(libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN,
                                  False)[1] == exitreason.USER_SHUTDOWN
    assert exitreason.for_shutoff(libvirt.VIR_DOMAIN_SHUTOFF_FAILED,
                                  False)[1] == exitreason.LIBVIRT_START_FAILED
