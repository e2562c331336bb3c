"""The host component: capabilities, statistics and hardware of this host.

``HostService`` answers with this host's own fields only; what other
subsystems add to Host.getCapabilities and Host.getStats (VM counts,
storage domains, networks) is composed by ``vdsm.api.host_wire`` from
their typed services.

``start()`` takes the first host sample and starts the sampler
(``[vars] host_sample_interval``); ``stop()`` stops it.
"""

from __future__ import annotations

import logging
from typing import Any

from vdsm.common import clock
from vdsm.common.config import Config
from vdsm.host import capabilities, hardware, hostdev, osinfo, stats
from vdsm.host.sampling import HostSampler

log = logging.getLogger("vdsm.host")


class HostService:
    def __init__(self, config: Config) -> None:
        self._config = config
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

    def capabilities(self, local: tuple | None = None
                     ) -> capabilities.HostCapabilities:
        return capabilities.capabilities(self._config, self._packages, local)

    def stats(self) -> dict[str, Any]:
        """From the last two samples only: never waits on a device."""
        first, last = self.sampler.samples()
        return stats.produce(first, last, clock.monotonic() - self._started)

    def hardware_info(self) -> hardware.HardwareInfo:
        return hardware.hardware_info()

    def host_devices(self, caps: list[str]) -> dict[str, Any]:
        return hostdev.list_by_caps(caps)
