"""Errors of supervdsm, on both sides of the socket.

The server answers every failed call with the error's class name, code and
message; the client re-raises the classes below by name and any other
remote error as ``RemoteError`` carrying the remote class name and code.
"""

from __future__ import annotations

from vdsm.common.exception import VdsmError


class SupervdsmError(VdsmError):
    """Base of supervdsm errors. The client may go on."""
    code = 100
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
    code = 91
    message = "Invalid arguments for privileged function"


class InvalidPath(SupervdsmError):
    """A path is outside the roots supervdsm may touch, or is not what the
    function needs; nothing ran."""
    code = 91
    message = "Invalid path"


class CallTimeout(SupervdsmError):
    """The call did not finish within [supervdsm] call_timeout; it may
    still complete on the server."""
    message = "Privileged call timed out"


class ProtocolError(SupervdsmError):
    """A malformed message; the connection is closed."""
    message = "Supervdsm protocol error"


class CommandFailed(SupervdsmError):
    """A helper command exited with an error."""
    message = "Command failed"


class MountFailed(SupervdsmError):
    code = 477
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


# Classes re-raised by name on the client.
KNOWN: dict[str, type[SupervdsmError]] = {
    cls.__name__: cls for cls in (
        ConnectionLost, Unavailable, NotAllowed, NoSuchFunction,
        InvalidArguments, InvalidPath, CallTimeout, ProtocolError,
        CommandFailed, MountFailed)
}
