"""fs.mkdir / fs.chown through a real supervdsmd."""

from __future__ import annotations

import os
import pwd
import grp

import pytest

from vdsm.supervdsm import errors

pytestmark = pytest.mark.root


def owner_of(server):
    return (pwd.getpwnam(server.user).pw_uid,
            grp.getgrnam(server.group).gr_gid)


def test_mkdir_owner_and_mode(supervdsmd):
    path = os.path.join(supervdsmd.repository, "dir")
    assert supervdsmd.client().call("fs.mkdir", path, 0o770) is True
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == owner_of(supervdsmd)
    assert st.st_mode & 0o7777 == 0o770
    assert supervdsmd.client().call("fs.mkdir", path, 0o770) is False


def test_mkdir_over_file_refused(supervdsmd):
    path = os.path.join(supervdsmd.repository, "file")
    open(path, "w").close()
    with pytest.raises(errors.InvalidPath, match="not a directory"):
        supervdsmd.client().call("fs.mkdir", path)


def test_mkdir_refuses_setuid_mode(supervdsmd):
    path = os.path.join(supervdsmd.repository, "suid")
    with pytest.raises(errors.InvalidArguments):
        supervdsmd.client().call("fs.mkdir", path, 0o4755)
    assert not os.path.exists(path)


def test_mkdir_through_symlink_refused(supervdsmd, tmp_path):
    os.symlink(str(tmp_path), os.path.join(supervdsmd.repository, "l"))
    with pytest.raises(errors.InvalidPath):
        supervdsmd.client().call(
            "fs.mkdir", os.path.join(supervdsmd.repository, "l", "x"))
    assert not (tmp_path / "x").exists()


def test_chown(supervdsmd):
    path = os.path.join(supervdsmd.repository, "f")
    open(path, "w").close()
    supervdsmd.client().call("fs.chown", path)
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == owner_of(supervdsmd)


def test_chown_does_not_follow_symlink(supervdsmd, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("x")
    link = os.path.join(supervdsmd.repository, "link")
    os.symlink(str(victim), link)
    supervdsmd.client().call("fs.chown", link)
    st = os.stat(victim)
    assert (st.st_uid, st.st_gid) == (0, 0)
    assert os.lstat(link).st_uid == owner_of(supervdsmd)[0]


def test_chown_outside_roots_refused(supervdsmd, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("x")
    with pytest.raises(errors.InvalidPath):
        supervdsmd.client().call("fs.chown", str(victim))
    assert os.stat(victim).st_uid == 0


def test_chown_missing(supervdsmd):
    with pytest.raises(errors.InvalidPath, match="does not exist"):
        supervdsmd.client().call(
            "fs.chown", os.path.join(supervdsmd.repository, "nope"))
