"""The host component: capabilities, statistics and hardware of this host.

``create(services)`` publishes ``services.host`` (a ``HostService``) and
makes sure ``services.capabilities_contributors`` and
``services.stats_contributors`` exist. Those two lists are the extension
point through which virt, storage and network add their fields to
Host.getCapabilities and Host.getStats: each entry is a callable taking no
argument and returning a dict of wire fields, merged into the host's own
answer (dicts one level deep, lists concatenated, other values replaced;
``_private`` keys never reach the wire). A contributor answers at once from
state it holds and raises rather than return a partial answer. The full
contract is in ``vdsm.host.contributors``; register with
``contributors.add_capabilities(services, func)`` or
``contributors.add_stats(services, func)`` from any component factory,
before or after this one runs.

``start()`` takes the first host sample and starts the sampler
(``[vars] host_sample_interval``); ``stop()`` stops it.
"""

from __future__ import annotations

import logging
from typing import Any

from vdsm.common import clock
from vdsm.host import (capabilities, contributors, hardware, hostdev, osinfo,
                       stats)
from vdsm.host.sampling import HostSampler

log = logging.getLogger("vdsm.host")

# Upstream's answer on a host without the hosted-engine HA agent.
HA_STATS_NOT_CONFIGURED = {"configured": False, "active": False, "score": 0,
                           "globalMaintenance": False,
                           "localMaintenance": False}


class HostService:
    def __init__(self, services: Any) -> None:
        self._services = services
        self._config = services.config
        self._started = clock.monotonic()
        self._packages = osinfo.PackageCache()
        self.sampler = HostSampler(
            self._config.getfloat("vars", "host_sample_interval"))

    def start(self) -> None:
        self.sampler.start()
        log.info("START component=host sample_interval=%s",
                 self.sampler.interval)

    def stop(self) -> None:
        self.sampler.stop()

    def capabilities(self, local: tuple | None = None) -> dict[str, Any]:
        caps = capabilities.capabilities(self._config, self._packages, local)
        contributors.collect(
            caps, getattr(self._services, contributors.CAPABILITIES, []))
        return contributors.strip_private(caps)

    def stats(self) -> dict[str, Any]:
        first, last = self.sampler.samples()
        result = stats.produce(first, last,
                               clock.monotonic() - self._started)
        result.update(self._stats_defaults())
        contributors.collect(
            result, getattr(self._services, contributors.STATS, []))
        if "memFree" in result:
            pending = max(0, result.get("memCommitted", 0)
                          - result.get("_memResident", 0))
            result["memAvailable"] = max(0, result["memFree"] - pending)
        return contributors.strip_private(result)

    def hardware_info(self) -> dict[str, str]:
        return hardware.hardware_info()

    def host_devices(self, caps: list[str]) -> dict[str, Any]:
        return hostdev.list_by_caps(caps)

    @staticmethod
    def _stats_defaults() -> dict[str, Any]:
        """Fields other components own, as they read with none loaded."""
        return {"vmCount": 0, "vmActive": 0, "vmMigrating": 0,
                "incomingVmMigrations": 0, "outgoingVmMigrations": 0,
                "memCommitted": 0, "storageDomains": {},
                "netConfigDirty": "False", "momStatus": "disabled",
                "haStats": dict(HA_STATS_NOT_CONFIGURED)}


def create(services: Any) -> HostService:
    contributors.ensure(services)
    services.host = HostService(services)
    return services.host
