"""What the API may call: one typed field per subsystem.

The daemon builds one ``Services`` (``vdsm.daemon.create_components``)
and every verb gets it as ``ctx.services``. Each field is the subsystem's
own service class, so mypy follows a call from ``api/`` into the
subsystem (a misspelled method fails ``make mypy``), and a reader finds
the callee from the field's type. Nothing is added after construction
except ``ready``, set once every component has started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from vdsm.common.config import Config

if TYPE_CHECKING:
    # Only for the types: the subsystems import EventSink from here.
    from vdsm.host.component import HostService
    from vdsm.host.mempolicy.component import MemoryPolicy
    from vdsm.network.component import NetworkService
    from vdsm.storage.component import Storage
    from vdsm.virt.component import VirtService


class EventSink(Protocol):
    def publish(self, method: str, params: dict[str, Any]) -> None:
        """Send a JSON-RPC notification to every events subscriber.

        ``notify_time`` (``clock.event_time()``) is added to params.
        """


@dataclass
class Services:
    config: Config
    events: EventSink
    host: HostService
    virt: VirtService          # .vms (the VMs), .sampler (their samples)
    storage: Storage           # its parts: repository, domains, pools ...
    network: NetworkService
    mom: MemoryPolicy          # the host memory policy (KSM, balloons)
    # False while the components start (the API answers code 99).
    ready: bool = False
