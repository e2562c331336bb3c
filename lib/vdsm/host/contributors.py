"""How subsystems add their parts to Host.getCapabilities and Host.getStats.

The contract
============

``services.capabilities_contributors`` and ``services.stats_contributors``
are lists of callables taking no argument and returning a dict of wire
fields. The host component answers getCapabilities / getStats with its own
fields, then merges every contributor's dict into the result, in list
order:

* a key the result lacks is added;
* two dicts under the same key are merged one level deep (network adds
  ``nics`` entries, storage adds ``storageDomains`` entries);
* two lists under the same key are concatenated (``additionalFeatures``);
* otherwise the contributor's value replaces the host's default (virt
  replaces ``vmCount: 0``, network replaces ``netConfigDirty``).

Keys starting with ``_`` are private inputs to the host's own figures and
never reach the wire. One is defined: a stats contributor (virt) may return
``memCommitted`` (MiB promised to VMs, a wire field) with ``_memResident``
(MiB those VMs' qemu processes already use); ``memAvailable`` is then
``memFree - max(0, memCommitted - _memResident)``, the memory a new VM can
still get, as upstream computes it.

A contributor must answer at once from state it already holds (a monitor's
last result, an in-memory map): getStats is polled every few seconds and
must never wait on storage, libvirt or the network. An exception from a
contributor fails the call (an error reply), never a silently partial
answer that the manager would act on. Every field a contributor adds must
be declared in the HostCapabilities / HostStats types of vdsm-api.yml,
or strict schema checks fail.

Register from a component factory::

    from vdsm.host import contributors
    contributors.add_stats(services, self.host_stats)
"""

from __future__ import annotations

from typing import Any, Callable

Contributor = Callable[[], dict[str, Any]]

CAPABILITIES = "capabilities_contributors"
STATS = "stats_contributors"


def ensure(services: Any) -> None:
    """Create both lists on services if no component did yet."""
    for name in (CAPABILITIES, STATS):
        if getattr(services, name, None) is None:
            setattr(services, name, [])


def add_capabilities(services: Any, func: Contributor) -> None:
    ensure(services)
    getattr(services, CAPABILITIES).append(func)


def add_stats(services: Any, func: Contributor) -> None:
    ensure(services)
    getattr(services, STATS).append(func)


def collect(result: dict[str, Any],
            funcs: list[Contributor]) -> dict[str, Any]:
    """Merge every contributor's dict into result (changed in place)."""
    for func in funcs:
        merge(result, func())
    return result


def merge(result: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        old = result.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            result[key] = {**old, **value}
        elif isinstance(old, list) and isinstance(value, list):
            result[key] = old + value
        else:
            result[key] = value


def strip_private(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith("_")}
