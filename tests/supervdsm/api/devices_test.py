"""devices.loop_attach / loop_detach / udev_settle through supervdsmd."""

from __future__ import annotations

import os
import subprocess

import pytest

from vdsm.supervdsm import errors

pytestmark = pytest.mark.root


def backing_file(device):
    name = os.path.basename(device)
    try:
        with open(f"/sys/block/{name}/loop/backing_file") as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


@pytest.fixture
def image(supervdsmd):
    path = os.path.join(supervdsmd.repository, "img")
    with open(path, "wb") as f:
        f.truncate(1024**2)
    return path


def test_attach_detach(supervdsmd, image):
    client = supervdsmd.client()
    device = client.call("devices.loop_attach", image)
    try:
        assert backing_file(device) == image
    finally:
        client.call("devices.loop_detach", device)
    assert backing_file(device) is None


def test_attach_read_only(supervdsmd, image):
    client = supervdsmd.client()
    device = client.call("devices.loop_attach", image, read_only=True)
    try:
        name = os.path.basename(device)
        with open(f"/sys/block/{name}/ro") as f:
            assert f.read().strip() == "1"
    finally:
        client.call("devices.loop_detach", device)


def test_attach_outside_roots_refused(supervdsmd, tmp_path):
    path = tmp_path / "img"
    path.write_bytes(b"\0" * 4096)
    with pytest.raises(errors.InvalidPath):
        supervdsmd.client().call("devices.loop_attach", str(path))


def test_attach_non_regular_refused(supervdsmd):
    d = os.path.join(supervdsmd.repository, "dir")
    os.mkdir(d)
    with pytest.raises(errors.InvalidPath):
        supervdsmd.client().call("devices.loop_attach", d)


def test_detach_foreign_loop_refused(supervdsmd, tmp_path):
    path = tmp_path / "foreign"
    path.write_bytes(b"\0" * 4096)
    device = subprocess.run(["losetup", "--find", "--show", str(path)],
                            capture_output=True, text=True,
                            check=True).stdout.strip()
    try:
        with pytest.raises(errors.InvalidPath):
            supervdsmd.client().call("devices.loop_detach", device)
        assert backing_file(device) == str(path)
    finally:
        subprocess.run(["losetup", "--detach", device], check=True)


@pytest.mark.parametrize("device", ["/dev/sda", "/dev/loop", "/dev/loop1x",
                                    "/dev/../dev/loop0"])
def test_detach_bad_name_refused(supervdsmd, device):
    with pytest.raises(errors.InvalidArguments):
        supervdsmd.client().call("devices.loop_detach", device)


def test_udev_settle(supervdsmd):
    assert supervdsmd.client().call("devices.udev_settle", 5) is None


def test_udev_settle_bad_timeout(supervdsmd):
    with pytest.raises(errors.InvalidArguments):
        supervdsmd.client().call("devices.udev_settle", 0)
