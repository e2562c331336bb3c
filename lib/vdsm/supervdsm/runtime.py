"""What privileged functions know of the daemon: its config and helpers.

supervdsmd calls ``setup(config)`` once at start; privileged modules read
the config through ``config()`` and run helper commands with ``run``,
the privileged twin of ``vdsm.common.commands.run``: the same runner, each
command bounded by ``[supervdsm] call_timeout`` unless it says otherwise.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd

from vdsm.common import commands
from vdsm.common.config import Config

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


def run(argv: list[str], pass_fds: tuple[int, ...] = (),
        input: str | None = None, timeout: float | None = None) -> str:
    """Run a helper command as root: commands.run, by default within
    [supervdsm] call_timeout. Return its stdout; raise CommandFailed,
    CommandTimeout or CommandNotFound (vdsm.common.commands)."""
    if timeout is None:
        timeout = config().getfloat("supervdsm", "call_timeout")
    return commands.run(argv, timeout=timeout, input=input,
                        pass_fds=pass_fds).stdout
