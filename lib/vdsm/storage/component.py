"""The storage component: ``services.storage`` for the API and virt.

``start()`` restores the saved storage server connections. The component
adds a contributor to ``services.stats_contributors`` so that
``Host.getStats`` carries ``storageDomains``, and sends the
``|jobs|status|<id>`` event of every SDM job change.
"""

from __future__ import annotations

from typing import Any

from vdsm.host import contributors
from vdsm.storage import jobs
from vdsm.storage.service import StorageService
from vdsm.storage.tasks import Task


class StorageComponent:
    def __init__(self, services: Any) -> None:
        self.service = StorageService(services.config)
        services.storage = self.service
        contributors.add_stats(services, self.service.host_stats)
        events = getattr(services, "events", None)
        if events is not None:
            def publish(task: Task) -> None:
                events.publish(f"|jobs|status|{task.id}", jobs.info(task))
            self.service.tasks.on_job_change = publish

    def start(self) -> None:
        self.service.start()

    def stop(self) -> None:
        self.service.stop()


def create(services: Any) -> StorageComponent:
    return StorageComponent(services)
