"""Publishing events: JSON-RPC notifications to event subscribers.

``publish()`` may be called from any thread; delivery happens on the loop.
Every event goes through ``check`` first, given by the daemon (the API
schema's ``Schema.vet_event``): the transport knows no event types.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from vdsm.common import clock
from vdsm.rpc import jsonrpc
from vdsm.rpc.broker import EVENTS, Broker

log = logging.getLogger("vdsm.events")

# Looks at an event before it is sent: raises to refuse it (the strict
# schema of the tests), returns to let it go (it may log what is wrong).
EventCheck = Callable[[str, dict[str, Any]], None]


class EventPublisher:
    def __init__(self, loop: asyncio.AbstractEventLoop, broker: Broker,
                 check: EventCheck) -> None:
        self._loop = loop
        self._broker = broker
        self._check = check

    def publish(self, method: str, params: dict[str, Any]) -> None:
        params = dict(params, notify_time=clock.event_time())
        self._check(method, params)
        body = jsonrpc.encode(jsonrpc.notification(method, params))
        log.debug("EVENT method=%s size=%d", method, len(body))
        self._loop.call_soon_threadsafe(self._broker.send, EVENTS, body)
