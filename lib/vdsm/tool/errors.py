"""Errors of vdsm-tool."""

from __future__ import annotations

from vdsm.common.exception import VdsmError


class ConfigureError(VdsmError):
    """A module cannot configure the host as it is; the message says why
    and what the administrator can do (often: rerun with --force)."""
    code = 100
    message = "Cannot configure"
