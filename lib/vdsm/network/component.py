"""The network component of vdsmd: ``services.network``.

Creates the configurator over the persisted config and the caller of
supervdsm's privileged network functions (``[network] privileged``:
through supervdsmd, or in-process with the same checks), the statistics
sampler and the netlink monitor. What it adds to Host.getCapabilities and
Host.getStats (``capabilities()``, ``config_dirty()``) is composed by
``vdsm.api.host_wire``.
"""

from __future__ import annotations

import logging
from typing import Any

from vdsm.common.config import Config
from vdsm.common.periodic import Periodic
from vdsm.network import caps, netinfo, persistence
from vdsm.network.configurator import Configurator
from vdsm.network.monitor import EVENT, Monitor
from vdsm.network.stats import InterfaceStats, Sampler
from vdsm.services import EventSink
from vdsm.supervdsm import caller

log = logging.getLogger("vdsm.network")


def _privileged(config: Config) -> caller.Caller:
    if config.get("network", "privileged") == "direct":
        return caller.in_process(config)
    return caller.over_socket(config)


class NetworkService:
    def __init__(self, config: Config, events: EventSink) -> None:
        self._events = events
        self.netns = config.get("network", "netns")
        store = persistence.Store(
            persistence.netconf_dir(config.get("vars", "lib_dir")))
        self.configurator = Configurator(
            store, _privileged(config), self.netns,
            config.get("vars", "hooks_dir"),
            config.getfloat("network", "dhcp_timeout"))
        self.sampler = Sampler(self.netns or None)
        self._periodic = Periodic("net/stats",
                                  config.getfloat("network",
                                                  "stats_interval"),
                                  self._sample)
        self._monitor = Monitor(self._publish_change,
                                self.configurator.changing,
                                config.getfloat("network", "monitor_settle"),
                                self.netns)

    # Component.

    def start(self) -> None:
        self._sample()
        self._periodic.start()
        self._monitor.start()

    def stop(self) -> None:
        self._monitor.stop()
        self._periodic.stop()

    # What the API calls.

    def setup_networks(self, networks: Any, bondings: Any,
                       options: Any) -> None:
        self.configurator.setup_networks(networks, bondings, options)

    def confirm_connectivity(self) -> None:
        self.configurator.confirm_connectivity()

    def set_safe_config(self) -> None:
        self.configurator.set_safe_config()

    def capabilities(self) -> caps.NetworkCapabilities:
        snap = netinfo.snapshot(self.netns or None)
        return caps.capabilities(
            snap, self.configurator.running_config(),
            self.configurator.is_dirty(), caps.read_nameservers(
                self._resolv_conf()), self.netns)

    def statistics(self) -> dict[str, InterfaceStats]:
        return self.sampler.statistics()

    def config_dirty(self) -> bool:
        """Whether the running config differs from the persisted one."""
        return self.configurator.is_dirty()

    # Helpers.

    def _resolv_conf(self) -> str:
        if self.netns:
            return f"/etc/netns/{self.netns}/resolv.conf"
        return "/etc/resolv.conf"

    def _sample(self) -> None:
        self.sampler.sample()

    def _publish_change(self) -> None:
        self._events.publish(EVENT, {})
