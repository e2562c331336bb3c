"""The vdsm user has no raw access to the host's disks (no group disk).

Group disk is read-write on every block device: code running in the
network-facing vdsmd would be root. vdsmd dropped to vdsm must not have
it, yet still reach supervdsmd (through the socket's own group), which
does the block-device work (loop devices, mounts) as root.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

import pytest

from fixtures import vdsm_user
from fixtures.vdsmd import Vdsmd

pytestmark = pytest.mark.root

LIB = os.path.join(os.path.dirname(__file__), "..", "..", "lib")

# Drop as vdsmd does, then try the disk.
CHILD = """
import json, os, sys
from vdsm.common import privilege
privilege.drop_to("vdsm", "kvm")
try:
    os.close(os.open(sys.argv[1], os.O_RDWR))
    opened = True
except PermissionError:
    opened = False
print(json.dumps({"groups": os.getgroups(), "opened": opened}))
"""


def vdsm_ids() -> tuple[int, int]:
    try:
        return pwd.getpwnam("vdsm").pw_uid, grp.getgrnam("kvm").gr_gid
    except KeyError as e:
        pytest.skip(f"no {e.args[0]} account on this host")


def disk_gid() -> int:
    try:
        return grp.getgrnam("disk").gr_gid
    except KeyError:
        pytest.skip("no group disk on this host")


def test_dropped_vdsm_cannot_open_a_disk(supervdsmd):
    vdsm_ids()
    disk = disk_gid()
    image = os.path.join(supervdsmd.repository, "disk.img")
    with open(image, "wb") as f:
        f.truncate(1024**2)
    device = supervdsmd.client().call("devices.loop_attach", image)
    # udev makes every disk root:disk 0660; this container has no udev
    # rules for loop devices (root:root 0600): do what udev would.
    os.chown(device, 0, disk)
    os.chmod(device, 0o660)
    env = dict(os.environ, PYTHONPATH=os.path.abspath(LIB))
    p = subprocess.run([sys.executable, "-c", CHILD, device], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert disk not in out["groups"]
    assert out["opened"] is False


@pytest.fixture
def vdsmd_as_vdsm(supervdsmd, host_pki):
    uid, gid = vdsm_ids()
    root = tempfile.mkdtemp(prefix="vdsmd-groups-", dir="/tmp")
    os.chmod(root, 0o711)
    own_pki = vdsm_user.layout(root, host_pki, uid, gid)
    daemon = Vdsmd(root, host_pki, {
        "vars": {"drop_privileges": "true", "user": "vdsm",
                 "group": "kvm"},
        "pki": {"pki_dir": own_pki.root},
        "supervdsm": {"socket": supervdsmd.socket}})
    try:
        daemon.start()
        daemon.wait_ready()
        yield daemon, uid
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            assert daemon.stop() == 0
        shutil.rmtree(root, ignore_errors=True)


def test_vdsmd_as_vdsm_has_no_disk_group_and_reaches_supervdsm(
        vdsmd_as_vdsm, supervdsmd):
    daemon, uid = vdsmd_as_vdsm
    groups = set(vdsm_user.proc_ids(daemon.proc.pid)["Groups"])
    socket_gid = os.stat(supervdsmd.socket).st_gid
    print(f"vdsmd groups={sorted(groups)} socket_gid={socket_gid}")
    assert disk_gid() not in groups
    assert socket_gid in groups
    with daemon.client() as cli:
        # lldpad may not run here: the answer does not matter, reaching
        # supervdsmd as vdsm does.
        try:
            cli.Host.getLldp(filter={})
        except Exception:
            pass
    assert f"pid={daemon.proc.pid} uid={uid}" in supervdsmd.log()
