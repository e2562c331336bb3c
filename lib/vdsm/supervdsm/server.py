"""supervdsmd's server: a UNIX socket serving the allowlisted functions.

Theory of operation. The listening socket is created 0660, owned by root
and the group of [vars] group, so only root and that group can connect at
all; each accepted connection is then checked with SO_PEERCRED and served
only if the peer's uid is root or the vdsm user ([vars] user). A connection
gets its own thread, which reads length-prefixed JSON requests one at a
time (see ``protocol``); a client wanting concurrent calls opens several
connections. Each request is checked before anything runs: the name against
the registry (re-checked per call), the arguments against the function's
annotations. The call then runs on a pool of ``[supervdsm] workers``
threads (vdsm.common.executor); a call running past ``[supervdsm]
call_timeout`` is answered CallTimeout and its worker is discarded and
replaced (helper commands are bounded by the same timeout, see
``runtime.run``); a full queue is answered ResourceUnavailable (40).
Every error goes back with its class name, code and message; unexpected
ones are logged with a traceback.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import struct
import threading
import time
from typing import Any

from vdsm.common.exception import VdsmError
from vdsm.common.executor import Executor
from vdsm.supervdsm import protocol
from vdsm.supervdsm.channel import Channel
from vdsm.supervdsm.errors import NotAllowed, ProtocolError
from vdsm.supervdsm.registry import Registry

log = logging.getLogger("vdsm.supervdsm.server")

_PEERCRED = struct.Struct("3i")


class Server:
    def __init__(self, path: str, registry: Registry, allowed_uids: set[int],
                 socket_gid: int, call_timeout: float, workers: int) -> None:
        self.path = path
        self.registry = registry
        self.allowed_uids = allowed_uids
        self.socket_gid = socket_gid
        self.call_timeout = call_timeout
        # Workers are reused; one stuck past call_timeout is discarded and
        # replaced (see vdsm.common.executor), its caller gets CallTimeout.
        self._executor = Executor("svdsm", workers, workers * 4,
                                  call_timeout)
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._conn_ids = iter(range(1, 2**62))

    def listen(self) -> None:
        if os.path.exists(self.path):
            if _answers(self.path):
                raise RuntimeError(f"another supervdsmd serves {self.path}")
            os.unlink(self.path)  # a stale socket of a dead supervdsmd
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            sock.bind(self.path)
        finally:
            os.umask(old_umask)
        os.chown(self.path, 0, self.socket_gid)
        os.chmod(self.path, 0o660)
        sock.listen(64)
        self._sock = sock
        self._executor.start()
        log.info("LISTEN socket=%s gid=%s uids=%s functions=%d", self.path,
                 self.socket_gid, sorted(self.allowed_uids),
                 len(self.registry.names()))

    def serve_forever(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                if self._stopping.is_set():
                    break
                raise
            cid = next(self._conn_ids)
            threading.Thread(target=self._serve_connection, args=(conn, cid),
                             name=f"conn-{cid}", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        self._executor.stop()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _serve_connection(self, sock: socket.socket, cid: int) -> None:
        chan = Channel(sock)
        try:
            pid, uid, gid = _peer(sock)
            if uid not in self.allowed_uids:
                log.warning("REFUSED conn=%d pid=%d uid=%d gid=%d", cid,
                            pid, uid, gid)
                chan.send(protocol.error(None, NotAllowed(f"uid {uid}")))
                _linger(sock)
                return
            log.info("OPEN conn=%d pid=%d uid=%d", cid, pid, uid)
            self._serve_requests(chan, cid)
        except (ConnectionError, ProtocolError) as e:
            log.info("DROP conn=%d reason=%s", cid, e)
        except Exception:
            log.exception("CRASH conn=%d", cid)
        finally:
            chan.close()

    def _serve_requests(self, chan: Channel, cid: int) -> None:
        while True:
            try:
                message = chan.recv()
            except ProtocolError as e:
                chan.send(protocol.error(None, e))
                raise
            if message is None:
                log.info("CLOSE conn=%d", cid)
                return
            chan.send(self._handle(message, cid))

    def _handle(self, message: dict[str, Any], cid: int) -> dict[str, Any]:
        call_id: Any = None
        method = "?"
        start = time.monotonic()
        try:
            call_id, method, args, kwargs = protocol.parse_request(message)
            entry = self.registry.checked(method, args, kwargs)
            log.info("CALL conn=%d id=%s method=%s", cid, call_id, method)
            value = self._run(entry.func, args, kwargs, method)
            reply = protocol.result(call_id, value)
            protocol.encode(reply)  # the result must be JSON and not huge
        except VdsmError as e:
            log.info("FAIL conn=%d id=%s method=%s error=%s code=%s "
                     "message=%r", cid, call_id, method, type(e).__name__,
                     e.code, str(e))
            return protocol.error(call_id, e)
        except Exception as e:
            log.exception("ERROR conn=%d id=%s method=%s error=%s", cid,
                          call_id, method, type(e).__name__)
            return protocol.error(call_id, e)
        log.info("DONE conn=%d id=%s method=%s elapsed=%.3f", cid, call_id,
                 method, time.monotonic() - start)
        return reply

    def _run(self, func: Any, args: list[Any], kwargs: dict[str, Any],
             method: str) -> Any:
        call = functools.partial(func, *args, **kwargs)
        return self._executor.submit(call, name=method).result()


def _answers(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
        except OSError:
            return False
    return True


def _linger(sock: socket.socket) -> None:
    """Let the peer read our last message before we close.

    Closing a UNIX socket with unread input makes the peer's recv fail with
    ECONNRESET, losing the error we just sent; so stop writing and discard
    what the peer sends until it closes (at most a second).
    """
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(1)
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass


def _peer(sock: socket.socket) -> tuple[int, int, int]:
    data = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                           _PEERCRED.size)
    pid, uid, gid = _PEERCRED.unpack(data)
    return pid, uid, gid
