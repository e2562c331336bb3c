"""Running programs: the one way vdsm runs a child process to completion.

    res = commands.run(["ip", "-j", "link"], timeout=30)
    res.stdout, res.stderr, res.rc

Each run has a timeout; the child gets a new session, so at the timeout
its whole process group is killed (helpers that fork die too) and it is
reaped before ``CommandTimeout`` is raised: no zombie, no pipe left open.
A non-zero exit raises ``CommandFailed`` carrying argv, the exit code and
stderr (unless ``check=False``: then the caller reads ``rc``); a missing
program raises ``CommandNotFound``. Output is decoded as UTF-8 (bad bytes
replaced); stdin is ``input`` or /dev/null.

Each run logs one line, ``RUN cmd=... rc=... elapsed=...``, with the
arguments shell-quoted: at DEBUG when it went as the caller wanted, at
WARNING when it raises.

supervdsmd runs its helpers through ``vdsm.supervdsm.runtime.run``, the
privileged twin: the same function under supervdsmd's call timeout.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import selectors
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import IO, Callable, Mapping, Sequence, cast

from vdsm.common.exception import GeneralError, VdsmError

log = logging.getLogger("vdsm.common.commands")

OnStart = Callable[[subprocess.Popen], None]
OnStdout = Callable[[bytes], None]

# After a kill, how long to wait for the pipes to close before giving up
# on the output (a grandchild that left the process group may hold them).
_DRAIN_TIMEOUT = 5.0

# exec() errors that say the program cannot be run (rather than that the
# host is short of something).
_NOT_RUNNABLE = (errno.ENOENT, errno.EACCES, errno.ENOTDIR, errno.ENOEXEC,
                 errno.EISDIR)


class CommandError(VdsmError):
    """A program did not run to a good end; ``argv``, ``rc`` (None when it
    did not exit by itself) and ``stderr`` say how. Upstream reports such
    failures as general exceptions."""
    code = 100
    alias_of = GeneralError
    message = "Command error"

    def __init__(self, reason: str | None = None,
                 argv: Sequence[str] = (), rc: int | None = None,
                 stderr: str = "") -> None:
        self.argv = list(argv)
        self.rc = rc
        self.stderr = stderr
        super().__init__(reason)


class CommandFailed(CommandError):
    """The program exited with a non-zero code."""
    message = "Command failed"


class CommandTimeout(CommandError):
    """The program ran past its timeout; it was killed."""
    message = "Command timed out"


class CommandNotFound(CommandError):
    """The program does not exist or may not be executed."""
    message = "Command not found"


@dataclass(frozen=True)
class Result:
    stdout: str
    stderr: str
    rc: int


def cmdline(argv: Sequence[str]) -> str:
    """argv as a shell would need it typed: for logs and messages."""
    return shlex.join(argv)


def run(argv: Sequence[str], *, timeout: float,
        input: str | bytes | None = None,
        env: Mapping[str, str] | None = None, cwd: str | None = None,
        check: bool = True, pass_fds: Sequence[int] = (),
        on_start: OnStart | None = None,
        on_stdout: OnStdout | None = None) -> Result:
    """Run ``argv`` to its end within ``timeout`` seconds.

    ``env`` replaces the environment; ``pass_fds`` are kept open in the
    child. ``on_start`` gets the Popen once the child runs (a task keeps
    it to kill the child when stopped); ``on_stdout`` gets stdout chunks
    as they come (progress reports; not with ``input``).
    """
    argv = list(argv)
    cmd = cmdline(argv)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL if input is None else
            subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, cwd=cwd, pass_fds=tuple(pass_fds), close_fds=True,
            start_new_session=True)
    except OSError as e:
        if e.errno not in _NOT_RUNNABLE:
            raise
        _log(logging.WARNING, cmd, None, start, e.strerror)
        raise CommandNotFound(f"{cmd}: {e.strerror}", argv=argv) from None
    with proc:
        if on_start is not None:
            on_start(proc)
        try:
            out, err = _communicate(proc, _encode(input), timeout, on_stdout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            _log(logging.WARNING, cmd, None, start, "timeout")
            raise CommandTimeout(f"{cmd}: no end in {timeout}s",
                                 argv=argv) from None
        except BaseException:
            _kill(proc)
            raise
    res = Result(_decode(out), _decode(err), proc.returncode)
    if check and res.rc != 0:
        _log(logging.WARNING, cmd, res.rc, start, _tail(res.stderr))
        raise CommandFailed(f"{cmd}: rc={res.rc} {_tail(res.stderr)}",
                            argv=argv, rc=res.rc, stderr=res.stderr)
    _log(logging.DEBUG, cmd, res.rc, start)
    return res


def _communicate(proc: subprocess.Popen, input: bytes | None,
                 timeout: float, on_stdout: OnStdout | None
                 ) -> tuple[bytes, bytes]:
    if on_stdout is None:
        return proc.communicate(input, timeout=timeout)
    if input is not None:
        raise ValueError("on_stdout cannot be used with input")
    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + timeout
    chunks: dict[IO[bytes], list[bytes]] = {proc.stdout: [],
                                            proc.stderr: []}
    with selectors.DefaultSelector() as sel:
        for pipe in chunks:
            sel.register(pipe, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(proc.args, timeout)
            for key, _ in sel.select(left):
                pipe = cast(io.BufferedReader, key.fileobj)
                data = pipe.read1(65536)
                if not data:
                    sel.unregister(pipe)
                    continue
                chunks[pipe].append(data)
                if pipe is proc.stdout:
                    on_stdout(data)
    proc.wait(max(0.1, deadline - time.monotonic()))
    return b"".join(chunks[proc.stdout]), b"".join(chunks[proc.stderr])


def _kill(proc: subprocess.Popen) -> None:
    """Kill the child's process group and reap the child."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.communicate(timeout=_DRAIN_TIMEOUT)
    except subprocess.TimeoutExpired:
        # Someone outside the group holds the pipes: stop reading; the
        # child itself is dead and is reaped by Popen.__exit__.
        pass


def _encode(data: str | bytes | None) -> bytes | None:
    return data.encode() if isinstance(data, str) else data


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _tail(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def _log(level: int, cmd: str, rc: int | None, start: float,
         error: str = "") -> None:
    elapsed = time.monotonic() - start
    if error:
        log.log(level, "RUN cmd=%s rc=%s elapsed=%.3f error=%r", cmd, rc,
                elapsed, error)
    else:
        log.log(level, "RUN cmd=%s rc=%s elapsed=%.3f", cmd, rc, elapsed)
