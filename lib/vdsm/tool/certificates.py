"""configure module ``certificates``: the host's PKI for vdsmd's TLS.

Makes a CA and a host certificate with ``vdsm.pki.create`` under
``[pki] pki_dir`` when there is none. An existing PKI (even a partial one)
is never replaced without ``--force``. Modes: ``keys/`` 0750 root:kvm,
``keys/vdsmkey.pem`` 0440 vdsm:kvm, ``keys/cakey.pem`` 0400 root,
``certs/`` 0755 and certificates 0644 root (the vdsm user and group are
those of ``[vars] user``/``group``, and are applied when they exist).
"""

from __future__ import annotations

import datetime
import os
import socket

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from vdsm import pki
from vdsm.tool.errors import ConfigureError
from vdsm.tool.target import Target

NAME = "certificates"


def paths(target: Target) -> pki.Paths:
    return pki.Paths(target.path(target.config.get("pki", "pki_dir")))


def is_configured(target: Target) -> list[str]:
    """Problems that keep the PKI from being usable; empty when fine."""
    p = paths(target)
    missing = [f for f in (p.key, p.cert, p.ca_cert) if not os.path.exists(f)]
    if missing:
        return [f"missing {f}" for f in missing]
    problems = _check_content(p)
    for path, mode, owner in _layout(target, p):
        problems.extend(_check_file(path, mode, owner))
    return problems


def configure(target: Target, force: bool = False) -> list[str]:
    """Create the PKI if needed (or always with ``force``), fix modes."""
    p = paths(target)
    present = [f for f in (p.key, p.cert, p.ca_cert) if os.path.exists(f)]
    changes = []
    if force or not present:
        pki.create(p, force=True, hostname=socket.getfqdn())
        changes.append(f"created PKI in {p.root}")
    elif len(present) < 3:
        raise ConfigureError(
            f"partial PKI in {p.root} (present: {', '.join(present)}); "
            "rerun with --force to replace it")
    for path, mode, owner in _layout(target, p):
        changes.extend(_fix_file(path, mode, owner))
    return changes


def _layout(target: Target, p: pki.Paths
            ) -> list[tuple[str, int, tuple[int, int] | None]]:
    vdsm = _vdsm_owner(target)
    kvm_gid = vdsm[1] if vdsm else None
    keys_dir = os.path.dirname(p.key)
    layout: list[tuple[str, int, tuple[int, int] | None]] = [
        (keys_dir, 0o750, (0, kvm_gid) if kvm_gid is not None else None),
        (p.key, 0o440, vdsm),
        (os.path.dirname(p.cert), 0o755, (0, 0)),
        (p.cert, 0o644, (0, 0)),
        (p.ca_cert, 0o644, (0, 0)),
    ]
    if os.path.exists(p.ca_key):
        layout.append((p.ca_key, 0o400, (0, 0)))
    return layout


def _vdsm_owner(target: Target) -> tuple[int, int] | None:
    user = target.user(target.config.get("vars", "user"))
    gid = target.group_gid(target.config.get("vars", "group"))
    if user is None or gid is None:
        return None
    return user.uid, gid


def _check_file(path: str, mode: int, owner: tuple[int, int] | None
                ) -> list[str]:
    st = os.stat(path)
    problems = []
    if st.st_mode & 0o7777 != mode:
        problems.append(f"{path} has mode {st.st_mode & 0o7777:o}, "
                        f"expected {mode:o}")
    if owner and os.geteuid() == 0 and (st.st_uid, st.st_gid) != owner:
        problems.append(f"{path} is owned by {st.st_uid}:{st.st_gid}, "
                        f"expected {owner[0]}:{owner[1]}")
    return problems


def _fix_file(path: str, mode: int, owner: tuple[int, int] | None
              ) -> list[str]:
    st = os.stat(path)
    changes = []
    if owner and os.geteuid() == 0 and (st.st_uid, st.st_gid) != owner:
        os.chown(path, *owner)
        changes.append(f"chown {owner[0]}:{owner[1]} {path}")
    if st.st_mode & 0o7777 != mode:
        os.chmod(path, mode)
        changes.append(f"chmod {mode:o} {path}")
    return changes


def _check_content(p: pki.Paths) -> list[str]:
    try:
        with open(p.key, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        with open(p.cert, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(p.ca_cert, "rb") as f:
            ca = x509.load_pem_x509_certificate(f.read())
    except (ValueError, OSError) as e:
        return [f"unreadable PKI in {p.root}: {e}"]
    problems = []
    if _public_bytes(key.public_key()) != _public_bytes(cert.public_key()):
        problems.append(f"{p.key} does not match {p.cert}")
    if not _signed_by(cert, ca):
        problems.append(f"{p.cert} is not signed by {p.ca_cert}")
    now = datetime.datetime.utcnow()
    if not cert.not_valid_before <= now <= cert.not_valid_after:
        problems.append(f"{p.cert} is not valid now (valid "
                        f"{cert.not_valid_before}..{cert.not_valid_after})")
    return problems


def _public_bytes(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    ca_key = ca.public_key()
    algorithm = cert.signature_hash_algorithm
    if (not isinstance(ca_key, rsa.RSAPublicKey) or algorithm is None
            or cert.issuer != ca.subject):
        return False
    try:
        ca_key.verify(cert.signature, cert.tbs_certificate_bytes,
                      padding.PKCS1v15(), algorithm)
    except Exception:
        return False
    return True
