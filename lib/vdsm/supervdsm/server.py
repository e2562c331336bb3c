"""supervdsmd's server: a UNIX socket serving the allowlisted functions.

Theory of operation. The listening socket is created 0660, owned by root
and [supervdsm] socket_group, a group only the vdsm user is in (never kvm:
every qemu process has that one), so only root and that group can connect
at all. The accepting thread checks each connection with SO_PEERCRED before
anything else: a peer whose uid is not root or the vdsm user ([vars] user)
gets one error without blocking and is closed at once, costing no thread
and no wait. An allowed peer beyond [supervdsm] max_connections gets
ResourceUnavailable and is closed likewise. Only then does a connection get
its own thread, which reads length-prefixed JSON requests one at a time
(see ``protocol``); a client wanting concurrent calls opens several
connections. An accept() error (EMFILE when out of descriptors, ENOBUFS
...) is logged and retried after a short pause, never fatal. Each request
is checked before anything runs: the name against
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

import errno
import functools
import logging
import os
import socket
import struct
import threading
import time
from typing import Any

from vdsm.common.exception import ResourceUnavailable, VdsmError
from vdsm.common.executor import Executor
from vdsm.supervdsm import protocol
from vdsm.supervdsm.channel import Channel
from vdsm.supervdsm.errors import NotAllowed, ProtocolError
from vdsm.supervdsm.registry import Registry

log = logging.getLogger("vdsm.supervdsm.server")

_PEERCRED = struct.Struct("3i")
# Pause after a failed accept(), doubled up to the maximum while accept()
# keeps failing: EMFILE does not go away by retrying at once.
ACCEPT_BACKOFF = 0.05
ACCEPT_BACKOFF_MAX = 1.0
# Seconds between two log lines about refused peers (the first is logged
# at once; the next says how many were not logged).
REFUSAL_LOG_INTERVAL = 10.0


class Server:
    def __init__(self, path: str, registry: Registry, allowed_uids: set[int],
                 socket_gid: int, call_timeout: float, workers: int,
                 max_connections: int = 64) -> None:
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
        self.max_connections = max_connections
        self._active = 0
        self._active_lock = threading.Lock()
        self._refusals = _RefusalLog()

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
        backoff = ACCEPT_BACKOFF
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError as e:
                if self._stopping.is_set():
                    break
                log.warning("ACCEPT-ERROR error=%s retry=%.2f",
                            errno.errorcode.get(e.errno or 0, e), backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, ACCEPT_BACKOFF_MAX)
                continue
            backoff = ACCEPT_BACKOFF
            try:
                self._admit(conn, next(self._conn_ids))
            except Exception:
                log.exception("ADMIT-ERROR")
                conn.close()

    def _admit(self, conn: socket.socket, cid: int) -> None:
        """Check the peer in the accepting thread; start a thread only for
        an allowed peer within the connection limit."""
        pid, uid, gid = _peer(conn)
        if uid not in self.allowed_uids:
            self._refusals.refused(cid, pid, uid, gid)
            _drop(conn, NotAllowed(f"uid {uid}"))
            return
        with self._active_lock:
            full = self._active >= self.max_connections
            if not full:
                self._active += 1
        if full:
            self._refusals.busy(cid, pid, uid, self.max_connections)
            _drop(conn, ResourceUnavailable(
                f"too many supervdsm connections "
                f"(max_connections={self.max_connections})"))
            return
        try:
            threading.Thread(target=self._serve_connection,
                             args=(conn, cid, pid, uid), name=f"conn-{cid}",
                             daemon=True).start()
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        with self._active_lock:
            self._active -= 1

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

    def _serve_connection(self, sock: socket.socket, cid: int, pid: int,
                          uid: int) -> None:
        chan = Channel(sock)
        try:
            log.info("OPEN conn=%d pid=%d uid=%d", cid, pid, uid)
            self._serve_requests(chan, cid)
        except (ConnectionError, ProtocolError) as e:
            log.info("DROP conn=%d reason=%s", cid, e)
        except Exception:
            log.exception("CRASH conn=%d", cid)
        finally:
            chan.close()
            self._release()

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


def _drop(sock: socket.socket, error: VdsmError) -> None:
    """Tell a refused peer why, without ever waiting for it, and close.

    The error is tiny and the connection new, so it fits the socket buffer
    and a non-blocking send succeeds; a peer that already went away is not
    our problem. The peer reads the error even after the close (a UNIX
    socket's data sits in the receiver's queue), see client._send.
    """
    try:
        sock.send(protocol.encode(protocol.error(None, error)),
                  socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
    except OSError:
        pass
    sock.close()


class _RefusalLog:
    """Refusals logged at most once per REFUSAL_LOG_INTERVAL, the first at
    once: a flood of refused peers must not flood the log."""

    def __init__(self) -> None:
        self._next = 0.0
        self._suppressed = 0

    def refused(self, cid: int, pid: int, uid: int, gid: int) -> None:
        if self._due():
            log.warning("REFUSED conn=%d pid=%d uid=%d gid=%d suppressed=%d",
                        cid, pid, uid, gid, self._take())

    def busy(self, cid: int, pid: int, uid: int, limit: int) -> None:
        if self._due():
            log.warning("BUSY conn=%d pid=%d uid=%d max_connections=%d "
                        "suppressed=%d", cid, pid, uid, limit, self._take())

    def _due(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            self._suppressed += 1
            return False
        self._next = now + REFUSAL_LOG_INTERVAL
        return True

    def _take(self) -> int:
        n, self._suppressed = self._suppressed, 0
        return n


def _peer(sock: socket.socket) -> tuple[int, int, int]:
    data = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                           _PEERCRED.size)
    pid, uid, gid = _PEERCRED.unpack(data)
    return pid, uid, gid
