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
from vdsm.host import (blockdevices, capabilities, fence, hardware, hostdev,
                       lldp, osinfo, secrets, stats)
from vdsm.host.sampling import HostSampler
from vdsm.supervdsm import caller
from vdsm.supervdsm.api import lldp as lldp_priv

log = logging.getLogger("vdsm.host")


class HostService:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._started = clock.monotonic()
        self._packages = osinfo.PackageCache()
        # Nothing connects before the first call (getLldp).
        self._privileged = caller.over_socket(config)
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

    def stats(self) -> stats.HostStats:
        """From the last two samples only: never waits on a device."""
        first, last = self.sampler.samples()
        return stats.produce(first, last, clock.monotonic() - self._started)

    def hardware_info(self) -> hardware.HardwareInfo:
        return hardware.hardware_info()

    def host_devices(self, caps: list[str]) -> dict[str, Any]:
        return hostdev.list_by_caps(caps)

    def block_devices(self, kind: blockdevices.DeviceType | None,
                      guids: tuple[str, ...], check_status: bool
                      ) -> list[blockdevices.BlockDevice]:
        return blockdevices.devices(kind, guids, check_status)

    def devices_visible(self, guids: list[str]) -> dict[str, bool]:
        return blockdevices.visible(guids)

    def register_secrets(self, items: list[secrets.Secret],
                         clear: bool) -> None:
        secrets.register(items, clear)

    def unregister_secrets(self, uuids: list[str]) -> None:
        secrets.unregister(uuids)

    def fence(self, request: fence.Request) -> fence.Result:
        return fence.fence(request, fence.sanlock_lease_live)

    def lldp(self, devices: list[str]) -> dict[str, lldp.DeviceLldp]:
        """LLDP of ``devices`` (every NIC when empty), through supervdsm."""
        return lldp.info(devices or lldp.nics(), self._query_lldp)

    def _query_lldp(self, devices: list[str]) -> dict[str, str | None]:
        return self._privileged(lldp_priv.lldp_tlvs, devices)
