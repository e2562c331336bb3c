"""Dropping root for vdsmd: become the vdsm user, keep the groups it needs.

In production systemd starts vdsmd with ``User=vdsm Group=kvm`` and the
vdsm user's memberships (qemu, sanlock and the supervdsm socket's group
vdsm, set by ``vdsm-tool configure --module vdsm-user``; never disk, raw
access to every disk). A vdsmd started as root with ``[vars]
drop_privileges = true`` calls ``drop_to`` to end up the same way: the
user's own supplementary groups plus those of ``SUPPLEMENTARY_GROUPS`` that
exist on the host. Root work is then only possible through supervdsmd.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd

log = logging.getLogger("vdsm.privilege")

SUPPLEMENTARY_GROUPS = ("kvm", "qemu", "sanlock")


class PrivilegeError(Exception):
    """Cannot drop to the requested user; the daemon must not go on."""


def drop_to(user: str, group: str,
            extra_groups: tuple[str, ...] = SUPPLEMENTARY_GROUPS) -> None:
    """Irreversibly switch this process to ``user``:``group``."""
    try:
        pw = pwd.getpwnam(user)
        gid = grp.getgrnam(group).gr_gid
    except KeyError as e:
        raise PrivilegeError(f"no such user or group: {e.args[0]}") from None
    groups = supplementary_groups(user, gid, extra_groups)
    try:
        os.setgroups(groups)
        os.setresgid(gid, gid, gid)
        os.setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid)
    except PermissionError as e:
        raise PrivilegeError(f"cannot switch to {user}:{group}: {e}") \
            from None
    if pw.pw_uid != 0 and _can_regain_root():
        raise PrivilegeError("root can be regained after dropping it")
    os.environ.update(HOME=pw.pw_dir, USER=user, LOGNAME=user)
    log.info("DROPPED user=%s uid=%d gid=%d groups=%s", user, pw.pw_uid,
             gid, ",".join(map(str, groups)))


def supplementary_groups(user: str, gid: int,
                         extra_groups: tuple[str, ...]) -> list[int]:
    groups = set(os.getgrouplist(user, gid))
    for name in extra_groups:
        try:
            groups.add(grp.getgrnam(name).gr_gid)
        except KeyError:
            pass
    return sorted(groups)


def _can_regain_root() -> bool:
    try:
        os.setuid(0)
    except PermissionError:
        return False
    return True
