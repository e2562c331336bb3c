"""What privileged functions know of the daemon: its config and helpers.

supervdsmd calls ``setup(config)`` once at start; privileged modules read
the config through ``config()`` and run helper commands with ``run``,
which bounds each command by ``[supervdsm] call_timeout``.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import subprocess

from vdsm.common.config import Config
from vdsm.supervdsm.errors import CallTimeout, CommandFailed

log = logging.getLogger("vdsm.supervdsm.runtime")

_config: Config | None = None


def setup(config: Config) -> None:
    global _config
    _config = config


def config() -> Config:
    if _config is None:
        raise RuntimeError("supervdsm runtime not set up")
    return _config


def allowed_roots() -> list[str]:
    """Real paths of the directories privileged calls may work under."""
    cfg = config()
    roots = [cfg.get("irs", "repository")]
    roots += cfg.get("supervdsm", "allowed_roots").split()
    return [os.path.realpath(r) for r in roots if r]


def vdsm_owner() -> tuple[int, int]:
    """(uid, gid) of [vars] user and group."""
    cfg = config()
    return (pwd.getpwnam(cfg.get("vars", "user")).pw_uid,
            grp.getgrnam(cfg.get("vars", "group")).gr_gid)


def run(argv: list[str], pass_fds: tuple[int, ...] = ()) -> str:
    """Run a helper command; return its stdout or raise CommandFailed."""
    timeout = config().getfloat("supervdsm", "call_timeout")
    log.debug("RUN argv=%s", argv)
    try:
        p = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout, pass_fds=pass_fds,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise CallTimeout(f"{argv[0]} did not finish in {timeout}s") from None
    if p.returncode != 0:
        raise CommandFailed(f"{' '.join(argv)}: rc={p.returncode} "
                            f"{p.stderr.strip()}")
    return p.stdout
