"""The client of supervdsmd, used by vdsmd.

    proxy = client.get_proxy(config)
    proxy.call("mount.mount", spec, mountpoint, "ext4", "")

``SupervdsmClient`` keeps a small pool of idle connections. A call takes
one (or connects), sends one request, reads one reply and returns the
connection to the pool, so concurrent calls from many threads each use
their own connection and the server runs them concurrently.

Reconnecting: a pooled connection may belong to a supervdsmd that has
since restarted. Sending on it fails at once (EPIPE on a UNIX socket whose
peer is gone), the request was never delivered, and the call is retried on
a fresh connection. If the connection drops after the request was sent,
the outcome is unknown: the call fails with ``ConnectionLost`` ("supervdsm
connection lost during call ...") and is not retried; the next call
connects again. Remote errors are re-raised: supervdsm's own error classes
by name, anything else as ``RemoteError`` with the remote class name and
code.
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
from typing import Any

from vdsm.common.config import Config
from vdsm.common.exception import VdsmError
from vdsm.supervdsm import protocol
from vdsm.supervdsm.channel import Channel
from vdsm.supervdsm.errors import (KNOWN, CallTimeout, ConnectionLost,
                                   InvalidArguments, ProtocolError,
                                   RemoteError, Unavailable)

log = logging.getLogger("vdsm.supervdsm.client")

MAX_IDLE = 8


class SupervdsmClient:
    def __init__(self, socket_path: str, timeout: float | None = None
                 ) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self._idle: list[Channel] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call the privileged function ``method`` ("module.function")."""
        with self._lock:
            call_id = next(self._ids)
        request = protocol.request(call_id, method, list(args), kwargs)
        try:
            protocol.encode(request)  # fail early on non-JSON arguments
        except (TypeError, ValueError) as e:
            raise InvalidArguments(f"{method}: not JSON: {e}") from None
        chan = self._send(request, method)
        try:
            reply = chan.recv()
        except socket.timeout:
            chan.close()
            raise CallTimeout(f"{method}: no reply in {self.timeout}s") \
                from None
        except (OSError, ProtocolError) as e:
            chan.close()
            raise ConnectionLost(f"{method}: {e}") from None
        if reply is None:
            chan.close()
            raise ConnectionLost(method)
        if reply.get("id") != call_id:
            chan.close()
            if "error" in reply:
                raise _remote_error(reply["error"], method)
            raise ConnectionLost(f"{method}: reply for another call")
        self._release(chan)
        if "error" in reply:
            raise _remote_error(reply["error"], method)
        return reply.get("result")

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for chan in idle:
            chan.close()

    def _send(self, request: dict[str, Any], method: str) -> Channel:
        chan = self._take_idle()
        if chan is not None:
            try:
                chan.send(request)
                return chan
            except OSError:
                # The server went away while the connection was idle: the
                # request was not delivered, so it is safe to send again.
                chan.close()
                log.info("RECONNECT socket=%s", self.socket_path)
        chan = self._connect()
        try:
            chan.send(request)
        except OSError as e:
            refusal = _refusal(chan)
            chan.close()
            if refusal is not None:
                raise _remote_error(refusal, method) from None
            raise ConnectionLost(f"{method}: {e}") from None
        return chan

    def _take_idle(self) -> Channel | None:
        with self._lock:
            return self._idle.pop() if self._idle else None

    def _release(self, chan: Channel) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append(chan)
                return
        chan.close()

    def _connect(self) -> Channel:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError as e:
            sock.close()
            raise Unavailable(f"{self.socket_path}: {e.strerror or e}") \
                from None
        return Channel(sock)


def _refusal(chan: Channel) -> Any:
    """The error a refusing server sent before closing (it closes at once,
    so our request may hit a closed socket), or None."""
    try:
        reply = chan.recv()
    except (OSError, ProtocolError):
        return None
    if reply is None or reply.get("id") is not None:
        return None
    return reply.get("error")


def _remote_error(info: Any, method: str) -> VdsmError:
    if not isinstance(info, dict):
        return ProtocolError(f"{method}: malformed error reply")
    name = str(info.get("class", "Error"))
    message = str(info.get("message", ""))
    code = info.get("code")
    cls = KNOWN.get(name)
    if cls is not None:
        reason = info.get("reason")
        return cls(reason if isinstance(reason, str) else message)
    return RemoteError(f"{method}: {name}: {message}", remote_class=name,
                       code=code if isinstance(code, int) else 100)


_proxies: dict[str, SupervdsmClient] = {}
_proxy_lock = threading.Lock()


def get_proxy(config: Config) -> SupervdsmClient:
    """The process-wide client for [supervdsm] socket (one per socket
    path, so tests running several daemons in one process each get
    theirs)."""
    path = config.get("supervdsm", "socket")
    with _proxy_lock:
        proxy = _proxies.get(path)
        if proxy is None:
            timeout = config.getfloat("supervdsm", "call_timeout") + 10
            proxy = _proxies[path] = SupervdsmClient(path, timeout)
        return proxy
