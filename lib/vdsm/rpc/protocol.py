"""Which protocol a connection speaks, from its first bytes.

Port 54321 serves two protocols after the TLS handshake: STOMP (the API)
and HTTP (the engine's image upload and download). The client speaks
first in both, so the first bytes decide: a STOMP command name, or
``PUT /`` / ``GET /`` (upstream's HTTP detector looks for exactly these).
Sans-IO: this module only looks at bytes.
"""

from __future__ import annotations

import enum

from vdsm.rpc import stomp

HTTP_PREFIXES = (b"PUT /", b"GET /")


class Protocol(enum.Enum):
    STOMP = "stomp"
    HTTP = "http"
    UNKNOWN = "unknown"


def detect(prefix: bytes) -> Protocol | None:
    """The protocol of a connection starting with ``prefix``.

    None: not enough bytes to tell yet.
    """
    for start in HTTP_PREFIXES:
        if prefix.startswith(start):
            return Protocol.HTTP
        if start.startswith(prefix):
            # "PUT" or "GE" could still be HTTP (no STOMP command starts
            # so): wait for more.
            return None
    verdict = stomp.detect(prefix)
    if verdict is None:
        return None
    return Protocol.STOMP if verdict else Protocol.UNKNOWN

