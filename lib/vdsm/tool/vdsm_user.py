"""configure module ``vdsm-user``: the vdsm user, its groups, its dirs.

Creates group [vars] group (kvm) and user [vars] user (vdsm; uid 36 like
upstream when free, since files on shared NFS storage are owned by 36),
system account, home /var/lib/vdsm, no login shell; adds it to the groups
vdsmd relies on (qemu and sanlock, those that exist, as upstream) and to
[supervdsm] socket_group (vdsm, created here), the group of supervdsmd's
socket that only the vdsm user is in; creates ``DIRS`` owned by vdsm:kvm.

The user is taken out of ``FORBIDDEN_GROUPS``: group disk is raw
read-write access to every disk of the host, i.e. root for whoever runs
code in the network-facing daemon. Nothing in vdsmd needs it: loop
devices are attached and mounted by supervdsmd, guests' disks are opened
by qemu (libvirt gives it each one).
"""

from __future__ import annotations

from vdsm.tool import accounts
from vdsm.tool.errors import ConfigureError
from vdsm.tool.target import Target

NAME = "vdsm-user"
UPSTREAM_UID = 36
GROUPS = ["qemu", "sanlock"]
FORBIDDEN_GROUPS = ["disk"]
# (path, mode); [irs] repository is added with mode 0755.
DIRS = [("/var/log/vdsm", 0o755), ("/run/vdsm", 0o755),
        ("/var/lib/vdsm", 0o755)]


def _names(target: Target) -> tuple[str, str]:
    return (target.config.get("vars", "user"),
            target.config.get("vars", "group"))


def _socket_group(target: Target) -> str:
    return target.config.get("supervdsm", "socket_group")


def _dirs(target: Target) -> list[tuple[str, int]]:
    repo = target.config.get("irs", "repository")
    return DIRS + [(repo, 0o755), (repo.rstrip("/") + "/mnt", 0o755)]


def is_configured(target: Target) -> list[str]:
    user, group = _names(target)
    account = target.user(user)
    gid = target.group_gid(group)
    if gid is None:
        return [f"no group {group}"]
    if account is None:
        return [f"no user {user}"]
    problems = []
    if account.gid != gid:
        problems.append(f"primary group of {user} is {account.gid}, "
                        f"expected {group} ({gid})")
    socket_group = _socket_group(target)
    if target.group_gid(socket_group) is None:
        problems.append(f"no group {socket_group} (supervdsm socket)")
    for g in accounts.missing_memberships(target, user,
                                          GROUPS + [socket_group]):
        problems.append(f"{user} is not in group {g}")
    for g in sorted(target.user_groups(user) & set(FORBIDDEN_GROUPS)):
        problems.append(f"{user} is in group {g} (raw access to every "
                        "disk)")
    for path, mode in _dirs(target):
        problems.extend(accounts.check_dir(target.path(path), mode,
                                           (account.uid, gid)))
    return problems


def configure(target: Target, force: bool = False) -> list[str]:
    user, group = _names(target)
    changes = []
    if target.group_gid(group) is None:
        accounts.run(target, ["groupadd", "--system", group])
        changes.append(f"created group {group}")
    account = target.user(user)
    if account is None:
        argv = ["useradd", "--system", "--gid", group, "--no-create-home",
                "--home-dir", "/var/lib/vdsm", "--shell", "/usr/sbin/nologin",
                "--comment", "Node Virtualization Manager"]
        if not _uid_taken(target, UPSTREAM_UID):
            argv += ["--uid", str(UPSTREAM_UID)]
        accounts.run(target, argv + [user])
        changes.append(f"created user {user}")
        account = target.user(user)
        if account is None:
            raise ConfigureError(f"useradd did not create {user}")
    socket_group = _socket_group(target)
    if target.group_gid(socket_group) is None:
        accounts.run(target, ["groupadd", "--system", socket_group])
        changes.append(f"created group {socket_group}")
    changes += accounts.add_memberships(target, user,
                                        GROUPS + [socket_group])
    changes += accounts.remove_memberships(target, user, FORBIDDEN_GROUPS)
    gid = target.group_gid(group)
    assert gid is not None
    for path, mode in _dirs(target):
        changes += accounts.ensure_dir(target.path(path), mode,
                                       (account.uid, gid))
    return changes


def _uid_taken(target: Target, uid: int) -> bool:
    with open(target.path("/etc/passwd")) as f:
        return any(line.split(":")[2:3] == [str(uid)] for line in f
                   if line.count(":") >= 2)
