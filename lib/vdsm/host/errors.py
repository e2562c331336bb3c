"""Host errors that common/exception.py does not carry (upstream codes)."""

from __future__ import annotations

from vdsm.common import exception


class FenceFailed(exception.VdsmError):
    """The fence agent ran and failed (it could not reach the device, or
    the device refused); the message holds the agent's output. Upstream
    answers this with status code 1, the code of "no such VM" too: an
    intended alias on the wire."""
    code = 1
    alias_of = exception.NoSuchVM
    message = "Fence agent failed"


class UnsupportedFenceAgent(exception.VdsmError):
    """No fence agent of that name is installed (Debian's fence-agents
    ships them as /usr/sbin/fence_<agent>). Nothing was run."""
    code = 43
    message = "Unsupported fencing agent"


class BadSecretRequest(exception.VdsmError):
    """A secret is malformed (uuid, usageType, usageID, base64 password);
    no secret was registered or removed."""
    code = 72
    message = "Bad secret request"


class SecretRegistrationFailed(exception.VdsmError):
    """libvirt refused a secret; the ones before it in the list stay
    registered."""
    code = 73
    message = "Error registering Libvirt secret"


class SecretUnregistrationFailed(exception.VdsmError):
    """libvirt failed to remove a secret; the ones before it in the list
    are gone."""
    code = 74
    message = "Error unregistering Libvirt secret"
