"""Why a VM went Down: upstream's exitReason numbers and our mapping.

``for_stop`` maps a libvirt STOPPED event detail, ``for_shutoff`` a
shut-off state reason (read after a reconnection or at recovery), to
``(exitCode, exitReason, exitMessage)``.
"""

from __future__ import annotations

import libvirt

SUCCESS = 0
GENERIC_ERROR = 1
LOST_QEMU_CONNECTION = 2
LIBVIRT_START_FAILED = 3
MIGRATION_SUCCEEDED = 4
SAVE_STATE_SUCCEEDED = 5
ADMIN_SHUTDOWN = 6
USER_SHUTDOWN = 7
MIGRATION_FAILED = 8
LIBVIRT_DOMAIN_MISSING = 9
DESTROYED_ON_STARTUP = 10
HOST_SHUTDOWN = 11

NORMAL = 0
ERROR = 1

Exit = tuple[int, int, str]

ADMIN_EXIT: Exit = (NORMAL, ADMIN_SHUTDOWN, "Admin shut down from the engine")
USER_EXIT: Exit = (NORMAL, USER_SHUTDOWN,
                   "User shut down from within the guest")
LOST_EXIT: Exit = (ERROR, LOST_QEMU_CONNECTION,
                   "Lost connection with qemu process")


def for_stop(detail: int, shutdown_requested: bool) -> Exit:
    """Exit info for a VIR_DOMAIN_EVENT_STOPPED with this detail."""
    if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
        return ADMIN_EXIT if shutdown_requested else USER_EXIT
    if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
        if shutdown_requested:
            return ADMIN_EXIT
        return (ERROR, GENERIC_ERROR, "VM destroyed outside vdsm")
    if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED:
        return (NORMAL, MIGRATION_SUCCEEDED, "Migration succeeded")
    if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED:
        return (NORMAL, SAVE_STATE_SUCCEEDED, "SaveState succeeded")
    # CRASHED, FAILED (qemu died or was killed), anything else.
    return LOST_EXIT


def for_shutoff(reason: int, shutdown_requested: bool) -> Exit:
    """Exit info for a domain found shut off with this state reason."""
    if reason == libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN:
        return ADMIN_EXIT if shutdown_requested else USER_EXIT
    if reason == libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED:
        return for_stop(libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
                        shutdown_requested)
    if reason == libvirt.VIR_DOMAIN_SHUTOFF_MIGRATED:
        return for_stop(libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED, False)
    if reason == libvirt.VIR_DOMAIN_SHUTOFF_SAVED:
        return for_stop(libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED, False)
    if reason == libvirt.VIR_DOMAIN_SHUTOFF_FAILED:
        return (ERROR, LIBVIRT_START_FAILED, "VM failed to start")
    return LOST_EXIT
