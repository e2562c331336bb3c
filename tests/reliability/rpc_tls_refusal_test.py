"""Issue 15 item 8: every refused TLS client leaves one line with its
address and OpenSSL's reason, and a scan leaves a bounded number.

No certificate, another CA, an expired certificate, a server-only
certificate (wrong EKU), TLS 1.1, plaintext and a client that never
finishes its handshake are each one REFUSE line naming the client's
address and port.
"""

from __future__ import annotations

import datetime
import ssl
import time
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fixtures.stomp_peer import client_context, tcp_connect
from vdsm import pki
from vdsm.rpc import server


def refusal_of(daemon, sock_port):
    return [line for line in daemon.log().splitlines()
            if "REFUSE " in line and f"client=127.0.0.1:{sock_port} " in line]


def handshake(daemon, ctx, wait_refusal=True):
    sock = tcp_connect(daemon, 10)
    port = sock.getsockname()[1]
    try:
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            tls = ctx.wrap_socket(sock)
            # TLS 1.3: a refused client certificate shows at first read.
            tls.settimeout(10)
            if not tls.recv(1):
                raise ConnectionResetError("closed")
    finally:
        sock.close()
    return port


def wait_for_line(daemon, port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = refusal_of(daemon, port)
        if lines:
            return lines
        time.sleep(0.05)
    return []


def certificate(tmp_path, ca_paths, name, days=(-1, 365), eku=None):
    ca_key, ca_cert = pki.load_ca(ca_paths)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                    name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=days[0]))
        .not_valid_after(now + datetime.timedelta(days=days[1])))
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku),
                                        critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    cert_path = tmp_path / f"{name}.pem"
    key_path = tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def context_with(daemon, cert_key):
    ctx = client_context(daemon, cert=False)
    ctx.load_cert_chain(*cert_key)
    return ctx


@pytest.mark.parametrize("kind", ["no-certificate", "other-ca", "expired",
                                  "server-only-eku", "tls1.1"])
def test_refused_tls_client_logged_once(vdsmd, tmp_path, kind):
    if kind == "no-certificate":
        ctx = client_context(vdsmd, cert=False)
    elif kind == "other-ca":
        other = pki.Paths(str(tmp_path / "other"))
        pki.create(other, hostname="localhost")
        ctx = context_with(vdsmd, (other.cert, other.key))
    elif kind == "expired":
        ctx = context_with(vdsmd, certificate(tmp_path, vdsmd.pki, "old",
                                              days=(-30, -1)))
    elif kind == "server-only-eku":
        ctx = context_with(vdsmd, certificate(
            tmp_path, vdsmd.pki, "srv", eku=[ExtendedKeyUsageOID.SERVER_AUTH]))
    else:
        ctx = client_context(vdsmd)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    port = handshake(vdsmd, ctx)
    lines = wait_for_line(vdsmd, port)
    assert len(lines) == 1, lines
    assert "tls=true" in lines[0]
    assert "reason=" in lines[0]
    print(f"\n{kind}: {lines[0].split('REFUSE ', 1)[1]}")
    with vdsmd.client() as good:
        assert good.Host.ping2() is True


def test_plaintext_and_silent_clients_logged(vdsmd_factory):
    daemon = vdsmd_factory({"vars": {"ssl_handshake_timeout": "1"}})
    plain = tcp_connect(daemon)
    plain_port = plain.getsockname()[1]
    plain.sendall(b"CONNECT\naccept-version:1.2\n\n\0")
    silent = tcp_connect(daemon)
    silent_port = silent.getsockname()[1]
    try:
        plain_lines = wait_for_line(daemon, plain_port)
        silent_lines = wait_for_line(daemon, silent_port)
    finally:
        plain.close()
        silent.close()
    assert len(plain_lines) == 1, plain_lines
    assert len(silent_lines) == 1, silent_lines
    assert "reason='handshake timeout'" in silent_lines[0]


def test_scan_logged_rate_limited(vdsmd):
    for _ in range(3 * server.REFUSALS_BURST):
        sock = tcp_connect(vdsmd)
        try:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            sock.settimeout(10)
            try:
                while sock.recv(4096):
                    pass
            except OSError:
                pass
        finally:
            sock.close()
    with vdsmd.client() as good:
        assert good.Host.ping2() is True
    lines = [line for line in vdsmd.log().splitlines() if "REFUSE " in line]
    assert 1 <= len(lines) <= server.REFUSALS_BURST, len(lines)
