"""How the network subsystem reaches its privileged functions.

vdsmd goes through supervdsmd (``SupervdsmHelper``); ``vdsm-tool
restore-nets`` and the root-run tests, already root, call the same
functions in-process (``DirectHelper``). Both present one small
interface, so the configurator does not care which it has.
"""

from __future__ import annotations

from typing import Any, Protocol

from vdsm.network.changes import Change


class Helper(Protocol):
    def apply_changes(self, changes: list[Change], netns: str) -> int: ...

    def set_nameservers(self, servers: list[str], netns: str) -> None: ...

    def start_dhcp(self, dev: str, default_route: bool, netns: str,
                   family: int = 4) -> None: ...

    def stop_dhcp(self, dev: str, netns: str, family: int = 4) -> None: ...

    def set_ipv6_autoconf(self, devices: dict[str, bool],
                          netns: str) -> None: ...

    def run_hook(self, point: str, data: dict, netns: str) -> dict: ...


class DirectHelper:
    """In-process calls; the caller must be root.

    Network hooks run from ``hooks_dir`` ("" for none: vdsm-tool
    restore-nets runs no hooks).
    """

    def __init__(self, hooks_dir: str = "") -> None:
        self.hooks_dir = hooks_dir

    def apply_changes(self, changes: list[Change], netns: str) -> int:
        from vdsm.supervdsm.api import network
        return network.apply_changes(changes, netns)

    def set_nameservers(self, servers: list[str], netns: str) -> None:
        from vdsm.supervdsm.api import network
        network.set_nameservers(servers, netns)

    def start_dhcp(self, dev: str, default_route: bool, netns: str,
                   family: int = 4) -> None:
        from vdsm.supervdsm.api import network
        network.start_dhcp(dev, default_route, netns, family)

    def stop_dhcp(self, dev: str, netns: str, family: int = 4) -> None:
        from vdsm.supervdsm.api import network
        network.stop_dhcp(dev, netns, family)

    def run_hook(self, point: str, data: dict, netns: str) -> dict:
        from vdsm.supervdsm.api import network
        return network.network_hook(self.hooks_dir, point, data, netns)

    def set_ipv6_autoconf(self, devices: dict[str, bool],
                          netns: str) -> None:
        from vdsm.supervdsm.api import network
        network.set_ipv6_autoconf(devices, netns)


class SupervdsmHelper:
    """Calls through supervdsmd's socket (``vdsm.supervdsm.client``).

    The client is made on first use, so vdsmd starts even while
    supervdsmd is not up yet.
    """

    def __init__(self, config: Any) -> None:
        self._config = config
        self._client: Any = None

    def _call(self, name: str, *args: Any) -> Any:
        if self._client is None:
            from vdsm.supervdsm import client
            self._client = client.get_proxy(self._config)
        return self._client.call(name, *args)

    def apply_changes(self, changes: list[Change], netns: str) -> int:
        return self._call("network.apply_changes", changes, netns)

    def set_nameservers(self, servers: list[str], netns: str) -> None:
        self._call("network.set_nameservers", servers, netns)

    def start_dhcp(self, dev: str, default_route: bool, netns: str,
                   family: int = 4) -> None:
        self._call("network.start_dhcp", dev, default_route, netns, family)

    def stop_dhcp(self, dev: str, netns: str, family: int = 4) -> None:
        self._call("network.stop_dhcp", dev, netns, family)

    def run_hook(self, point: str, data: dict, netns: str) -> dict:
        return self._call("network.run_hook", point, data, netns)

    def set_ipv6_autoconf(self, devices: dict[str, bool],
                          netns: str) -> None:
        self._call("network.set_ipv6_autoconf", devices, netns)
