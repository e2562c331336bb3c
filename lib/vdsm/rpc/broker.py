"""Subscriptions and message routing between STOMP connections.

Lives on the asyncio loop; only loop code calls it. A destination maps to
the (connection, subscription id) pairs subscribed to it. Responses go to
every subscription of their reply-to destination; events to every
subscription of ``jms.queue.events``.
"""

from __future__ import annotations

import itertools
from typing import Protocol

EVENTS = "jms.queue.events"
REQUESTS = ("jms.topic.vdsm_requests", "jms.topic.vdsm_irs_requests")
DEFAULT_REPLY_TO = "jms.topic.vdsm_responses"


class Subscriber(Protocol):
    def send_message(self, destination: str, sub_id: str,
                     message_id: str, body: bytes) -> None: ...


class Broker:
    def __init__(self) -> None:
        self._subs: dict[str, dict[tuple[Subscriber, str], None]] = {}
        self._ids = itertools.count(1)

    def subscribe(self, conn: Subscriber, sub_id: str,
                  destination: str) -> None:
        self._subs.setdefault(destination, {})[(conn, sub_id)] = None

    def unsubscribe(self, conn: Subscriber, sub_id: str,
                    destination: str) -> None:
        subs = self._subs.get(destination, {})
        subs.pop((conn, sub_id), None)
        if not subs:
            self._subs.pop(destination, None)

    def send(self, destination: str, body: bytes) -> int:
        """Deliver to every subscription; return how many got it."""
        subs = list(self._subs.get(destination, ()))
        message_id = str(next(self._ids))
        for conn, sub_id in subs:
            conn.send_message(destination, sub_id, message_id, body)
        return len(subs)

    def subscribers(self, destination: str) -> int:
        return len(self._subs.get(destination, ()))
