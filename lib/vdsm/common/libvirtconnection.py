"""The libvirt connection of vdsmd, its event loop, and reconnection.

Theory of operation
-------------------
libvirt delivers domain events (lifecycle, device removed ...) and the
connection's close callback only while an event loop runs. We run libvirt's
own default event implementation in one dedicated daemon thread
(``virEventRegisterDefaultImpl`` + ``virEventRunDefaultImpl``) rather than
libvirtaio on the RPC asyncio loop: the callbacks we register do little
(hand the event to the VM manager, which takes its own locks), verb handlers
are blocking threads anyway, and a separate loop keeps libvirt working
whether or not the RPC loop runs (unit tests, vdsm-tool). The choice is
recorded in doc/architecture.md (Threads and loops).

``Connection`` owns one ``virConnect`` to ``qemu:///system`` shared by all
threads (libvirt connections are thread safe and multiplex calls, so a call
stuck on one domain's monitor does not block calls on other domains). With
keepalive on, a libvirtd that dies or restarts fires the close callback;
a call that fails on a dead connection reports it too. Either way a
reconnect thread opens a new connection (retrying until libvirtd is back),
then calls every registered ``on_connect`` hook, which re-registers event
callbacks and re-reads the domains whose state may have changed meanwhile.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

import libvirt

log = logging.getLogger("vdsm.libvirtconnection")

URI = "qemu:///system"
KEEPALIVE_INTERVAL = 5
KEEPALIVE_COUNT = 5
RECONNECT_DELAY = 0.5

_loop_lock = threading.Lock()
_loop_thread: threading.Thread | None = None

# libvirt errors that mean the connection itself is gone.
CONNECTION_ERRORS = {
    libvirt.VIR_ERR_SYSTEM_ERROR,
    libvirt.VIR_ERR_INTERNAL_ERROR,
    libvirt.VIR_ERR_NO_CONNECT,
    libvirt.VIR_ERR_INVALID_CONN,
    libvirt.VIR_ERR_RPC,
}


def start_event_loop() -> None:
    """Register libvirt's default event loop and run it in a thread (once)."""
    global _loop_thread
    with _loop_lock:
        if _loop_thread is not None:
            return
        libvirt.virEventRegisterDefaultImpl()
        _loop_thread = threading.Thread(
            target=_run_loop, name="libvirt/events", daemon=True)
        _loop_thread.start()


def _run_loop() -> None:
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except Exception:
            log.exception("FAIL libvirt event loop iteration")


def _silence(ctx: object, err: object) -> None:
    # libvirt prints every error on stderr by default; errors reach us as
    # exceptions already.
    pass


OnConnect = Callable[[libvirt.virConnect], None]


class Connection:
    """A self-healing shared connection to libvirtd."""

    def __init__(self, uri: str = URI) -> None:
        self.uri = uri
        self._lock = threading.Lock()
        self._conn: libvirt.virConnect | None = None
        self._generation = 0
        self._on_connect: list[OnConnect] = []
        self._closed = False
        self._reconnecting = False
        self._wakeup = threading.Event()
        self._stale: list[libvirt.virConnect] = []
        libvirt.registerErrorHandler(_silence, None)
        start_event_loop()

    def add_on_connect(self, func: OnConnect) -> None:
        """Call func(conn) on every new connection (not the current one)."""
        self._on_connect.append(func)

    def get(self) -> libvirt.virConnect:
        """The live connection, opening it if needed (may raise)."""
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
            return self._conn

    def is_connection_error(self, e: libvirt.libvirtError) -> bool:
        return e.get_error_code() in CONNECTION_ERRORS and not self.alive()

    def alive(self) -> bool:
        with self._lock:
            conn = self._conn
        if conn is None:
            return False
        try:
            return bool(conn.isAlive())
        except libvirt.libvirtError:
            return False

    def report_broken(self) -> None:
        """A call failed on a dead connection: start reconnecting."""
        self._start_reconnect("call failed")

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.unregisterCloseCallback()
                conn.close()
            except libvirt.libvirtError:
                pass

    # Private.

    def _open(self) -> libvirt.virConnect:
        conn = libvirt.open(self.uri)
        try:
            conn.setKeepAlive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT)
            self._generation += 1
            conn.registerCloseCallback(self._closed_cb, self._generation)
        except libvirt.libvirtError:
            conn.close()
            raise
        log.info("CONNECT uri=%s", self.uri)
        return conn

    def _closed_cb(self, conn: libvirt.virConnect, reason: int,
                   generation: int) -> None:
        if generation == self._generation:
            self._start_reconnect(f"closed reason={reason}")

    def _start_reconnect(self, why: str) -> None:
        with self._lock:
            if self._closed or self._reconnecting:
                return
            self._reconnecting = True
            if self._conn is not None:
                self._stale.append(self._conn)
            self._conn = None
        log.warning("DISCONNECTED uri=%s why=%s", self.uri, why)
        threading.Thread(target=self._reconnect, name="libvirt/reconnect",
                         daemon=True).start()

    def _reconnect(self) -> None:
        self._close_stale()
        try:
            conn = self._open_retrying()
            if conn is None:
                return
            for func in self._on_connect:
                try:
                    func(conn)
                except Exception:
                    log.exception("FAIL on-connect hook=%s", func)
        finally:
            with self._lock:
                self._reconnecting = False

    def _close_stale(self) -> None:
        """Release the dead connections (their sockets and callbacks)."""
        with self._lock:
            stale, self._stale = self._stale, []
        for conn in stale:
            for func in (conn.unregisterCloseCallback, conn.close):
                try:
                    func()
                except libvirt.libvirtError:
                    pass

    def _open_retrying(self) -> libvirt.virConnect | None:
        while not self._closed:
            try:
                conn = self.get()
                if conn.isAlive():
                    return conn
            except libvirt.libvirtError as e:
                log.debug("RECONNECT uri=%s error=%s", self.uri, str(e))
                with self._lock:
                    self._conn = None
            self._wakeup.wait(RECONNECT_DELAY)
        return None
