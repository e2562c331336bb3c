"""Errors of supervdsm, on both sides of the socket.

The server answers every failed call with the error's class name, code and
message; the client re-raises the classes below by name and any other
remote error as ``RemoteError`` carrying the remote class name and code.
"""

from __future__ import annotations

from typing import ClassVar

from vdsm.common.commands import (CommandFailed, CommandNotFound,
                                  CommandTimeout)
from vdsm.common.exception import (CallTimeout, GeneralError,
                                   InvalidParameter, VdsmError)
from vdsm.storage.errors import MountError


class SupervdsmError(VdsmError):
    """Base of supervdsm errors. The client may go on."""
    code = 100
    alias_of: ClassVar[type[VdsmError] | None] = GeneralError
    message = "Supervdsm error"


class ConnectionLost(SupervdsmError):
    """supervdsmd went away while a call was in flight: whether the call
    ran is unknown. The next call reconnects."""
    message = "supervdsm connection lost during call"


class Unavailable(SupervdsmError):
    """Cannot connect to supervdsmd (not running, or no access)."""
    message = "supervdsm is not available"


class NotAllowed(SupervdsmError):
    """The peer's uid may not use supervdsmd."""
    message = "Not allowed to call supervdsm"


class NoSuchFunction(SupervdsmError):
    """The name is not on the allowlist."""
    message = "No such privileged function"


class InvalidArguments(SupervdsmError):
    """Arguments do not match the function's signature or annotations;
    nothing ran."""
    code = 1000
    alias_of = InvalidParameter
    message = "Invalid arguments for privileged function"


class InvalidPath(SupervdsmError):
    """A path is outside the roots supervdsm may touch, or is not what the
    function needs; nothing ran."""
    code = 1000
    alias_of = InvalidParameter
    message = "Invalid path"


class ProtocolError(SupervdsmError):
    """A malformed message; the connection is closed."""
    message = "Supervdsm protocol error"


class MountFailed(SupervdsmError):
    """mount or umount failed; vdsmd reports it as storage's MountError."""
    code = 477
    alias_of = MountError
    message = "Error during mount"


class RemoteError(SupervdsmError):
    """Any other error raised by the privileged function.

    ``remote_class`` is the remote exception's class name; ``code`` is its
    Vdsm code when it was a VdsmError, else 100.
    """
    message = "Privileged call failed"

    def __init__(self, reason: str | None = None, remote_class: str = "",
                 code: int = 100) -> None:
        self.remote_class = remote_class
        self.code = code
        super().__init__(reason)


# Classes re-raised by name on the client. The Command* errors are
# vdsm.common.commands' (helpers run through runtime.run); CallTimeout is
# the common one:
# the client raises it when the reply does not come within its timeout
# (the call may still complete on the server), the server when the call
# ran past [supervdsm] call_timeout.
KNOWN: dict[str, type[VdsmError]] = {
    cls.__name__: cls for cls in (
        ConnectionLost, Unavailable, NotAllowed, NoSuchFunction,
        InvalidArguments, InvalidPath, CallTimeout, ProtocolError,
        CommandFailed, CommandTimeout, CommandNotFound, MountFailed)
}
