"""Host.getCapabilities and Host.getStats: composed from every subsystem.

Each subsystem answers for itself through its typed service (the host's
own fields, ``VmCounts`` from virt, the storage domains' health, the
network's state); this module puts the parts together and maps them to
the wire names and types the engine reads. Every part is answered from
state the subsystem already holds (a sampler's, a monitor's last result):
getStats is polled every few seconds and never waits on storage, libvirt
or the network. A part that fails fails the call (an error reply), never
a silently partial answer.
"""

from __future__ import annotations

from typing import Any

from vdsm import hooks
from vdsm.api import (host_caps_wire, host_stats_wire, network_wire,
                      storage_wire)
from vdsm.rpc.dispatch import Address
from vdsm.services import Services
from vdsm.virt.component import VmCounts

# Upstream's answer on a host without the hosted-engine HA agent.
HA_STATS_NOT_CONFIGURED = {"configured": False, "active": False, "score": 0,
                           "globalMaintenance": False,
                           "localMaintenance": False}


def capabilities(services: Services,
                 local: Address | None) -> dict[str, Any]:
    return compose_capabilities(
        host_caps_wire.capabilities(services.host.capabilities(local)),
        network_wire.capabilities(services.network.capabilities()),
        hooks.installed(services.config.get("vars", "hooks_dir")))


def stats(services: Services) -> dict[str, Any]:
    result = compose_stats(host_stats_wire.stats(services.host.stats()),
                           services.virt.host_counts(),
                           storage_wire.repo_stats(services.storage.monitor.stats()),
                           services.network.config_dirty())
    result["momStatus"] = services.mom.status().value
    return result


def compose_capabilities(host: dict[str, Any], network: dict[str, Any],
                         installed_hooks: dict[str, Any]) -> dict[str, Any]:
    """host: the host's own fields; network: the network caps (nics,
    bridges, networks ..., netConfigDirty); installed_hooks: by hook
    point, as ``hooks.installed`` gives them."""
    caps = dict(host)
    caps["hooks"] = installed_hooks
    caps.update(network)
    return caps


def compose_stats(host: dict[str, Any], vms: VmCounts,
                  domains: dict[str, dict[str, Any]],
                  net_config_dirty: bool) -> dict[str, Any]:
    result = dict(host)
    result.update({
        "vmCount": vms.total,
        "vmActive": vms.active,
        "vmMigrating": vms.migrating,
        "incomingVmMigrations": vms.incoming_migrations,
        "outgoingVmMigrations": vms.outgoing_migrations,
        "memCommitted": vms.mem_committed_mib,
        "storageDomains": domains,
        "netConfigDirty": _bool_string(net_config_dirty),
        "momStatus": "disabled",
        "haStats": dict(HA_STATS_NOT_CONFIGURED),
    })
    if "memFree" in result:
        # What a new VM can still get, as upstream computes it.
        result["memAvailable"] = max(0, result["memFree"]
                                     - vms.mem_pending_mib)
    return result


def _bool_string(value: bool) -> str:
    return "True" if value else "False"
