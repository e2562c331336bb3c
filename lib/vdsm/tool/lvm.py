"""configure module ``lvm``: host LVM settings vdsm's block storage needs.

Additive only, in vdsm's block of /etc/lvm/lvmlocal.conf (loaded after
lvm.conf, overriding it): ``devices { hints = "none" }``, because the PVs
of shared storage change on other hosts behind this host's cached hints.
No filter or devices file is written for the host: vdsm passes its own
device filter on each lvm command it runs for storage domains, and creates
its VGs with auto-activation off, so the host's own volume groups are never
hidden or broken. A host without /etc/lvm/lvm.conf has no lvm2: the module
says so and has nothing to do (block storage domains need lvm2).
"""

from __future__ import annotations

from vdsm.tool import files
from vdsm.tool.target import Target

NAME = "lvm"
LVM_CONF = "/etc/lvm/lvm.conf"
LVMLOCAL_CONF = "/etc/lvm/lvmlocal.conf"
BLOCK = [
    "devices {",
    "    # Shared storage changes on other hosts: never trust hints.",
    '    hints = "none"',
    "}",
]
KEYS = ["hints"]


def describe(target: Target) -> str | None:
    if files.read(target.path(LVM_CONF)) is None:
        return (f"no {LVM_CONF}: lvm2 is not installed, nothing to "
                "configure (block storage domains need lvm2)")
    return None


def is_configured(target: Target) -> list[str]:
    if describe(target):
        return []
    text = files.read(target.path(LVMLOCAL_CONF)) or ""
    problems = []
    if files.block_lines(text) != BLOCK:
        problems.append(f"{LVMLOCAL_CONF}: vdsm settings missing or "
                        "outdated")
    for line in files.active_conflicts(text, KEYS):
        problems.append(f"{LVMLOCAL_CONF}: conflicting setting {line!r}")
    return problems


def configure(target: Target, force: bool = False) -> list[str]:
    note = describe(target)
    if note:
        return []
    path = target.path(LVMLOCAL_CONF)
    text = files.read(path) or ""
    if files.write(path, files.apply_block(text, BLOCK, KEYS)):
        return [f"updated {LVMLOCAL_CONF}"]
    return []
