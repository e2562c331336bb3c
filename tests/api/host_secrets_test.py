"""Host.registerSecrets / unregisterSecrets end to end: a real vdsmd
defines secrets in the real libvirtd; checked through libvirt itself."""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest

from vdsm.client import ServerError


def _secret(value=b"AQBkey==", usage_type="ceph", prefix="ovirt/"):
    sid = str(uuid.uuid4())
    return {"uuid": sid, "usageType": usage_type,
            "usageID": f"{prefix}{sid}",
            "password": base64.b64encode(value).decode(),
            "description": "cinder key"}


@pytest.fixture
def con(libvirtd):
    conn = libvirt.open("qemu:///system")
    before = {s.UUIDString() for s in conn.listAllSecrets()}
    yield conn
    for s in conn.listAllSecrets():
        if s.UUIDString() not in before:
            s.undefine()
    conn.close()


def _lookup(con, sid):
    try:
        return con.secretLookupByUUIDString(sid)
    except libvirt.libvirtError:
        return None


def test_register_unregister(vdsmd, con):
    sec = _secret()
    with vdsmd.client() as cli:
        cli.Host.registerSecrets(secrets=[sec])
        virsec = _lookup(con, sec["uuid"])
        assert virsec is not None
        assert virsec.usageID() == sec["usageID"]
        assert virsec.usageType() == libvirt.VIR_SECRET_USAGE_TYPE_CEPH
        root = ET.fromstring(virsec.XMLDesc())
        assert root.get("ephemeral") == "yes"
        assert root.get("private") == "yes"
        assert root.findtext("description") == "cinder key"
        # Private: the value never comes back out of libvirtd.
        with pytest.raises(libvirt.libvirtError):
            virsec.value()
        cli.Host.unregisterSecrets(uuids=[sec["uuid"]])
        assert _lookup(con, sec["uuid"]) is None
        # An unknown uuid is no error.
        cli.Host.unregisterSecrets(uuids=[sec["uuid"]])
    assert sec["password"] not in vdsmd.log()


def test_register_clear_keeps_only_given(vdsmd, con):
    old, kept, new = _secret(), _secret(), _secret()
    foreign = _secret(prefix="other/")
    with vdsmd.client() as cli:
        cli.Host.registerSecrets(secrets=[old, kept, foreign])
        cli.Host.registerSecrets(secrets=[kept, new], clear=True)
    assert _lookup(con, old["uuid"]) is None
    assert _lookup(con, kept["uuid"]) is not None
    assert _lookup(con, new["uuid"]) is not None
    # Not an oVirt secret: left alone.
    assert _lookup(con, foreign["uuid"]) is not None


def test_register_again_other_usage(vdsmd, con):
    sec = _secret()
    with vdsmd.client() as cli:
        cli.Host.registerSecrets(secrets=[sec])
        sec["usageID"] = "ovirt/renamed"
        cli.Host.registerSecrets(secrets=[sec])
    assert _lookup(con, sec["uuid"]).usageID() == "ovirt/renamed"


@pytest.mark.parametrize("bad", [
    {"password": "not base64!"},
    {"usageType": "tls"},
    {"uuid": "not-a-uuid"},
])
def test_bad_secret_changes_nothing(vdsmd, con, bad):
    good = _secret()
    with vdsmd.client() as cli:
        with pytest.raises(ServerError) as e:
            cli.Host.registerSecrets(secrets=[good, {**_secret(), **bad}])
    assert e.value.code in (72, -32602)
    assert _lookup(con, good["uuid"]) is None


def test_bad_unregister_uuid(vdsmd, con):
    with vdsmd.client() as cli:
        with pytest.raises(ServerError) as e:
            cli.Host.unregisterSecrets(uuids=["not-a-uuid"])
    assert e.value.code == 72
