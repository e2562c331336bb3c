"""The mount option blocklist ignores case, as mount(8) partly does.

mount(8) takes ``x-mount.mkdir`` for ``X-mount.mkdir``: the old
case-sensitive check let the lower-case spelling through. Against a real
supervdsmd (root), on a directory of its repository.
"""

from __future__ import annotations

import os

import pytest

from vdsm.supervdsm import errors

pytestmark = pytest.mark.root


def mounted(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


@pytest.mark.parametrize("options", [
    "x-mount.mkdir", "X-mount.mkdir", "X-MOUNT.MKDIR=0777",
    "x-mount.owner=0", "X-mount.mode=4777", "x-mount.subdir=a",
    "SUID", "Dev", "BIND", "Remount", "size=4m,Loop", "helper=sh",
    "uhelper=x",
])
def test_refused_in_any_case(supervdsmd, options):
    mnt = os.path.join(supervdsmd.repository, "mnt")
    os.mkdir(mnt)
    with pytest.raises(errors.InvalidArguments, match="not allowed"):
        supervdsmd.client().call("mount.mount", "tmpfs", mnt, "tmpfs",
                                 options)
    assert not mounted(mnt)
    assert os.listdir(mnt) == []


def test_ordinary_options_still_work(supervdsmd):
    mnt = os.path.join(supervdsmd.repository, "mnt")
    os.mkdir(mnt)
    client = supervdsmd.client()
    client.call("mount.mount", "tmpfs", mnt, "tmpfs", "size=4m,noatime")
    try:
        assert mounted(mnt)
    finally:
        client.call("mount.umount", mnt)
