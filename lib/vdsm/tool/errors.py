"""Errors of vdsm-tool."""

from __future__ import annotations

from vdsm.common.exception import GeneralError, VdsmError


class ConfigureError(VdsmError):
    """A module cannot configure the host as it is; the message says why
    and what the administrator can do (often: rerun with --force)."""
    code = 100
    alias_of = GeneralError     # never on the wire: vdsm-tool prints it
    message = "Cannot configure"
