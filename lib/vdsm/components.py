"""What vdsmd is made of: API modules and subsystem components.

``API_MODULES`` are imported at start; importing registers their verbs.
One line per entry, so branches merge without conflicts.

A component is a subsystem's running part (``Component``). The daemon
builds them in ``vdsm.daemon.create_components``, each given only what it
uses (the config, the event sink, another subsystem's service), and
collects their services into one typed ``vdsm.services.Services``. The
API is served as soon as the daemon listens, answering code 99 until
every component's ``start()`` has returned (VM recovery, storage
connections ...); ``start()`` runs in order, in one thread, ``stop()`` in
reverse order on shutdown.

What a subsystem adds to Host.getCapabilities and Host.getStats is a
typed method of its service (``VirtService.host_counts()``,
``NetworkService.config_dirty()`` ...); ``vdsm.api.host_wire`` composes
the answer from them and maps it to wire names. No subsystem adds fields
to another's answer.
"""

from __future__ import annotations

from typing import Protocol


class Component(Protocol):
    def start(self) -> None:
        """Bring the subsystem up (may block: recovery, connections)."""

    def stop(self) -> None:
        """Release what start() took; called once, in reverse order."""


API_MODULES: list[str] = [
    "vdsm.api.host",
    "vdsm.api.vm",
    "vdsm.api.vm_devices",
    "vdsm.api.vm_external",
    "vdsm.api.vm_migration",
    "vdsm.api.vm_snapshot",
    "vdsm.api.vm_merge",
    "vdsm.api.vm_disks",
    "vdsm.api.host_virt",
    "vdsm.api.storagepool",
    "vdsm.api.storagedomain",
    "vdsm.api.volume",
    "vdsm.api.image",
    "vdsm.api.task",
    "vdsm.api.sdm",
    "vdsm.api.coldmerge",
    "vdsm.api.jobs",
    "vdsm.api.host_storage",
    "vdsm.api.host_network",
    "vdsm.api.host_mom",
    "vdsm.api.host_blockdevices",
    "vdsm.api.host_secrets",
    "vdsm.api.host_fence",
    "vdsm.api.host_lldp",
]
