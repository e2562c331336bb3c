"""Subscriptions and message routing between STOMP connections.

Lives on the asyncio loop; only loop code calls it. A destination maps to
the (connection, subscription id) pairs subscribed to it. Responses go to
every subscription of their reply-to destination; events to every
subscription of ``jms.queue.events``.
"""

from __future__ import annotations

import itertools
from typing import Protocol

from vdsm.rpc import stomp

EVENTS = "jms.queue.events"
REQUESTS = ("jms.topic.vdsm_requests", "jms.topic.vdsm_irs_requests")
DEFAULT_REPLY_TO = "jms.topic.vdsm_responses"


class Subscriber(Protocol):
    def deliver(self, sub_id: str, tail: bytes) -> None:
        """Write a MESSAGE: the subscription's own head, then ``tail``."""


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
        """Deliver to every subscription; return how many got it.

        The frame is encoded once: only the head (destination and
        subscription id, encoded at SUBSCRIBE) differs per subscriber.
        """
        subs = self._subs.get(destination)
        if not subs:
            return 0
        tail = stomp.message_tail(str(next(self._ids)), body)
        for conn, sub_id in list(subs):
            conn.deliver(sub_id, tail)
        return len(subs)

    def subscribers(self, destination: str) -> int:
        return len(self._subs.get(destination, ()))
