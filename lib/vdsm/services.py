"""The daemon's shared services, handed explicitly to components and verbs.

Holds the config, the event publisher and whatever the components publish
(``services.vms``, ``services.storage`` ...). It is a plain namespace: a
component sets its attribute in its factory.
"""

from __future__ import annotations

import types
from typing import Any, Protocol

from vdsm.common.config import Config


class EventSink(Protocol):
    def publish(self, method: str, params: dict[str, Any]) -> None:
        """Send a JSON-RPC notification to every events subscriber.

        ``notify_time`` (ms, monotonic) is added to params.
        """


class Services(types.SimpleNamespace):
    config: Config
    events: EventSink
    ready: bool
