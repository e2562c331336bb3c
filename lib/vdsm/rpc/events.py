"""Publishing events: JSON-RPC notifications to event subscribers.

``publish()`` may be called from any thread; delivery happens on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from vdsm.api.schema import Schema, SchemaError
from vdsm.common import clock
from vdsm.rpc import jsonrpc
from vdsm.rpc.broker import EVENTS, Broker

log = logging.getLogger("vdsm.events")


class EventPublisher:
    def __init__(self, loop: asyncio.AbstractEventLoop, broker: Broker,
                 schema: Schema) -> None:
        self._loop = loop
        self._broker = broker
        self._schema = schema

    def publish(self, method: str, params: dict[str, Any]) -> None:
        params = dict(params, notify_time=clock.monotonic_ms())
        try:
            self._schema.check_event(method, params)
        except SchemaError as e:
            # Strict mode (tests) refuses it; production logs and sends.
            log.error("BAD_EVENT method=%s problem=%s", method, e)
            if self._schema.strict:
                raise
        body = jsonrpc.encode(jsonrpc.notification(method, params))
        log.debug("EVENT method=%s size=%d", method, len(body))
        self._loop.call_soon_threadsafe(self._broker.send, EVENTS, body)
