"""Out-of-process file I/O with a timeout on every call.

Theory of operation
-------------------
Any syscall on a mount can block forever when its server is gone (a hard
NFS mount, a stopped FUSE daemon). vdsmd therefore never touches a domain
mount itself: every file operation is sent to a helper process
(``vdsm.storage.ioworker``), one per mount, over a pipe, one JSON line per
request. The helper runs each request in its own thread; a reader thread
here matches replies to waiting callers by request id.

A caller waits at most ``timeout`` seconds and then gets ``StorageTimeout``
(code 379). The helper that let a call time out is killed and replaced on
the next call: its stuck threads die with it, and the dead process is
reaped by a background thread, never waited for by a caller. A hung mount
so costs its own domain's verbs a timeout and nothing else: other domains
have other helpers, and verbs not touching storage never get here.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import threading
from typing import Any

import vdsm
from vdsm.storage import errors

log = logging.getLogger("vdsm.storage.oop")

DEFAULT_TIMEOUT = 10.0
_LIB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(vdsm.__file__)))


class _Call:
    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.done = threading.Event()
        self.reply: dict[str, Any] = {}


class IOHelper:
    """One helper process, restarted on demand."""

    def __init__(self, name: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.name = name
        self.timeout = timeout
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._proc: subprocess.Popen | None = None
        self._calls: dict[int, _Call] = {}
        self._readers: list[threading.Thread] = []
        self._final = False

    def call(self, op: str, timeout: float | None = None, **args: Any) -> Any:
        timeout = self.timeout if timeout is None else timeout
        req_id, call, proc = self._send(op, args)
        if not call.done.wait(timeout):
            self._abandon(proc, req_id)
            log.warning("TIMEOUT helper=%s op=%s args=%s timeout=%s",
                        self.name, op, args, timeout)
            raise errors.StorageTimeout(op=op, helper=self.name)
        return _result(call.reply, op, args)

    def close(self, wait: float = 5.0, final: bool = False) -> None:
        """Kill the helper; wait a little for its pipes to be closed.

        A later call starts a new helper, unless final.
        """
        with self._lock:
            self._final = self._final or final
            proc, self._proc = self._proc, None
            readers = list(self._readers)
        if proc is not None:
            _kill(proc)
        for reader in readers:
            reader.join(wait)

    # Helpers.

    def _send(self, op: str, args: dict[str, Any]):
        with self._lock:
            proc = self._process()
            req_id = next(self._ids)
            call = _Call(proc)
            self._calls[req_id] = call
            line = json.dumps({"id": req_id, "op": op, "args": args}) + "\n"
            try:
                assert proc.stdin is not None
                proc.stdin.write(line.encode())
                proc.stdin.flush()
            except (OSError, ValueError):
                self._calls.pop(req_id, None)
                self._proc = None
                _kill(proc)
                raise errors.StorageDomainAccessError(
                    "I/O helper died", helper=self.name)
            return req_id, call, proc

    def _process(self) -> subprocess.Popen:
        if self._final:
            raise errors.StorageDomainAccessError(
                "storage is shutting down", helper=self.name)
        if self._proc is None or self._proc.poll() is not None:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (_LIB_DIR, env.get("PYTHONPATH")) if p)
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "vdsm.storage.ioworker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                close_fds=True)
            log.debug("START helper=%s pid=%s", self.name, self._proc.pid)
            reader = threading.Thread(target=self._read, args=(self._proc,),
                                      name=f"oop/{self.name}", daemon=True)
            reader.start()
            self._readers = [t for t in self._readers if t.is_alive()]
            self._readers.append(reader)
        return self._proc

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            reply = json.loads(line)
            with self._lock:
                call = self._calls.pop(reply["id"], None)
            if call is not None:
                call.reply = reply
                call.done.set()
        proc.stdout.close()
        with self._lock:
            if proc.stdin is not None:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
            if self._proc is proc:
                self._proc = None
            orphans = [(i, c) for i, c in self._calls.items()
                       if c.proc is proc]
            for req_id, call in orphans:
                del self._calls[req_id]
        for _, call in orphans:
            call.reply = {"error": {"errno": None, "type": "HelperDied",
                                    "message": "I/O helper exited"}}
            call.done.set()
        proc.wait()

    def _abandon(self, proc: subprocess.Popen, req_id: int) -> None:
        with self._lock:
            self._calls.pop(req_id, None)
            if self._proc is proc:
                self._proc = None
        _kill(proc)


def _kill(proc: subprocess.Popen) -> None:
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    if proc.stdin is not None:
        try:
            proc.stdin.close()
        except (OSError, ValueError):
            pass
    # The reader thread reaps it once its stdout closes.


def _result(reply: dict[str, Any], op: str, args: dict[str, Any]) -> Any:
    if "error" not in reply:
        return reply.get("result")
    err = reply["error"]
    if err["type"] == "HelperDied":
        raise errors.StorageDomainAccessError(
            "I/O helper was restarted", op=op)
    if err.get("errno") is not None:
        exc_type = {"FileNotFoundError": FileNotFoundError,
                    "FileExistsError": FileExistsError,
                    "NotADirectoryError": NotADirectoryError,
                    "IsADirectoryError": IsADirectoryError,
                    "PermissionError": PermissionError}.get(
                        err["type"], OSError)
        raise exc_type(err["errno"], err["message"])
    raise errors.StorageError(f"{op} failed: {err['type']}: "
                              f"{err['message']}")


class Registry:
    """The helpers of this process, one per name (a mount point)."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._helpers: dict[str, IOHelper] = {}
        self._closed = False

    def get(self, name: str) -> IOHelper:
        with self._lock:
            if self._closed:
                raise errors.StorageDomainAccessError(
                    "storage is shutting down", helper=name)
            helper = self._helpers.get(name)
            if helper is None:
                helper = self._helpers[name] = IOHelper(name, self.timeout)
            return helper

    def close(self) -> None:
        with self._lock:
            helpers, self._helpers = list(self._helpers.values()), {}
            self._closed = True
        for helper in helpers:
            helper.close(final=True)
