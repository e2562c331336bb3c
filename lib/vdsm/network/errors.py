"""Errors of the network subsystem, with upstream Vdsm's codes.

Codes 21-27 are client mistakes in a setupNetworks request: the message
names the field at fault (``networks.net1.mtu``) and nothing was changed.
29 means the kernel refused a change: everything was rolled back. The
client may correct the request and call again.
"""

from __future__ import annotations

from vdsm.common import exception


class ConfigNetworkError(exception.VdsmError):
    """Base of setupNetworks request errors (code 21)."""
    code = 21
    message = "Bad network parameters"


class BadParams(ConfigNetworkError):
    message = "Bad network parameters"


class BadAddr(ConfigNetworkError):
    code = 22
    message = "Bad network address"


class BadNic(ConfigNetworkError):
    code = 23
    message = "Bad network interface"


class UsedNic(ConfigNetworkError):
    code = 24
    message = "Network interface already in use"


class BadBonding(ConfigNetworkError):
    code = 25
    message = "Bad bonding"


class BadVlan(ConfigNetworkError):
    code = 26
    message = "Bad VLAN"


class BadBridge(ConfigNetworkError):
    code = 27
    message = "Bad bridge"


class IfupFailed(ConfigNetworkError):
    """The kernel refused a change; the host was rolled back."""
    code = 29
    message = "Failed to bring interface up"


class SetupInProgress(exception.ResourceUnavailable):
    """Another setupNetworks runs; the client may retry when it ends."""
    message = "Another setupNetworks call is in progress"


class ConnectivityCheckFailed(exception.NoConnectionToPeer):
    """No client confirmed connectivity in time; the host was rolled back."""
    message = "Connectivity check failed, configuration rolled back"

