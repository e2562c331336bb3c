"""Users, groups and directories for configure modules, under the root.

Accounts are changed with shadow-utils (useradd, groupadd, usermod), given
``--prefix ROOT`` when the target is a tree other than /, so the real
tools edit the tree's /etc files. Nothing runs when nothing is missing.
"""

from __future__ import annotations

import os

from vdsm.common import commands
from vdsm.tool.errors import ConfigureError
from vdsm.tool.target import Target


def run(target: Target, argv: list[str]) -> None:
    if target.prefixed:
        argv = [argv[0], "--prefix", target.root] + argv[1:]
    try:
        commands.run(argv, timeout=60)
    except commands.CommandError as e:
        raise ConfigureError(e.reason) from None


def missing_memberships(target: Target, user: str,
                        groups: list[str]) -> list[str]:
    """Groups of ``groups`` existing under the root that lack ``user``."""
    member_of = target.user_groups(user)
    return [g for g in groups
            if target.group_gid(g) is not None and g not in member_of]


def add_memberships(target: Target, user: str, groups: list[str]
                    ) -> list[str]:
    missing = missing_memberships(target, user, groups)
    if not missing:
        return []
    run(target, ["usermod", "-a", "-G", ",".join(missing), user])
    return [f"added {user} to groups {','.join(missing)}"]


def remove_memberships(target: Target, user: str, groups: list[str]
                       ) -> list[str]:
    """Take ``user`` out of those of ``groups`` listing it."""
    member_of = target.user_groups(user)
    extra = sorted(member_of & set(groups))
    if not extra:
        return []
    keep = sorted(member_of - set(groups))
    run(target, ["usermod", "-G", ",".join(keep), user])
    return [f"removed {user} from groups {','.join(extra)}"]


def check_dir(path: str, mode: int, owner: tuple[int, int]) -> list[str]:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return [f"missing directory {path}"]
    problems = []
    if not os.path.isdir(path) or os.path.islink(path):
        return [f"{path} is not a directory"]
    if st.st_mode & 0o7777 != mode:
        problems.append(f"{path} has mode {st.st_mode & 0o7777:o}, "
                        f"expected {mode:o}")
    if (st.st_uid, st.st_gid) != owner:
        problems.append(f"{path} is owned by {st.st_uid}:{st.st_gid}, "
                        f"expected {owner[0]}:{owner[1]}")
    return problems


def ensure_dir(path: str, mode: int, owner: tuple[int, int]) -> list[str]:
    changes = []
    if not os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        changes.append(f"created {path}")
    st = os.lstat(path)
    if (st.st_uid, st.st_gid) != owner:
        os.chown(path, *owner)
        if not changes:
            changes.append(f"chown {owner[0]}:{owner[1]} {path}")
    if st.st_mode & 0o7777 != mode:
        os.chmod(path, mode)
        if not changes:
            changes.append(f"chmod {mode:o} {path}")
    return changes
