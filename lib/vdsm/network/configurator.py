"""setupNetworks: validate, apply, check connectivity, roll back, persist.

Theory of operation
-------------------

The running config (``persistence``) is what vdsm set up; the kernel is
read fresh for every call (``netinfo.snapshot``). One call:

1. parse the request (``model``), then take the setup lock without
   waiting (a second concurrent call fails with code 40);
2. read the running config and a snapshot of the kernel; validate the
   request against both (``validation``): any error here changes nothing;
3. compute the target devices for the new config (``state.desired``) and
   the changes from the snapshot to it (``planner``); send them in one
   privileged call (one ``ip -batch``);
4. with ``connectivityCheck``, wait ``connectivityTimeout`` seconds for a
   ``Host.confirmConnectivity`` made after the changes;
5. on any failure in 3-4 (kernel refusal, no confirmation, a crash of the
   helper) roll back: take a new snapshot and plan from it towards the
   snapshot of step 2, for every device the call touched. The rollback
   does not need to know how far the changes went;
6. on success save the new running config (and the safe one with
   ``commitOnSuccess``).

Because the plan is computed from what the kernel has, the same code
serves rollback and ``vdsm-tool restore-nets`` (plan towards the safe
config). Nothing else holds network state.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Iterable

from vdsm import hooks
from vdsm.common import clock, exception
from vdsm.network import errors, netinfo, planner, state, validation
from vdsm.network.model import Config, Network, Request, parse_request
from vdsm.network.netinfo import Snapshot
from vdsm.network.persistence import Store
from vdsm.supervdsm.api import network as privileged
from vdsm.supervdsm.caller import Caller

log = logging.getLogger("vdsm.network")


class Configurator:
    def __init__(self, store: Store, call: Caller, netns: str = "",
                 hooks_dir: str = "", dhcp_timeout: float = 30.0) -> None:
        self.store = store
        # Runs supervdsm's privileged functions (vdsm.supervdsm.caller):
        # through supervdsmd, or in-process when we are root already.
        self.call = call
        self.netns = netns
        self.hooks_dir = hooks_dir
        # How long a blockingdhcp network may wait for its lease.
        self.dhcp_timeout = dhcp_timeout
        self._lock = threading.Lock()
        self._confirmed = threading.Event()
        self._quiet_until = 0.0

    # Public API.

    def setup_networks(self, networks: Any, bondings: Any,
                       options: Any) -> None:
        """Apply a request, with the network hooks around it.

        As upstream: ``before_network_setup`` sees the request first and
        may rewrite it (a failing one fails the call, nothing changed);
        ``after_network_setup`` or ``after_network_setup_fail`` follow,
        their failures only logged. Hooks run as root in supervdsmd.
        """
        hook_data = {"request": {"networks": networks, "bondings": bondings,
                                 "options": options}}
        if not self._lock.acquire(blocking=False):
            raise errors.SetupInProgress()
        try:
            hook_data = self._hook("before_network_setup", hook_data)
            try:
                given = hook_data["request"]
                request = parse_request(given["networks"],
                                        given["bondings"], given["options"])
            except (KeyError, TypeError):
                raise exception.HookError(
                    "before_network_setup left no request with networks, "
                    "bondings and options")
            try:
                self._setup(request)
            except Exception:
                self._after_hook("after_network_setup_fail", hook_data)
                raise
            self._after_hook("after_network_setup", hook_data)
        finally:
            self._quiet_until = clock.monotonic() + 2.0
            self._lock.release()

    def confirm_connectivity(self) -> None:
        self._confirmed.set()

    def set_safe_config(self) -> None:
        with self._lock:
            self.store.set_safe()
        log.info("SAFE config marked")

    def is_dirty(self) -> bool:
        return self.store.is_dirty()

    def running_config(self) -> Config:
        return self.store.load_running()

    def changing(self) -> bool:
        """True while our own changes may still show up as netlink events."""
        return self._lock.locked() or \
            clock.monotonic() < self._quiet_until

    def _hook(self, point: str, data: dict) -> dict:
        # Installed scripts are listed here (the hooks dir is readable by
        # vdsm), so a host without network hooks makes no extra call.
        if not self.hooks_dir or not hooks.scripts(self.hooks_dir, point):
            return data
        return self.call(privileged.run_hook, point, data, self.netns)

    def _after_hook(self, point: str, data: dict) -> None:
        try:
            self._hook(point, data)
        except Exception as e:
            log.warning("FAIL hook=%s ignored error=%s", point, e)

    def restore(self, safe: Config) -> None:
        """Bring ``safe`` back, dropping networks added after it."""
        with self._lock:
            running = self.store.load_running()
            before = netinfo.snapshot(self.netns or None)
            target = state.desired(safe, running, before)
            changes = planner.plan(before, target)
            log.info("RESTORE networks=%d bonds=%d changes=%d",
                     len(safe.networks), len(safe.bonds), len(changes))
            for iface, family in _dhcp(running):
                self.call(privileged.stop_dhcp, iface, self.netns, family)
            self.call(privileged.apply_changes, changes, self.netns)
            self._start_dhcp(_dhcp(safe))
            self._set_autoconf(safe.networks.values())
            self._set_nameservers(running, safe)
            self.store.save_running(safe)

    # The steps of one call.

    def _setup(self, request: Request) -> None:
        start = clock.monotonic()
        running = self.store.load_running()
        before = netinfo.snapshot(self.netns or None)
        new = validation.validate(request, running, before)
        target = state.desired(new, running, before)
        changes = planner.plan(before, target)
        dhcp = _DhcpPlan(running, new, request)
        log.info("START setupNetworks networks=%d bonds=%d removals=%d "
                 "changes=%d", len(request.networks), len(request.bonds),
                 len(request.remove_networks) + len(request.remove_bonds),
                 len(changes))
        try:
            self._apply(changes, running, new, request, dhcp)
        except BaseException as e:
            log.warning("ROLLBACK reason=%s", e)
            self._rollback(before, set(target.devices), new, running, dhcp)
            if isinstance(e, errors.ConnectivityCheckFailed):
                raise
            if isinstance(e, Exception) and not isinstance(
                    e, errors.ConfigNetworkError):
                raise errors.IfupFailed(f"rolled back: {e}")
            raise
        self.store.save_running(new)
        if request.options.commit_on_success:
            self.store.set_safe()
        log.info("FINISH setupNetworks elapsed=%.3f",
                 clock.monotonic() - start)

    def _apply(self, changes: list, running: Config, new: Config,
               request: Request, dhcp: _DhcpPlan) -> None:
        for iface, family in dhcp.stop:
            self.call(privileged.stop_dhcp, iface, self.netns, family)
        if changes:
            self.call(privileged.apply_changes, changes, self.netns)
        self._start_dhcp(dhcp.start)
        self._set_autoconf(request.networks.values())
        self._set_nameservers(running, new)
        blocking = {new.networks[n].iface for n in request.blocking_dhcp}
        self._wait_leases({k for k in _dhcp(new) if k[0] in blocking})
        options = request.options
        if options.connectivity_check:
            self._confirmed.clear()
            log.info("WAIT connectivity timeout=%d",
                     options.connectivity_timeout)
            if not self._confirmed.wait(options.connectivity_timeout):
                raise errors.ConnectivityCheckFailed(
                    f"no confirmation in {options.connectivity_timeout} s")
            log.info("CONFIRMED connectivity")

    def _rollback(self, before: Snapshot, names: set[str], new: Config,
                  old: Config, dhcp: _DhcpPlan) -> None:
        try:
            for iface, family in dhcp.start:
                self.call(privileged.stop_dhcp, iface, self.netns, family)
            now = netinfo.snapshot(self.netns or None)
            changes = planner.plan(now, state.from_snapshot(before, names))
            self.call(privileged.apply_changes, changes, self.netns)
            self._start_dhcp({i: r for i, r in _dhcp(old).items()
                              if i in dhcp.stop})
            self._set_nameservers(new, old)
            log.info("ROLLED BACK changes=%d", len(changes))
        except Exception:
            log.exception("ROLLBACK FAILED: the host may be left half "
                          "configured; vdsm-tool restore-nets fixes it")

    def _set_autoconf(self, networks: Iterable[Network]) -> None:
        """ipv6autoconf, on or off, on each network's device (the kernel
        default would autoconfigure from any router advertisement)."""
        devices = {net.iface: net.ipv6autoconf for net in networks
                   if net.iface}
        if devices:
            self.call(privileged.set_ipv6_autoconf, devices, self.netns)

    def _wait_leases(self, clients: set[tuple[str, int]]) -> None:
        """blockingdhcp: until every (device, family) has its DHCP address
        (IPv4: a dynamic one; DHCPv6: a dynamic /128, as autoconf makes
        /64s), or fail: the caller rolls back, as upstream when dhclient
        gets no lease."""
        deadline = clock.monotonic() + self.dhcp_timeout
        for iface, family in sorted(clients):
            log.info("WAIT dhcp dev=%s family=%d timeout=%.0f", iface,
                     family, self.dhcp_timeout)
            while True:
                dev = netinfo.snapshot(self.netns or None).get(iface)
                leased = [a for a in (dev.dynamic_addrs if dev else ())
                          if _is_lease(a, family)]
                if leased:
                    log.info("LEASED dev=%s addrs=%s", iface,
                             ",".join(leased))
                    break
                if clock.monotonic() > deadline:
                    raise errors.IfupFailed(
                        f"no DHCP{'v6' if family == 6 else ''} lease on "
                        f"{iface} in {self.dhcp_timeout:.0f} s "
                        "(blockingdhcp)")
                time.sleep(0.2)

    def _start_dhcp(self, clients: dict[tuple[str, int], bool]) -> None:
        for (iface, family), default_route in sorted(clients.items()):
            self.call(privileged.start_dhcp, iface, default_route,
                      self.netns, family)

    def _set_nameservers(self, old: Config, new: Config) -> None:
        servers = _nameservers(new)
        if servers and servers != _nameservers(old):
            self.call(privileged.set_nameservers, list(servers), self.netns)


def _is_lease(addr: str, family: int) -> bool:
    if family == 4:
        return ":" not in addr
    return ":" in addr and addr.endswith("/128")


def _dhcp(config: Config) -> dict[tuple[str, int], bool]:
    """The DHCP clients of config, (device, family 4 or 6), with whether
    they take the default route (DHCPv6 gives none: RAs do)."""
    out = {}
    for net in config.networks.values():
        if net.iface and net.dhcpv4:
            out[(net.iface, 4)] = net.default_route
        if net.iface and net.dhcpv6:
            out[(net.iface, 6)] = False
    return out


class _DhcpPlan:
    """Which DHCP clients a call stops before its changes and starts after.

    Requested DHCP networks are restarted: their device may be recreated.
    """

    def __init__(self, old: Config, new: Config, request: Request) -> None:
        before, after = _dhcp(old), _dhcp(new)
        requested = {n.iface for n in request.networks.values()}
        self.start = {k: r for k, r in after.items()
                      if k[0] in requested or before.get(k) != r}
        self.stop = [i for i, r in sorted(before.items())
                     if i not in after or i in self.start]


def _nameservers(config: Config) -> tuple[str, ...]:
    for net in config.networks.values():
        if net.default_route:
            return net.nameservers
    return ()
