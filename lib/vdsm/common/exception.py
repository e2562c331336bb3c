"""One exception hierarchy with the numeric codes oVirt Engine knows.

Every error that may reach a client derives from VdsmError. The class
carries the wire ``code``; the instance carries a message that names the
thing at fault. ``expected`` errors are client mistakes or conditions the
client can act on: the RPC edge logs them as one INFO line. Anything else is
a bug and is logged with a traceback, and the client only gets a generic
"internal error" reply.

Subsystems add their own subclasses next to their code (for example
``vdsm/storage/errors.py``), always deriving from a class here.

The registry: every subclass is recorded when it is defined (``classes()``).
A class that declares ``code`` in its body owns that code; a second class
may declare the same code only as an intended alias, naming the owner in
``alias_of``. A subclass that does not declare ``code`` refines its parent's
error under the parent's code. tests/common/exception_registry_test.py
holds every vdsm error class to these rules and to upstream's numbers.
"""

from __future__ import annotations

from typing import Any, ClassVar

_classes: list[type[VdsmError]] = []


def classes() -> tuple[type[VdsmError], ...]:
    """Every VdsmError subclass defined so far, in definition order."""
    return tuple(_classes)


def declares_code(cls: type[VdsmError]) -> bool:
    """True when ``cls`` declares its own code (rather than inheriting)."""
    return "code" in cls.__dict__


def declared_alias(cls: type[VdsmError]) -> type[VdsmError] | None:
    """The owner of the code ``cls`` shares, named in its own body."""
    return cls.__dict__.get("alias_of")


class VdsmError(Exception):
    """Base of all errors a client may see. The client may go on."""

    code = 100
    message = "General exception"
    expected = True
    # The owner of ``code`` when this class shares it on purpose.
    alias_of: ClassVar[type[VdsmError] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _classes.append(cls)

    def __init__(self, reason: str | None = None, **fields: Any) -> None:
        self.reason = reason
        self.fields = fields
        super().__init__(self.text())

    def text(self) -> str:
        parts = [self.message]
        if self.reason:
            parts.append(self.reason)
        if self.fields:
            parts.append(
                ", ".join(f"{k}={v}" for k, v in sorted(self.fields.items())))
        return ": ".join(parts)

    def info(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.text()}


# JSON-RPC protocol errors (negative codes, JSON-RPC 2.0).

class JsonRpcError(VdsmError):
    """Base of the JSON-RPC protocol errors; never raised itself."""
    message = "Internal JSON-RPC error"


class ParseError(JsonRpcError):
    code = -32700
    message = "Parse error"


class InvalidRequest(JsonRpcError):
    code = -32600
    message = "Invalid request"


class MethodNotFound(JsonRpcError):
    code = -32601
    message = "Method not found"


class InvalidParams(JsonRpcError):
    code = -32602
    message = "Invalid params"


class InternalError(JsonRpcError):
    """A bug: see the log. The reply never carries the details."""
    code = -32603
    message = "Internal error, see the vdsm log"
    expected = False


# General Vdsm codes.

class NoSuchVM(VdsmError):
    code = 1
    message = "Virtual machine does not exist"


class VMExists(VdsmError):
    code = 4
    message = "Virtual machine already exists"


class VMIsDown(VdsmError):
    code = 6
    message = "Virtual machine is down"


class CannotCreateVM(VdsmError):
    code = 9
    message = "Cannot create virtual machine"


class NoConnectionToPeer(VdsmError):
    code = 10
    message = "No connection to peer"


class MissingParameter(VdsmError):
    code = 11
    message = "Missing required parameter"


class MigrationError(VdsmError):
    code = 12
    message = "Fatal error during migration"


class ImageFileNotFound(VdsmError):
    code = 13
    message = "Image file not found"


class OutOfMemory(VdsmError):
    code = 14
    message = "Not enough free memory"


class Unexpected(VdsmError):
    code = 16
    message = "Unexpected exception"
    expected = False


class ResourceUnavailable(VdsmError):
    code = 40
    message = "Resource unavailable"


class DestroyFailed(VdsmError):
    code = 42
    message = "Virtual machine destroy error"


class HotplugDiskError(VdsmError):
    code = 45
    message = "Failed to hotplug disk"


class HotunplugDiskError(VdsmError):
    code = 46
    message = "Failed to hotunplug disk"


class HotplugNicError(VdsmError):
    code = 49
    message = "Failed to hotplug NIC"


class HotunplugNicError(VdsmError):
    code = 50
    message = "Failed to hotunplug NIC"


class MigrationCancelationFailed(VdsmError):
    """VM.migrateCancel with no migration in progress; also the status of
    a migration that was cancelled (upstream's migCancelErr)."""
    code = 47
    message = "Migration not in progress"


class SnapshotFailed(VdsmError):
    code = 48
    message = "Snapshot failed"


class MigrationInProgress(VdsmError):
    code = 51
    message = "Command not supported during migration"


class MigrationNotInProgress(VdsmError):
    """VM.migrateChangeParams with no migration in progress."""
    code = 81
    message = "Migration not in progress"


class MigrationLimitExceeded(VdsmError):
    """The destination has no free incoming migration slot; the source
    asks again later."""
    code = 82
    message = "Incoming migration limit exceeded"


class MergeFailed(VdsmError):
    code = 52
    message = "Merge failed"


class MOMPolicyUpdateFailed(VdsmError):
    """Host.setMOMPolicyParameters refused the variables (unknown name,
    not a boolean) or could not keep them; nothing changed."""
    code = 54
    message = "Failed to set mom policy"


class NoSuchJob(VdsmError):
    code = 66
    message = "Job Id does not exist"


class JobNotDone(VdsmError):
    code = 68
    message = "Job status is not done"


class JobExists(VdsmError):
    code = 69
    message = "Job id already exists"


class HookError(VdsmError):
    code = 78
    message = "Hook error"


class JobNotActive(VdsmError):
    code = 84
    message = "Job is not active"


class Recovering(VdsmError):
    code = 99
    message = "Recovering from crash or Initializing"


class GeneralError(VdsmError):
    code = 100
    message = "General exception"


class InvalidParameter(VdsmError):
    """A parameter is malformed: fix the call and retry. Nothing changed."""
    code = 1000
    message = "Invalid parameter"


class ActionStopped(VdsmError):
    code = 443
    message = "Action was stopped"


class CallTimeout(VdsmError):
    """The call did not finish in time; its worker was discarded and the
    work may still complete. Upstream has no code of its own for this."""
    code = 100
    alias_of = GeneralError
    message = "Call timed out"
