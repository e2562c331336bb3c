"""What the transport hands a request to: the seam between rpc/ and api/.

The transport (rpc/) parses frames and JSON-RPC messages and knows who is
on the other end of the socket; it knows nothing of verbs, the schema or
the subsystems. It calls a ``Dispatcher`` with the parsed message and a
``Peer``; the dispatcher (``vdsm.api.dispatcher``) answers with the reply
body, or ``None`` when nothing is to be sent (only notifications): at
once when every request was answered on the loop, else as an awaitable
the transport awaits in a task of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Protocol, Union

from vdsm.rpc import jsonrpc

# A socket address as asyncio reports it: (host, port) for IPv4,
# (host, port, flowinfo, scope_id) for IPv6.
Address = tuple[Any, ...]

# The reply body, None when nothing is to be sent.
Reply = Union[bytes, None]


@dataclass(frozen=True)
class Peer:
    """The connection a request came on, as the transport sees it."""

    remote: Address | None = None   # the client's end
    local: Address | None = None    # our end (the address it called)


class Dispatcher(Protocol):
    def dispatch(self, msg: jsonrpc.Message, peer: Peer,
                 flow_id: str | None) -> Reply | Awaitable[Reply]:
        """Run every request of msg; the reply, now or to await.

        Called on the loop; answers at once only when no request
        needs to wait (the on-loop verbs).

        ``flow_id``: the STOMP ``ovirtCorrelationId`` header, if any.
        """
