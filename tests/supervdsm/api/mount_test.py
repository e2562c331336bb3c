"""mount.mount / mount.umount through a real supervdsmd."""

from __future__ import annotations

import os
import subprocess

import pytest

from vdsm.supervdsm import errors

pytestmark = pytest.mark.root


def mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def mount_options(path):
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == path:
                return fields[5].split(",")
    return None


@pytest.fixture
def mnt(supervdsmd):
    path = os.path.join(supervdsmd.repository, "mnt")
    os.mkdir(path)
    return path


def test_mount_tmpfs_forces_nosuid_nodev(supervdsmd, mnt):
    client = supervdsmd.client()
    client.call("mount.mount", "tmpfs", mnt, "tmpfs", "size=4m")
    try:
        assert mounted(mnt)
        opts = mount_options(mnt)
        assert "nosuid" in opts and "nodev" in opts
    finally:
        client.call("mount.umount", mnt)
    assert not mounted(mnt)


def test_mount_ext4_on_loop_device(supervdsmd, mnt):
    image = os.path.join(supervdsmd.repository, "disk.img")
    with open(image, "wb") as f:
        f.truncate(32 * 1024**2)
    subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
    client = supervdsmd.client()
    device = client.call("devices.loop_attach", image)
    try:
        client.call("mount.mount", device, mnt, "ext4", "noatime")
        with open(os.path.join(mnt, "hello"), "w") as f:
            f.write("hi")
        assert "noatime" in mount_options(mnt)
        client.call("mount.umount", mnt)
        assert not os.path.exists(os.path.join(mnt, "hello"))
    finally:
        if mounted(mnt):
            subprocess.run(["umount", mnt])
        client.call("devices.loop_detach", device)


def test_lazy_umount_of_busy_mount(supervdsmd, mnt):
    client = supervdsmd.client()
    client.call("mount.mount", "tmpfs", mnt, "tmpfs")
    fd = os.open(mnt, os.O_RDONLY)
    try:
        with pytest.raises(errors.MountFailed, match="busy"):
            client.call("mount.umount", mnt)
        client.call("mount.umount", mnt, lazy=True)
        assert not mounted(mnt)
    finally:
        os.close(fd)


@pytest.mark.parametrize("spec,vfs,options,error", [
    ("tmpfs", "proc", "", "vfs type"),
    ("tmpfs", "tmpfs", "suid", "not allowed"),
    ("tmpfs", "tmpfs", "dev", "not allowed"),
    ("tmpfs", "tmpfs", "loop", "not allowed"),
    ("tmpfs", "tmpfs", "bind", "not allowed"),
    ("tmpfs", "tmpfs", "a b", "invalid mount option"),
    ("-oremount", "tmpfs", "", "invalid mount source"),
    ("/etc/passwd", "ext4", "", "not a block device"),
])
def test_invalid_mount_refused(supervdsmd, mnt, spec, vfs, options, error):
    with pytest.raises(errors.InvalidArguments, match=error):
        supervdsmd.client().call("mount.mount", spec, mnt, vfs, options)
    assert not mounted(mnt)


def test_mountpoint_outside_repository_refused(supervdsmd, tmp_path):
    with pytest.raises(errors.InvalidPath, match="not under an allowed"):
        supervdsmd.client().call("mount.mount", "tmpfs", str(tmp_path),
                                 "tmpfs")
    assert not mounted(str(tmp_path))


@pytest.mark.parametrize("suffix", ["/../..", "/./mnt", "//mnt"])
def test_unnormalized_mountpoint_refused(supervdsmd, mnt, suffix):
    with pytest.raises(errors.InvalidPath):
        supervdsmd.client().call("mount.mount", "tmpfs",
                                 supervdsmd.repository + suffix, "tmpfs")


def test_symlink_in_mountpoint_refused(supervdsmd, tmp_path):
    # A caller owning the repository could point a component elsewhere.
    link = os.path.join(supervdsmd.repository, "link")
    os.symlink(str(tmp_path), link)
    (tmp_path / "sub").mkdir()
    for target in (link, link + "/sub"):
        with pytest.raises(errors.InvalidPath):
            supervdsmd.client().call("mount.mount", "tmpfs", target, "tmpfs")
    assert not mounted(str(tmp_path))
    assert not mounted(str(tmp_path / "sub"))


def test_allowed_roots_option(make_supervdsmd, tmp_path):
    server = make_supervdsmd({"supervdsm": {"allowed_roots": str(tmp_path)}})
    client = server.client()
    target = tmp_path / "m"
    target.mkdir()
    client.call("mount.mount", "tmpfs", str(target), "tmpfs")
    try:
        assert mounted(str(target))
    finally:
        client.call("mount.umount", str(target))
    with pytest.raises(errors.InvalidPath, match="allowed root itself"):
        client.call("mount.mount", "tmpfs", str(tmp_path), "tmpfs")
