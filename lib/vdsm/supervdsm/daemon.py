"""supervdsmd: the root helper process (entry point ``vdsm/supervdsmd``).

    supervdsmd [--config FILE]...

Reads /etc/vdsm/vdsm.conf (or the given files), logs to [supervdsm]
log_file one event per line, serves the allowlisted functions on
[supervdsm] socket (group [supervdsm] socket_group) until SIGTERM or
SIGINT. Only root and the uid of [vars] user may call.
"""

from __future__ import annotations

import argparse
import grp
import logging
import os
import pwd
import signal
import sys
from types import FrameType

import vdsm
from vdsm.common import log as vdsm_log
from vdsm.common.config import Config
from vdsm.supervdsm import allowlist, runtime
from vdsm.supervdsm.registry import Registry
from vdsm.supervdsm.server import Server

log = logging.getLogger("vdsm.supervdsm")

CONFIG_FILE = "/etc/vdsm/vdsm.conf"
# Tests only: comma-separated dotted modules of extra privileged functions.
TEST_MODULES_ENV = "VDSM_SUPERVDSM_TEST_MODULES"
LOG_FORMAT = ("%(asctime)s %(levelname)-7s (%(threadName)s) [%(name)s] "
              "%(message)s")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    files = args.config
    if files is None:
        files = [CONFIG_FILE] if os.path.exists(CONFIG_FILE) else []
    config = Config(files)
    _setup_logging(config)
    log.info("Starting (version=%s pid=%d uid=%d config=%s)",
             vdsm.__version__, os.getpid(),
             os.geteuid(), ",".join(files) or "defaults")
    if os.geteuid() != 0:
        log.error("EXIT reason=not-root uid=%d", os.geteuid())
        return 1
    server = _make_server(config)
    try:
        server.listen()
    except (RuntimeError, OSError) as e:
        log.error("EXIT reason=%r", str(e))
        return 1

    def stop(signo: int, frame: FrameType | None) -> None:
        log.info("SIGNAL signo=%d", signo)
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("Ready for requests")
    server.serve_forever()
    log.info("Stopped")
    return 0


def _make_server(config: Config) -> Server:
    runtime.setup(config)
    extra = [m for m in os.environ.get(TEST_MODULES_ENV, "").split(",") if m]
    if extra:
        log.warning("TEST-MODULES modules=%s (tests only)", ",".join(extra))
    registry = Registry.load(allowlist.MODULES, extra)
    log.info("ALLOWLIST functions=%s", ",".join(registry.names()))
    return Server(
        path=config.get("supervdsm", "socket"),
        registry=registry,
        allowed_uids=_allowed_uids(config),
        socket_gid=_socket_gid(config),
        call_timeout=config.getfloat("supervdsm", "call_timeout"),
        workers=config.getint("supervdsm", "workers"),
        max_connections=config.getint("supervdsm", "max_connections"))


def _allowed_uids(config: Config) -> set[int]:
    user = config.get("vars", "user")
    try:
        return {0, pwd.getpwnam(user).pw_uid}
    except KeyError:
        log.warning("NO-USER user=%s (only root may call)", user)
        return {0}


def _socket_gid(config: Config) -> int:
    group = config.get("supervdsm", "socket_group")
    try:
        gr = grp.getgrnam(group)
    except KeyError:
        log.warning("NO-GROUP group=%s (socket group root: only root may "
                    "connect; run vdsm-tool configure)", group)
        return 0
    others = sorted(_members(gr) - {config.get("vars", "user")})
    if others:
        # Any of them can connect and be refused by uid: allowed, but the
        # socket should be out of their reach.
        log.warning("SHARED-GROUP group=%s others=%s", group,
                    ",".join(others))
    return gr.gr_gid


def _members(gr: grp.struct_group) -> set[str]:
    """Users in group ``gr``: listed members and those whose primary
    group it is."""
    return set(gr.gr_mem) | {pw.pw_name for pw in pwd.getpwall()
                             if pw.pw_gid == gr.gr_gid}


def _setup_logging(config: Config) -> None:
    path = config.get("supervdsm", "log_file")
    handler: logging.Handler
    if path == "-":
        handler = logging.StreamHandler(sys.stderr)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handler = vdsm_log.LogFileHandler(
            path, config.getint("logging", "max_size"))
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(config.get("logging", "log_level").upper())


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="supervdsmd",
                                description="Vdsm's privileged helper.")
    p.add_argument("--config", metavar="FILE", action="append",
                   help=f"config file (default {CONFIG_FILE}); may repeat")
    return p
