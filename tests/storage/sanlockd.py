"""Start and stop a real sanlock daemon for tests and benchmarks.

Where the machine lacks CAP_SYS_RESOURCE the daemon's setrlimit fails; it
is then started through the LD_PRELOAD shim built from sanlock_shim.c with
gcc (tests-only code, never used in production).
"""

from __future__ import annotations

import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOCK = "/run/sanlock/sanlock.sock"
PID_FILE = "/run/sanlock/sanlock.pid"
# The pid of a daemon started by tests, so that the last test session
# (maybe not the one that started it) stops it, and never a host's own.
MARKER = "/var/tmp/vdsm-storage-tests.sanlock"


def running() -> bool:
    if not os.path.exists(SOCK):
        return False
    return subprocess.run(["sanlock", "client", "status"],
                          capture_output=True).returncode == 0


def build_shim(out_dir: str) -> str:
    lib = os.path.join(out_dir, "sanlock_shim.so")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", lib,
                    os.path.join(HERE, "sanlock_shim.c"), "-ldl"],
                   check=True, capture_output=True)
    return lib


def _start(env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["sanlock", "daemon", "-D", "-w", "0", "-U", "root", "-G", "root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        if running():
            with open(MARKER, "w") as f:
                f.write(str(proc.pid))
            return proc
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    raise RuntimeError("sanlock daemon did not start")


def start(work_dir: str) -> subprocess.Popen | None:
    """Start the daemon unless running; None if it was already running."""
    if running():
        return None
    try:
        return _start(dict(os.environ))
    except RuntimeError:
        env = dict(os.environ, LD_PRELOAD=build_shim(work_dir))
        return _start(env)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


def stop(proc: subprocess.Popen | None) -> None:
    """Stop the daemon if tests started it (this process or another)."""
    pid = _read(MARKER)
    if not pid or pid != _read(PID_FILE):
        return
    subprocess.run(["sanlock", "client", "shutdown", "-f", "1"],
                   capture_output=True)
    if proc is not None and str(proc.pid) == pid:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    else:
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and \
                time.monotonic() < deadline:
            time.sleep(0.1)
    os.unlink(MARKER)
