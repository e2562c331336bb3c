"""Host verbs of the network subsystem (setupNetworks and friends).

Thin: each verb is one call into ``services.network``
(``vdsm.network.component``); errors are the subsystem's VdsmErrors.
"""

from __future__ import annotations

from vdsm.api import network_wire
from vdsm.api.registry import CallContext, verb
from vdsm.network.component import NetworkService


def _network(ctx: CallContext) -> NetworkService:
    return ctx.services.network


@verb("Host.setupNetworks")
def setup_networks(ctx: CallContext, networks: dict, bondings: dict,
                   options: dict) -> dict:
    _network(ctx).setup_networks(networks, bondings, options)
    return {"code": 0, "message": "Done"}


@verb("Host.setSafeNetworkConfig")
def set_safe_network_config(ctx: CallContext) -> bool:
    _network(ctx).set_safe_config()
    return True


@verb("Host.getNetworkCapabilities")
def get_network_capabilities(ctx: CallContext) -> dict:
    return network_wire.capabilities(_network(ctx).capabilities())


@verb("Host.getNetworkStatistics")
def get_network_statistics(ctx: CallContext) -> dict:
    return network_wire.statistics(_network(ctx).statistics())
