"""supervdsmd: the root helper process (entry point ``vdsm/supervdsmd``).

    supervdsmd [--config FILE]...

Reads /etc/vdsm/vdsm.conf (or the given files), logs to [supervdsm]
log_file one event per line, serves the allowlisted functions on
[supervdsm] socket until SIGTERM or SIGINT. Only root and the uid of
[vars] user may call.
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
        workers=config.getint("supervdsm", "workers"))


def _allowed_uids(config: Config) -> set[int]:
    user = config.get("vars", "user")
    try:
        return {0, pwd.getpwnam(user).pw_uid}
    except KeyError:
        log.warning("NO-USER user=%s (only root may call)", user)
        return {0}


def _socket_gid(config: Config) -> int:
    group = config.get("vars", "group")
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        log.warning("NO-GROUP group=%s (socket group root)", group)
        return 0


def _setup_logging(config: Config) -> None:
    path = config.get("supervdsm", "log_file")
    handler: logging.Handler
    if path == "-":
        handler = logging.StreamHandler(sys.stderr)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handler = logging.FileHandler(path)
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
