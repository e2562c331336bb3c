"""The storage component: ``services.storage`` for the API and virt.

``start()`` restores the saved storage server connections. The component
sends the ``|jobs|status|<id>`` event of every SDM job change. What
storage adds to Host.getStats (``StorageService.repo_stats()``) is
composed by ``vdsm.api.host_wire``.
"""

from __future__ import annotations

from vdsm.common.config import Config
from vdsm.services import EventSink
from vdsm.storage import jobs
from vdsm.storage.service import StorageService
from vdsm.storage.tasks import Task


class StorageComponent:
    def __init__(self, config: Config, events: EventSink) -> None:
        self.service = StorageService(config)

        def publish(task: Task) -> None:
            events.publish(f"|jobs|status|{task.id}", jobs.info(task))
        self.service.tasks.on_job_change = publish

    def start(self) -> None:
        self.service.start()

    def stop(self) -> None:
        self.service.stop()
