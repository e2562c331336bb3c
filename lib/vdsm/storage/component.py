"""The storage component: ``services.storage`` for the API and virt.

``start()`` restores the saved storage server connections. The component
adds a contributor to ``services.stats_contributors`` so that
``Host.getStats`` carries ``storageDomains``.
"""

from __future__ import annotations

from typing import Any

from vdsm.host import contributors
from vdsm.storage.service import StorageService


class StorageComponent:
    def __init__(self, services: Any) -> None:
        self.service = StorageService(services.config)
        services.storage = self.service
        contributors.add_stats(services, self.service.host_stats)

    def start(self) -> None:
        self.service.start()

    def stop(self) -> None:
        self.service.stop()


def create(services: Any) -> StorageComponent:
    return StorageComponent(services)
