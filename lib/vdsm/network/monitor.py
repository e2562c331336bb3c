"""Watch the kernel's network changes and tell clients about outside ones.

Theory of operation: a thread listens on a NETLINK_ROUTE socket bound to
the link, IPv4/IPv6 address and route multicast groups (stdlib socket, no
privilege needed). Messages are not parsed: any of them means "something
changed". The thread waits ``settle`` seconds for the burst to end, then,
unless a setupNetworks call is running or just ended (its own changes,
``is_ours()``), publishes ``|net|host_conn|no_id`` so managers refresh the
host's capabilities. At most one event per ``settle`` period.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from typing import Callable

log = logging.getLogger("vdsm.network.monitor")

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_IFADDR = 0x100
RTMGRP_IPV6_ROUTE = 0x400
GROUPS = (RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE |
          RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE)

EVENT = "|net|host_conn|no_id"


class Monitor:
    def __init__(self, notify: Callable[[], None],
                 is_ours: Callable[[], bool], settle: float = 1.0,
                 netns: str = "") -> None:
        self._netns = netns
        self._notify = notify
        self._is_ours = is_ours
        self._settle = settle
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._sock = open_socket(self._netns)
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="net/monitor")
        self._thread.start()
        log.info("START netlink monitor")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._sock is not None:
            self._sock.close()

    def _run(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            if not self._wait(0.5):
                continue
            # A burst: drain until quiet for `settle` seconds.
            while self._wait(self._settle) and not self._stop.is_set():
                pass
            if self._stop.is_set():
                break
            if self._is_ours():
                log.debug("IGNORED changes of setupNetworks")
                continue
            log.info("CHANGED outside setupNetworks: event=%s", EVENT)
            try:
                self._notify()
            except Exception:
                log.exception("cannot publish %s", EVENT)

    def _wait(self, timeout: float) -> bool:
        """Drain what is readable within timeout; True if anything came."""
        assert self._sock is not None
        readable, _, _ = select.select([self._sock], [], [], timeout)
        if not readable:
            return False
        try:
            while self._sock.recv(65536):
                pass
        except BlockingIOError:
            pass
        except OSError as e:     # ENOBUFS: overrun; still a change
            log.debug("netlink recv error=%s", e)
        return True


def open_socket(netns: str = "") -> socket.socket:
    """A netlink socket on the route groups, in ``netns`` if given.

    A socket stays in the namespace it was made in, so for another
    namespace a short-lived thread enters it (setns affects only the
    calling thread; needs root) and makes the socket there.
    """
    if not netns:
        return _make_socket()
    result: list[socket.socket | BaseException] = []

    def in_netns() -> None:
        try:
            _enter_netns(netns)
            result.append(_make_socket())
        except BaseException as e:
            result.append(e)

    t = threading.Thread(target=in_netns, name="net/setns")
    t.start()
    t.join()
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def _make_socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                         socket.NETLINK_ROUTE)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((0, GROUPS))
    sock.setblocking(False)
    return sock


def _enter_netns(netns: str) -> None:
    import ctypes
    import os
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        if libc.setns(fd, 0x40000000) != 0:     # CLONE_NEWNET
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)
