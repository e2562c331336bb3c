"""configure module ``libvirt``: let the vdsm user drive libvirt and qemu.

libvirtd.conf: the read-write socket belongs to group [supervdsm]
socket_group (vdsm: only the vdsm user is in it, ``vdsm_user`` creates it),
mode 0770, without polkit (``auth_unix_rw = "none"``): access is the
socket's group, i.e. vdsm (and root). Not kvm: every qemu process runs in
group kvm, and a socket open to kvm with no authentication would let any
guest's qemu drive libvirtd, that is act as root. With systemd socket
activation the socket unit decides, so a drop-in gives ``libvirtd.socket``
the same group and mode 0660 (Debian's default 0666 would open it to
everybody once polkit is off).

qemu.conf: qemu runs as the distribution's qemu user with group kvm, so it
can use images vdsm creates (vdsm:kvm 0660); dynamic ownership on (vdsm
marks its storage ``relabel=no``); remote displays on vdsm's port range,
without TLS (the host has no spice/vnc certificates; upstream turns TLS on
when it deploys them); ``lock_manager = "sanlock"``: libvirt's sanlock
plugin (package libvirt-sanlock) acquires the ``<lease>`` devices of a
domain (VM leases on a storage domain's xleases volume) for its qemu, so a
VM holding one cannot run on a second host.

qemu-sanlock.conf, as upstream: ``auto_disk_leases = 0`` (vdsm names the
leases itself; libvirt makes none per disk) and
``require_lease_for_disks = 0`` (a VM without a lease runs). No
``host_id``: libvirt needs one only for its automatic disk leases, in a
lockspace of its own; a VM lease lives in the storage domain's lockspace,
which vdsm joined with the host's id when it connected to the pool.

Settings live in one delimited block per file (see ``files``); the host's
own active lines for the same keys are commented out, nothing else is
touched.
"""

from __future__ import annotations

from vdsm.tool import files
from vdsm.tool.errors import ConfigureError
from vdsm.tool.target import Target

NAME = "libvirt"
LIBVIRTD_CONF = "/etc/libvirt/libvirtd.conf"
QEMU_CONF = "/etc/libvirt/qemu.conf"
QEMU_SANLOCK_CONF = "/etc/libvirt/qemu-sanlock.conf"
# The package that installs each file, named when it is missing.
PACKAGES = {QEMU_SANLOCK_CONF: "libvirt-sanlock"}
SOCKET_DROPIN = "/etc/systemd/system/libvirtd.socket.d/vdsm.conf"


def _socket_group(target: Target) -> str:
    return target.config.get("supervdsm", "socket_group")


def _libvirtd(target: Target) -> dict[str, str]:
    group = _socket_group(target)
    return {"unix_sock_group": f'"{group}"',
            "unix_sock_rw_perms": '"0770"',
            "auth_unix_rw": '"none"'}


def _qemu(target: Target) -> dict[str, str]:
    user = "libvirt-qemu" if target.user("libvirt-qemu") else "qemu"
    return {"user": f'"{user}"',
            "group": f'"{target.config.get("vars", "group")}"',
            "dynamic_ownership": "1",
            "remote_display_port_min": "5900",
            "remote_display_port_max": "6923",
            "spice_tls": "0",
            "vnc_tls": "0",
            **LOCK_MANAGER}


# qemu.conf's and qemu-sanlock.conf's settings for the sanlock lock
# manager (also what the test cluster's hosts get).
LOCK_MANAGER = {"lock_manager": '"sanlock"'}
SANLOCK_PLUGIN = {"auto_disk_leases": "0", "require_lease_for_disks": "0"}


def _dropin(target: Target) -> str:
    return ("# Written by vdsm-tool configure --module libvirt.\n"
            "[Socket]\n"
            f"SocketGroup={_socket_group(target)}\n"
            "SocketMode=0660\n")


def _wanted(target: Target) -> list[tuple[str, dict[str, str]]]:
    return [(LIBVIRTD_CONF, _libvirtd(target)), (QEMU_CONF, _qemu(target)),
            (QEMU_SANLOCK_CONF, SANLOCK_PLUGIN)]


def is_configured(target: Target) -> list[str]:
    problems = []
    for path, settings in _wanted(target):
        text = files.read(target.path(path))
        if text is None:
            package = PACKAGES.get(path, "libvirt")
            problems.append(f"missing {path} (is {package} installed?)")
            continue
        if files.block_lines(text) != _lines(settings):
            problems.append(f"{path}: vdsm settings missing or outdated")
        for line in files.active_conflicts(text, list(settings)):
            problems.append(f"{path}: conflicting setting {line!r}")
    if files.read(target.path(SOCKET_DROPIN)) != _dropin(target):
        problems.append(f"{SOCKET_DROPIN} missing or outdated")
    return problems


def configure(target: Target, force: bool = False) -> list[str]:
    changes = []
    wanted = _wanted(target)
    for path, _ in wanted:
        # All or none: a missing file stops the module before any write.
        if files.read(target.path(path)) is None:
            package = PACKAGES.get(path, "libvirt")
            raise ConfigureError(f"missing {path}: install {package} first")
    for path, settings in wanted:
        real = target.path(path)
        text = files.read(real) or ""
        new = apply(text, settings)
        if files.write(real, new):
            changes.append(f"updated {path}")
    if files.write(target.path(SOCKET_DROPIN), _dropin(target), 0o644):
        changes.append(f"wrote {SOCKET_DROPIN}")
    if changes:
        changes.append("restart libvirtd for the changes to take effect")
    return changes


def apply(text: str, settings: dict[str, str]) -> str:
    """``text`` with vdsm's block of ``settings``, as configure writes it.
    """
    return files.apply_block(text, _lines(settings), list(settings))


def _lines(settings: dict[str, str]) -> list[str]:
    return [f"{k} = {v}" for k, v in settings.items()]
