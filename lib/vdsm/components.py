"""What vdsmd is made of: API modules and subsystem components.

``API_MODULES`` are imported at start; importing registers their verbs.

``COMPONENTS`` are factories ``create(services) -> component``; a component
has ``start()`` and ``stop()``. The daemon serves the API as soon as it
listens, answering code 99 until every component's ``start()`` has returned
(VM recovery, storage connections ...). ``start()`` runs in order, in one
thread; ``stop()`` in reverse order on shutdown. A component publishes what
the API needs as an attribute of ``services`` (``services.vms`` ...).

One line per entry, so branches merge without conflicts.
"""

API_MODULES: list[str] = [
    "vdsm.api.host",
    "vdsm.api.vm",
    "vdsm.api.host_virt",
    "vdsm.api.storagepool",
    "vdsm.api.storagedomain",
    "vdsm.api.volume",
    "vdsm.api.image",
    "vdsm.api.task",
    "vdsm.api.sdm",
    "vdsm.api.jobs",
    "vdsm.api.host_storage",
    "vdsm.api.host_network",
]

COMPONENTS: list[str] = [
    "vdsm.host.component:create",
    "vdsm.storage.component:create",
    "vdsm.network.component:create",
    "vdsm.virt.component:create",
]
