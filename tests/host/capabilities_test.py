"""Host.getCapabilities on this host's real data, and with the parts that
may be missing on a host taken away for real: libvirtd unreachable (a
socket that does not exist), no iSCSI initiator name, no DMI and no
machine id. Each gives its empty value; the answer stays complete and
valid for the schema in strict mode (what the engine parses).
"""

from __future__ import annotations

import os

import pytest

from vdsm.api import host_caps_wire, host_wire, schema
from vdsm.common.config import Config
from vdsm.host import capabilities, hardware, hba, libvirtcaps, osinfo
from vdsm.storage import constants as sc

NO_LIBVIRT = "qemu+unix:///system?socket=/nonexistent/libvirt-sock"


@pytest.fixture(scope="module")
def strict():
    return schema.Schema(strict=True)


def _wire(caps):
    return host_wire.compose_capabilities(
        host_caps_wire.capabilities(caps), {"netConfigDirty": "False"}, {})


def _caps():
    return capabilities.capabilities(Config(), osinfo.PackageCache(),
                                     ("127.0.0.1", 54321))


def test_engine_keys(strict):
    wire = _wire(_caps())
    strict.check_result("Host.getCapabilities", wire)
    assert set(wire["HBAInventory"]) == {"iSCSI", "FC"}
    name = hba.initiator_name()
    if name:
        assert wire["HBAInventory"]["iSCSI"] == [{"InitiatorName": name}]
    assert wire["ISCSIInitiatorName"] == name
    assert wire["domain_versions"] == list(sc.DOMAIN_VERSIONS)
    sizes = wire["supported_block_size"]
    assert set(sizes) == {"FCP", "GLUSTERFS", "ISCSI", "LOCALFS", "NFS",
                          "POSIXFS"}
    for name in ("LOCALFS", "NFS", "POSIXFS"):
        assert 0 in sizes[name]
    assert sizes["FCP"] == sizes["ISCSI"] == sizes["GLUSTERFS"] == []
    for flag in ("backupEnabled", "coldBackupEnabled",
                 "clearBitmapsEnabled"):
        assert wire[flag] is False
    assert wire["reservedMem"].isdigit()


def test_failing_parts_give_defaults(monkeypatch, tmp_path, strict, caplog):
    monkeypatch.setattr(capabilities, "query_libvirt",
                        lambda: libvirtcaps.query(NO_LIBVIRT))
    monkeypatch.setattr(hba, "INITIATOR_NAME_FILE",
                        str(tmp_path / "initiatorname.iscsi"))
    monkeypatch.setattr(hba, "FC_HOST_DIR", str(tmp_path / "fc_host"))
    monkeypatch.setattr(
        capabilities.hardware, "host_uuid",
        lambda: hardware.host_uuid(str(tmp_path / "vdsm.id"),
                                   str(tmp_path / "dmi"),
                                   str(tmp_path / "machine-id")))
    caps = _caps()
    assert caps.libvirt == libvirtcaps.LibvirtCaps()
    assert caps.host_uuid == ""
    wire = _wire(caps)
    strict.check_result("Host.getCapabilities", wire)
    assert wire["emulatedMachines"] == []
    assert wire["HBAInventory"] == {"iSCSI": [], "FC": []}
    assert wire["ISCSIInitiatorName"] == ""
    assert wire["uuid"] == ""
    # The rest is still this host's.
    assert int(wire["cpuThreads"]) == os.cpu_count()
    assert "caps-part=libvirt" in caplog.text
    assert "caps-part=uuid" in caplog.text
