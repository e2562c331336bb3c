"""configure module ``sanlock``: sanlock can use vdsm's storage.

The sanlock daemon opens lease files vdsm creates (vdsm:kvm 0660), so the
sanlock user joins the groups [vars] group (kvm) and qemu (those that
exist), as upstream; not disk, which vdsm's file domains never need (the
distribution's package may add it, that is left alone).
/etc/sanlock/sanlock.conf (read by sanlock on any distro; Debian keeps
daemon options such as ``-w 0`` in /etc/default/sanlock, left alone) gets
vdsm's block: ``max_worker_threads = 50``, enough for a host with many
storage domains.
"""

from __future__ import annotations

from vdsm.tool import accounts, files
from vdsm.tool.errors import ConfigureError
from vdsm.tool.target import Target

NAME = "sanlock"
SANLOCK_USER = "sanlock"
SANLOCK_CONF = "/etc/sanlock/sanlock.conf"
SETTINGS = {"max_worker_threads": "50"}


def _groups(target: Target) -> list[str]:
    return [target.config.get("vars", "group"), "qemu"]


def is_configured(target: Target) -> list[str]:
    if target.user(SANLOCK_USER) is None:
        return [f"no user {SANLOCK_USER} (is sanlock installed?)"]
    problems = [f"{SANLOCK_USER} is not in group {g}" for g in
                accounts.missing_memberships(target, SANLOCK_USER,
                                             _groups(target))]
    text = files.read(target.path(SANLOCK_CONF)) or ""
    if files.block_lines(text) != _lines():
        problems.append(f"{SANLOCK_CONF}: vdsm settings missing or outdated")
    for line in files.active_conflicts(text, list(SETTINGS)):
        problems.append(f"{SANLOCK_CONF}: conflicting setting {line!r}")
    return problems


def configure(target: Target, force: bool = False) -> list[str]:
    if target.user(SANLOCK_USER) is None:
        raise ConfigureError(f"no user {SANLOCK_USER}: install sanlock")
    changes = accounts.add_memberships(target, SANLOCK_USER, _groups(target))
    path = target.path(SANLOCK_CONF)
    text = files.read(path) or ""
    if files.write(path, files.apply_block(text, _lines(), list(SETTINGS))):
        changes.append(f"updated {SANLOCK_CONF}")
    if changes:
        changes.append("restart sanlock for the changes to take effect")
    return changes


def _lines() -> list[str]:
    return [f"{k} = {v}" for k, v in SETTINGS.items()]
