"""vdsm-tool's certificates module against a temporary root."""

from __future__ import annotations

import os
import stat

import pytest

from fixtures.trees import tree_bytes

from vdsm.tool import certificates, main, target as target_mod
from vdsm.tool.errors import ConfigureError


@pytest.fixture
def root(tmp_path):
    return tmp_path



def test_not_configured_on_empty_root(root):
    assert main.main(["--root", str(root), "is-configured"]) == 1


def test_configure_creates_pki_with_modes(root):
    assert main.main(["--root", str(root), "configure",
                      "--module", "certificates"]) == 0
    pki_dir = root / "etc/pki/vdsm"
    modes = {
        "keys": 0o750, "keys/vdsmkey.pem": 0o440, "keys/cakey.pem": 0o400,
        "certs": 0o755, "certs/vdsmcert.pem": 0o644,
        "certs/cacert.pem": 0o644,
    }
    for rel, mode in modes.items():
        assert stat.S_IMODE(os.stat(pki_dir / rel).st_mode) == mode, rel
    assert main.main(["--root", str(root), "is-configured",
                      "--module", "certificates"]) == 0


def test_configure_twice_is_byte_identical(root):
    target = target_mod.load(str(root))
    assert certificates.configure(target)
    before = tree_bytes(root)
    assert certificates.configure(target) == []
    assert tree_bytes(root) == before


def test_never_replaced_without_force(root):
    target = target_mod.load(str(root))
    certificates.configure(target)
    key = root / "etc/pki/vdsm/keys/vdsmkey.pem"
    old = key.read_bytes()
    cmd = ["--root", str(root), "configure", "--module", "certificates"]
    assert main.main(cmd) == 0
    assert key.read_bytes() == old
    assert main.main(cmd + ["--force"]) == 0
    assert key.read_bytes() != old
    assert certificates.is_configured(target) == []


def test_partial_pki_is_refused_without_force(root):
    target = target_mod.load(str(root))
    certificates.configure(target)
    cert = root / "etc/pki/vdsm/certs/vdsmcert.pem"
    cert.unlink()
    key = root / "etc/pki/vdsm/keys/vdsmkey.pem"
    old = key.read_bytes()
    assert certificates.is_configured(target)
    with pytest.raises(ConfigureError, match="partial PKI"):
        certificates.configure(target)
    assert key.read_bytes() == old
    assert not cert.exists()
    assert main.main(["--root", str(root), "configure",
                      "--module", "certificates"]) == 1
    certificates.configure(target, force=True)
    assert certificates.is_configured(target) == []


def test_mismatched_key_is_reported(root, tmp_path_factory):
    target = target_mod.load(str(root))
    certificates.configure(target)
    other = target_mod.load(str(tmp_path_factory.mktemp("other")))
    certificates.configure(other)
    key = "etc/pki/vdsm/keys/vdsmkey.pem"
    os.chmod(root / key, 0o600)
    with open(os.path.join(other.root, key), "rb") as f:
        (root / key).write_bytes(f.read())
    os.chmod(root / key, 0o440)
    problems = certificates.is_configured(target)
    assert any("does not match" in p for p in problems)


def test_wrong_mode_is_reported_and_fixed(root):
    target = target_mod.load(str(root))
    certificates.configure(target)
    key = root / "etc/pki/vdsm/keys/vdsmkey.pem"
    os.chmod(key, 0o644)
    assert any("mode 644" in p for p in certificates.is_configured(target))
    assert certificates.configure(target) == [f"chmod 440 {key}"]
    assert certificates.is_configured(target) == []


@pytest.mark.root
def test_owned_by_vdsm_user_when_it_exists(root):
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    etc = root / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0::/root:/bin/sh\n"
                                "vdsm:x:4036:4036::/var/lib/vdsm:/bin/false\n")
    (etc / "group").write_text("root:x:0:\nkvm:x:4036:\n")
    target = target_mod.load(str(root))
    certificates.configure(target)
    st = os.stat(root / "etc/pki/vdsm/keys/vdsmkey.pem")
    assert (st.st_uid, st.st_gid) == (4036, 4036)
    st = os.stat(root / "etc/pki/vdsm/keys")
    assert (st.st_uid, st.st_gid) == (0, 4036)
    st = os.stat(root / "etc/pki/vdsm/keys/cakey.pem")
    assert (st.st_uid, st.st_gid) == (0, 0)
    assert certificates.is_configured(target) == []

