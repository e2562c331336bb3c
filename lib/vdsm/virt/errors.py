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


class MethodNotImplemented(exception.VdsmError):
    """The request names a variant this host does not implement."""
    code = 44
    message = "Not implemented"


class UpdateDeviceFailed(exception.VdsmError):
    """updateDevice failed; the device keeps its previous state."""
    code = 56
    message = "Failed to update device"


class ExternalDataFailed(exception.VdsmError):
    """TPM/NVRAM data could not be read or written."""
    code = 89
    message = "Failed to handle external VM data"


class BadDiskResizeParameter(exception.VdsmError):
    """VM.diskSizeExtend with a size that is not a number or below the
    disk's current size; the disk is left as it was."""
    code = 58
    message = "Wrong resize disk parameter"
