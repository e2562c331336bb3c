"""Host.fenceNode: power another host on, off or ask its power state.

The manager asks a healthy host (the proxy) to run a fence agent against
the power management device (IPMI, iLO, DRAC ...) of a host it lost. The
agents are Debian's ``fence-agents``: ``/usr/sbin/fence_<agent>``, called
as upstream Vdsm calls them, with no arguments and the options on stdin,
one ``key=value`` per line (the agents' documented stdin interface)::

    agent=fence_<agent>
    ipaddr=<addr>
    login=<username>
    action=<status|on|off|reboot>
    passwd=<password>
    port=<port>            (when given)
    secure=yes             (when secure)
    <options>              (the manager's extra lines, as sent)

The agents' exit codes: 0 done (status: power is on), 2 status: power is
off, 1 failed; anything else is a broken agent.

A fencing policy may name storage domains with the fenced host's id in
each (``storageDomainHostIdMap``): when this host sees the fenced host
still renewing its sanlock lease on one of them, the host is alive (only
the manager lost it) and power actions are skipped, as upstream does.
"""

from __future__ import annotations

import enum
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Callable

import sanlock

from vdsm.common import commands
from vdsm.host import errors
from vdsm.host.errors import FenceFailed

log = logging.getLogger("vdsm.host.fence")

AGENT_DIR = "/usr/sbin"
AGENT_TIMEOUT = 120
_AGENT_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class Action(enum.Enum):
    STATUS = "status"
    ON = "on"
    OFF = "off"
    REBOOT = "reboot"


class Power(enum.Enum):
    ON = "on"
    OFF = "off"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Request:
    addr: str
    port: str
    agent: str
    username: str
    password: str
    action: Action
    secure: bool = False
    options: str = ""
    # sdUUID -> the fenced host's id in that domain's lockspace.
    host_ids: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    power: Power
    # "initiated" after a power action, "skipped" when the policy held
    # it back; None for status.
    operation: str | None = None


LeaseLive = Callable[[str, int], bool]


def fence(req: Request, lease_live: LeaseLive,
          agent_dir: str = AGENT_DIR) -> Result:
    if not _AGENT_NAME.match(req.agent):
        raise errors.UnsupportedFenceAgent(agent=req.agent)
    if req.action != Action.STATUS and _host_alive(req, lease_live):
        log.info("SKIP fence action=%s addr=%s reason=live-lease",
                 req.action.value, req.addr)
        return Result(Power.UNKNOWN, "skipped")
    script = os.path.join(agent_dir, f"fence_{req.agent}")
    rc, out = _run(script, agent_input(req))
    log.info("FENCE agent=%s addr=%s action=%s rc=%s", req.agent, req.addr,
             req.action.value, rc)
    if req.action == Action.STATUS:
        if rc == 0:
            return Result(Power.ON)
        if rc == 2:
            return Result(Power.OFF)
        raise FenceFailed(out)
    if rc != 0:
        raise FenceFailed(out)
    return Result(Power.UNKNOWN, "initiated")


def agent_input(req: Request) -> str:
    lines = [f"agent=fence_{req.agent}", f"ipaddr={req.addr}",
             f"login={req.username}", f"action={req.action.value}",
             f"passwd={req.password}"]
    if req.port:
        lines.append(f"port={req.port}")
    if req.secure:
        lines.append("secure=yes")
    text = "\n".join(lines) + "\n" + req.options
    return text if text.endswith("\n") else text + "\n"


def _run(script: str, stdin: str) -> tuple[int, str]:
    # The password is on stdin only: commands.run logs the argv.
    try:
        res = commands.run([script], input=stdin, timeout=AGENT_TIMEOUT,
                           check=False)
    except commands.CommandNotFound:
        raise errors.UnsupportedFenceAgent(agent=script) from None
    except commands.CommandTimeout:
        raise FenceFailed(f"no answer in {AGENT_TIMEOUT}s") from None
    return res.rc, (res.stdout + res.stderr).strip()


def _host_alive(req: Request, lease_live: LeaseLive) -> bool:
    for sd_uuid, host_id in req.host_ids.items():
        if lease_live(sd_uuid, host_id):
            return True
    return False


def sanlock_lease_live(sd_uuid: str, host_id: int) -> bool:
    """Whether sanlock, on this host, sees host_id renewing its lease in
    lockspace sd_uuid. False when this host has not joined it."""
    try:
        hosts = sanlock.get_hosts(sd_uuid.encode(), host_id)
    except sanlock.SanlockException as e:
        log.info("NO lease-status sd=%s host_id=%s reason=%s", sd_uuid,
                 host_id, e)
        return False
    return any(h.get("flags") == sanlock.HOST_LIVE for h in hosts)
