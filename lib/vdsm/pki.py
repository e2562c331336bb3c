"""Host PKI: a self-signed CA and a host certificate signed by it.

Paths follow upstream under one root (``[pki] pki_dir``, default
``/etc/pki/vdsm``): ``keys/vdsmkey.pem``, ``certs/vdsmcert.pem``,
``certs/cacert.pem``, and ``keys/cakey.pem`` for a CA made here. The same
files serve as server and client credentials (one vdsmd calling another).
Keys are 0400/0440-style private (0600 here, owner only); certs 0644.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_SIZE = 2048
VALID_DAYS = 5 * 365


@dataclass(frozen=True)
class Paths:
    root: str

    @property
    def key(self) -> str:
        return os.path.join(self.root, "keys", "vdsmkey.pem")

    @property
    def cert(self) -> str:
        return os.path.join(self.root, "certs", "vdsmcert.pem")

    @property
    def ca_cert(self) -> str:
        return os.path.join(self.root, "certs", "cacert.pem")

    @property
    def ca_key(self) -> str:
        return os.path.join(self.root, "keys", "cakey.pem")

    def all(self) -> list[str]:
        return [self.key, self.cert, self.ca_cert, self.ca_key]

    def exists(self) -> bool:
        return all(os.path.exists(p) for p in (self.key, self.cert,
                                               self.ca_cert))


def create(paths: Paths, force: bool = False,
           hostname: str | None = None) -> bool:
    """Make a CA and a host cert signed by it; return True if made.

    Never replaces an existing PKI unless ``force``.
    """
    if paths.exists() and not force:
        return False
    hostname = hostname or socket.getfqdn()
    ca_key = _new_key()
    ca_cert = _ca_certificate(ca_key, f"VDSM Certificate Authority {hostname}")
    host_key = _new_key()
    host_cert = issue(ca_key, ca_cert, host_key, hostname)
    _write(paths.ca_key, _key_pem(ca_key), 0o600)
    _write(paths.ca_cert, _cert_pem(ca_cert), 0o644)
    _write(paths.key, _key_pem(host_key), 0o600)
    _write(paths.cert, _cert_pem(host_cert), 0o644)
    return True


def issue(ca_key: rsa.RSAPrivateKey, ca_cert: x509.Certificate,
          key: rsa.RSAPrivateKey, common_name: str,
          addresses: list[str] | tuple[str, ...] = ()) -> x509.Certificate:
    """Sign a certificate for ``key``, usable as TLS server and client.

    Its names: ``common_name``, localhost, the loopback addresses and
    ``addresses`` (IP addresses the host is reached at).
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    sans: list[x509.GeneralName] = [x509.DNSName(common_name),
                                    x509.DNSName("localhost")]
    for addr in ("127.0.0.1", "::1", *addresses):
        sans.append(x509.IPAddress(ipaddress.ip_address(addr)))
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                       critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH,
             ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def load_ca(paths: Paths) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    with open(paths.ca_key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    with open(paths.ca_cert, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    assert isinstance(key, rsa.RSAPrivateKey)
    return key, cert


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "VDSM"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca_certificate(key: rsa.RSAPrivateKey, cn: str) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0),
                       critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: str, data: bytes, mode: int) -> None:
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.rename(tmp, path)
