"""Start and stop a real sanlock daemon for tests and benchmarks.

Where the machine lacks CAP_SYS_RESOURCE the daemon's setrlimit fails; it
is then started through the LD_PRELOAD shim built from sanlock_shim.c with
gcc (tests-only code, never used in production).

The shared daemon (``start``/``stop``) runs as root on /run/sanlock: the
storage tests run the storage code in the pytest process, as root, on
files root owns. ``Private`` is a second daemon in its own run directory
(SANLOCK_RUN_DIR, which the sanlock library and daemon both read) running
as user sanlock, socket group sanlock, as the packaged service runs it: a
vdsmd dropped to vdsm (a member of group sanlock) can reach it, and it
opens lease files only through group kvm, so it checks their modes.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOCK = "/run/sanlock/sanlock.sock"
PID_FILE = "/run/sanlock/sanlock.pid"
# The pid of a daemon started by tests, so that the last test session
# (maybe not the one that started it) stops it, and never a host's own.
MARKER = "/var/tmp/vdsm-storage-tests.sanlock"


def running(env: dict[str, str] | None = None) -> bool:
    run_dir = (env or {}).get("SANLOCK_RUN_DIR", os.path.dirname(SOCK))
    if not os.path.exists(os.path.join(run_dir, "sanlock.sock")):
        return False
    return subprocess.run(["sanlock", "client", "status"], env=env,
                          capture_output=True).returncode == 0


def build_shim(out_dir: str) -> str:
    lib = os.path.join(out_dir, "sanlock_shim.so")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", lib,
                    os.path.join(HERE, "sanlock_shim.c"), "-ldl"],
                   check=True, capture_output=True)
    return lib


def _spawn(env: dict[str, str], user: str, group: str,
           log: int | None = subprocess.DEVNULL) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["sanlock", "daemon", "-D", "-w", "0", "-U", user, "-G", group],
        env=env, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        if running(env):
            return proc
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    raise RuntimeError("sanlock daemon did not start")


def _start(env: dict[str, str]) -> subprocess.Popen:
    proc = _spawn(env, "root", "root")
    with open(MARKER, "w") as f:
        f.write(str(proc.pid))
    return proc


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


class Private:
    """A sanlock daemon of one test, as ``user`` (sanlock) in ``run_dir``.

    ``env`` is what a client (vdsmd) needs to reach it. The run dir is made
    here, owned by the user, reachable by all (the socket is 0660 and
    group ``group``); ``log`` holds the daemon's debug output.
    """

    def __init__(self, run_dir: str, work_dir: str, user: str = "sanlock",
                 group: str = "sanlock") -> None:
        self.run_dir = run_dir
        self.work_dir = work_dir
        self.user = user
        self.group = group
        self.env = dict(os.environ, SANLOCK_RUN_DIR=run_dir)
        self.log = os.path.join(work_dir, "sanlock.log")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        os.makedirs(self.run_dir, 0o755)
        os.chmod(self.run_dir, 0o755)
        pw = pwd.getpwnam(self.user)
        os.chown(self.run_dir, pw.pw_uid, pw.pw_gid)
        with open(self.log, "ab") as log:
            try:
                self.proc = _spawn(self.env, self.user, self.group,
                                   log.fileno())
            except RuntimeError:
                env = dict(self.env, LD_PRELOAD=build_shim(self.work_dir))
                self.proc = _spawn(env, self.user, self.group,
                                   log.fileno())

    def stop(self) -> None:
        if self.proc is None:
            return
        subprocess.run(["sanlock", "client", "shutdown", "-f", "1"],
                       env=self.env, capture_output=True)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        shutil.rmtree(self.run_dir, ignore_errors=True)
