"""Virt errors that common/exception.py does not carry (upstream codes)."""

from __future__ import annotations

from vdsm.common import exception


class ChangeDiskError(exception.VdsmError):
    """changeCD failed; the VM keeps its previous medium."""
    code = 41
    message = "Failed to change disk image"


class TicketError(exception.VdsmError):
    """setTicket failed; the previous password stays in effect."""
    code = 18
    message = "Failed to set graphics ticket"
