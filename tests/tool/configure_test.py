"""All configure modules against a temporary root holding copies of this
host's real Debian /etc files (passwd, libvirt, lvm, sanlock ...).

Accounts are made by the real shadow-utils with --prefix; the user is
``vdsmtest`` (set in the tree's vdsm.conf) so creation is exercised even
when the host already has a vdsm user.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from fixtures.trees import tree_bytes

from vdsm.tool import configurator, files, libvirt, lvm, main, sanlock
from vdsm.tool import target as target_mod
from vdsm.tool import vdsm_user

pytestmark = pytest.mark.root

ETC_FILES = ["passwd", "group", "shadow", "gshadow", "login.defs",
             "libvirt/libvirtd.conf", "libvirt/qemu.conf",
             "libvirt/qemu-sanlock.conf", "lvm/lvm.conf",
             "lvm/lvmlocal.conf", "default/sanlock"]


@pytest.fixture
def root(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("configure modules chown files: needs root")
    for rel in ETC_FILES:
        src = os.path.join("/etc", rel)
        if not os.path.exists(src):
            pytest.skip(f"this host has no {src} to copy")
        dst = tmp_path / "etc" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        if "/" in rel:
            # This host may be configured already: start from the
            # distribution's file, without vdsm's block.
            dst.write_text(pristine(dst.read_text()))
    conf = tmp_path / "etc/vdsm/vdsm.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[vars]\nuser = vdsmtest\n")
    return tmp_path


def pristine(text):
    return files.strip_block(text).replace(files.DISABLED, "")



def run(root, *args):
    return main.main(["--root", str(root), *args])


def test_configure_all_then_is_configured(root, capsys):
    assert run(root, "is-configured") == 1
    assert run(root, "configure") == 0
    capsys.readouterr()
    assert run(root, "is-configured") == 0
    out = capsys.readouterr().out
    for name in configurator.names():
        assert f"{name}: configured" in out


def test_configure_twice_is_byte_identical(root, capsys):
    assert run(root, "configure") == 0
    before = tree_bytes(root)
    assert run(root, "configure") == 0
    assert tree_bytes(root) == before
    out = capsys.readouterr().out
    for name in configurator.names():
        assert f"{name}: already configured" in out


def test_configure_force_twice_keeps_all_but_pki(root):
    assert run(root, "configure") == 0
    before = tree_bytes(root)
    assert run(root, "configure", "--force") == 0
    after = tree_bytes(root)
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed and all(k.startswith("etc/pki/vdsm") for k in changed)


def test_vdsm_user(root):
    target = target_mod.load(str(root))
    assert vdsm_user.is_configured(target) == ["no user vdsmtest"]
    changes = vdsm_user.configure(target)
    assert "created user vdsmtest" in changes
    account = target.user("vdsmtest")
    kvm = target.group_gid("kvm")
    assert account.gid == kvm
    for group in ("sanlock", "qemu"):
        if target.group_gid(group) is not None:
            assert "vdsmtest" in target.group_members(group)
    # The group of supervdsmd's socket (this host's copy may have it
    # already); never disk.
    assert "vdsmtest" in target.group_members("vdsm")
    assert "vdsmtest" not in (target.group_members("disk") or [])
    for path in ("var/log/vdsm", "run/vdsm", "var/lib/vdsm",
                 "rhev/data-center", "rhev/data-center/mnt"):
        st = os.stat(root / path)
        assert (st.st_uid, st.st_gid) == (account.uid, kvm)
        assert stat.S_IMODE(st.st_mode) == 0o755
    assert vdsm_user.is_configured(target) == []


def test_vdsm_user_fixes_wrong_owner(root):
    target = target_mod.load(str(root))
    vdsm_user.configure(target)
    os.chown(root / "var/log/vdsm", 0, 0)
    assert vdsm_user.is_configured(target)
    assert vdsm_user.configure(target)
    assert vdsm_user.is_configured(target) == []


def test_vdsm_user_taken_out_of_disk(root):
    target = target_mod.load(str(root))
    vdsm_user.configure(target)
    if target.group_gid("disk") is None:
        pytest.skip("no group disk on this host")
    subprocess.run(["usermod", "--prefix", str(root), "-a", "-G", "disk",
                    "vdsmtest"], check=True)
    assert "vdsmtest" in target.group_members("disk")
    assert vdsm_user.is_configured(target) == [
        "vdsmtest is in group disk (raw access to every disk)"]
    assert vdsm_user.configure(target) == [
        "removed vdsmtest from groups disk"]
    assert "vdsmtest" not in target.group_members("disk")
    assert "vdsmtest" in target.group_members("vdsm")
    assert vdsm_user.is_configured(target) == []


def test_libvirt_comments_out_conflicts_only(root):
    conf = root / "etc/libvirt/libvirtd.conf"
    original = conf.read_text() + 'auth_unix_rw = "polkit"\n'
    conf.write_text(original)
    target = target_mod.load(str(root))
    problems = libvirt.is_configured(target)
    assert any("conflicting setting" in p for p in problems)
    libvirt.configure(target)
    text = conf.read_text()
    assert files.DISABLED + 'auth_unix_rw = "polkit"\n' in text
    assert files.block_lines(text) == [
        'unix_sock_group = "vdsm"', 'unix_sock_rw_perms = "0770"',
        'auth_unix_rw = "none"']
    # Outside the block, only the disabled line differs.
    restored = files.strip_block(text).replace(files.DISABLED, "")
    assert restored == original
    assert libvirt.is_configured(target) == []
    dropin = root / "etc/systemd/system/libvirtd.socket.d/vdsm.conf"
    assert "SocketMode=0660" in dropin.read_text()
    # Not kvm: every qemu runs in group kvm (issue 15).
    assert "SocketGroup=vdsm\n" in dropin.read_text()


def test_libvirt_outdated_block_replaced(root):
    target = target_mod.load(str(root))
    libvirt.configure(target)
    qemu = root / "etc/libvirt/qemu.conf"
    qemu.write_text(qemu.read_text().replace("vnc_tls = 0", "vnc_tls = 1"))
    assert any("outdated" in p for p in libvirt.is_configured(target))
    libvirt.configure(target)
    assert libvirt.is_configured(target) == []
    assert qemu.read_text().count(files.BEGIN) == 1


def test_libvirt_not_installed(root):
    (root / "etc/libvirt/qemu.conf").unlink()
    target = target_mod.load(str(root))
    assert any("is libvirt installed" in p
               for p in libvirt.is_configured(target))
    assert run(root, "configure", "--module", "libvirt") == 1


def test_libvirt_sanlock_lock_manager(root):
    """qemu.conf names the sanlock lock manager and qemu-sanlock.conf
    leaves the leases to vdsm, as upstream; the distribution's active
    lines for those keys are disabled, the rest of the file kept."""
    conf = root / "etc/libvirt/qemu-sanlock.conf"
    original = conf.read_text() + "auto_disk_leases = 1\n"
    conf.write_text(original)
    target = target_mod.load(str(root))
    assert any("qemu-sanlock.conf: conflicting setting" in p
               for p in libvirt.is_configured(target))
    libvirt.configure(target)
    text = conf.read_text()
    assert files.block_lines(text) == ["auto_disk_leases = 0",
                                       "require_lease_for_disks = 0"]
    assert files.strip_block(text).replace(files.DISABLED, "") == original
    assert 'lock_manager = "sanlock"' in files.block_lines(
        (root / "etc/libvirt/qemu.conf").read_text())
    assert libvirt.is_configured(target) == []


def test_libvirt_sanlock_plugin_not_installed(root):
    (root / "etc/libvirt/qemu-sanlock.conf").unlink()
    target = target_mod.load(str(root))
    assert any("is libvirt-sanlock installed" in p
               for p in libvirt.is_configured(target))
    before = tree_bytes(root)
    assert run(root, "configure", "--module", "libvirt") == 1
    assert tree_bytes(root) == before


def test_sanlock(root):
    target = target_mod.load(str(root))
    sanlock.configure(target)
    assert "sanlock" in target.group_members("kvm")
    text = (root / "etc/sanlock/sanlock.conf").read_text()
    assert files.block_lines(text) == ["max_worker_threads = 50"]
    assert sanlock.is_configured(target) == []


def test_lvm_block_in_lvmlocal(root):
    target = target_mod.load(str(root))
    assert lvm.is_configured(target)
    lvm.configure(target)
    text = (root / "etc/lvm/lvmlocal.conf").read_text()
    assert '    hints = "none"' in files.block_lines(text)
    assert lvm.is_configured(target) == []
    with open("/etc/lvm/lvm.conf") as f:
        assert (root / "etc/lvm/lvm.conf").read_text() == pristine(f.read())


def test_lvm_without_lvm_conf(root, capsys):
    (root / "etc/lvm/lvm.conf").unlink()
    assert run(root, "is-configured", "--module", "lvm") == 0
    assert "lvm2 is not installed" in capsys.readouterr().out
    before = tree_bytes(root)
    assert run(root, "configure", "--module", "lvm") == 0
    assert tree_bytes(root) == before
