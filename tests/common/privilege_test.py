"""Dropping root: drop_to() in a child, and a real vdsmd as the vdsm user.

The end-to-end test runs vdsm/vdsmd as root with [vars] drop_privileges
on and checks that the process serves the API while running as [vars]
user (vdsm when the host has it, made by ``vdsm-tool configure --module
vdsm-user``; else nobody:nogroup, which exercises the same code path).
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
from vdsm.common import privilege

pytestmark = pytest.mark.root

LIB = os.path.join(os.path.dirname(__file__), "..", "..", "lib")

CHILD = """
import json, os, sys
from vdsm.common import privilege
try:
    privilege.drop_to(sys.argv[1], sys.argv[2])
except privilege.PrivilegeError as e:
    print(json.dumps({"error": str(e)}))
    sys.exit(0)
try:
    os.setuid(0)
    regained = True
except PermissionError:
    regained = False
print(json.dumps({"ids": os.getresuid() + os.getresgid(),
                  "groups": sorted(os.getgroups()), "regained": regained,
                  "home": os.environ["HOME"]}))
"""


def account():
    try:
        pwd.getpwnam("vdsm")
        grp.getgrnam("kvm")
        return "vdsm", "kvm"
    except KeyError:
        return "nobody", "nogroup"


def run_child(user, group):
    if os.geteuid() != 0:
        pytest.skip("dropping privileges needs root")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(LIB))
    p = subprocess.run([sys.executable, "-c", CHILD, user, group], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_drop_to_user():
    user, group = account()
    pw = pwd.getpwnam(user)
    gid = grp.getgrnam(group).gr_gid
    out = run_child(user, group)
    assert out["ids"] == [pw.pw_uid] * 3 + [gid] * 3
    assert out["regained"] is False
    assert out["home"] == pw.pw_dir
    expected = privilege.supplementary_groups(
        user, gid, privilege.SUPPLEMENTARY_GROUPS)
    assert out["groups"] == expected
    for name in privilege.SUPPLEMENTARY_GROUPS:
        try:
            assert grp.getgrnam(name).gr_gid in out["groups"]
        except KeyError:
            pass  # not on this host (Debian has no qemu group)


def test_drop_to_unknown_user():
    out = run_child("no-such-user-vdsm", "nogroup")
    assert "no such user" in out["error"]


@pytest.fixture
def vdsmd_as_user(host_pki):
    if os.geteuid() != 0:
        pytest.skip("dropping privileges needs root")
    user, group = account()
    uid = pwd.getpwnam(user).pw_uid
    gid = grp.getgrnam(group).gr_gid
    root = tempfile.mkdtemp(prefix="vdsmd-user-", dir="/tmp")
    os.chmod(root, 0o711)
    own_pki = vdsm_user.layout(root, host_pki, uid, gid)
    daemon = Vdsmd(root, host_pki, {
        "vars": {"drop_privileges": "true", "user": user, "group": group},
        "pki": {"pki_dir": own_pki.root}})
    try:
        daemon.start()
        daemon.wait_ready()
        yield daemon, uid, gid
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_vdsmd_serves_as_unprivileged_user(vdsmd_as_user):
    daemon, uid, gid = vdsmd_as_user
    ids = vdsm_user.proc_ids(daemon.proc.pid)
    assert ids["Uid"] == [uid] * 4
    assert ids["Gid"] == [gid] * 4
    with daemon.client() as cli:
        assert cli.Host.ping2() is True
        caps = cli.Host.getCapabilities()
        assert isinstance(caps, dict) and caps
        assert isinstance(cli.Host.getStats(), dict)
    assert f"uid={uid}" in daemon.log()
    st = os.stat(os.path.join(daemon.run_dir, "vdsmd.port"))
    assert st.st_uid == uid
