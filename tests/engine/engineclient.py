"""A client that talks to vdsmd as oVirt Engine's broker does.

What vdsm-jsonrpc-java (the engine's client) and the engine's
``JsonRpcVdsServer`` put on the wire, where it differs from
``vdsm.client``: the responses come on the shared topic
``jms.topic.vdsm_responses`` (every request's ``reply-to``), every
request is a single JSON-RPC object (never a batch) with a UUID id and
params by name, and the client's heart-beats are the engine's 30 s
(vdsHeartbeatInSeconds). The connection itself (TLS with a certificate
of the host's CA, STOMP 1.2 framing, the I/O thread) is
``vdsm.client.Client``'s.
"""

from __future__ import annotations

import json
import ssl
import time
import uuid
from concurrent.futures import Future
from typing import Any

from vdsm import client
from vdsm.rpc import stomp

REQUESTS = "jms.topic.vdsm_requests"
RESPONSES = "jms.topic.vdsm_responses"
EVENTS = "jms.queue.events"
HEARTBEAT_MS = 30000

VdsmError = client.ServerError


class EngineClient(client.Client):
    def __init__(self, port: int, ssl_context: ssl.SSLContext,
                 timeout: float = 60) -> None:
        super().__init__("127.0.0.1", port, ssl_context, timeout,
                         (HEARTBEAT_MS, HEARTBEAT_MS), 10)
        self.events = self.subscribe(EVENTS)

    def rpc(self, method: str, timeout: float | None = None,
            **params: Any) -> Any:
        """Call method with params by name, as the engine does."""
        return self.call(method, params, timeout)

    def _subscribe(self, destination: str, sub_id: str
                   ) -> client.Subscription:
        if sub_id == "replies":
            # The base class's private reply destination: the engine
            # subscribes to the shared response topic instead.
            self._reply_to = destination = RESPONSES
            sub_id = str(uuid.uuid4())
        return super()._subscribe(destination, sub_id)

    def call_async(self, method: str, params: Any = None,
                   flow_id: str | None = None) -> Future:
        req_id = str(uuid.uuid4())
        future: Future = Future()
        with self._pending_lock:
            if self._closed.is_set():
                raise client.ConnectionLost("connection closed")
            self._pending[req_id] = (method, future)
        body = json.dumps({"jsonrpc": "2.0", "method": method,
                           "params": params or {}, "id": req_id}).encode()
        headers = {"destination": REQUESTS, "reply-to": RESPONSES}
        if flow_id:
            headers["ovirtCorrelationId"] = flow_id
        self._send(stomp.Frame("SEND", headers, body))
        return future

    def event(self, prefix: str, timeout: float = 30
              ) -> tuple[str, dict[str, Any]]:
        """The next event whose method starts with prefix; others seen
        meanwhile are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {prefix} event in {timeout} s")
            try:
                method, params = self.events.get(timeout=left)
            except client.TimeoutError:
                continue
            if method.startswith(prefix):
                return method, params
