"""Blocking message I/O over a connected UNIX stream socket."""

from __future__ import annotations

import socket
from typing import Any

from vdsm.supervdsm import protocol

_READ_SIZE = 65536


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._decoder = protocol.Decoder()
        self._ready: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        # MSG_NOSIGNAL: a dead peer raises BrokenPipeError, never SIGPIPE.
        self.sock.sendall(protocol.encode(message), socket.MSG_NOSIGNAL)

    def recv(self) -> dict[str, Any] | None:
        """The next message, or None at EOF (the peer closed)."""
        while not self._ready:
            data = self.sock.recv(_READ_SIZE)
            if not data:
                if self._decoder.pending:
                    raise ConnectionResetError("EOF inside a message")
                return None
            self._ready.extend(self._decoder.feed(data))
        return self._ready.pop(0)

    def close(self) -> None:
        self.sock.close()
