"""HBA inventory: the iSCSI initiator name from real files, the FC
adapters from a fake sysfs tree (no FC adapter can exist on a test host;
the tree has the layout the qla2xxx and lpfc drivers create)."""

from __future__ import annotations

import os

import pytest

from vdsm.api import host_caps_wire
from vdsm.host import hba

DEBIAN_FILE = """\
## DO NOT EDIT OR REMOVE THIS FILE!
## If you remove this file, the iSCSI daemon will not start.
InitiatorName=iqn.1993-08.org.debian:01:5d581cf3589
"""


def test_initiator_name(tmp_path):
    path = tmp_path / "initiatorname.iscsi"
    path.write_text(DEBIAN_FILE)
    assert hba.initiator_name(str(path)) == \
        "iqn.1993-08.org.debian:01:5d581cf3589"


def test_initiator_name_missing(tmp_path, caplog):
    assert hba.initiator_name(str(tmp_path / "missing")) == ""
    assert "NO iscsi-initiator" in caplog.text


def test_initiator_name_none_in_file(tmp_path):
    path = tmp_path / "initiatorname.iscsi"
    path.write_text("## only comments\n#InitiatorName=iqn.x:commented\n")
    assert hba.initiator_name(str(path)) == ""


def test_initiator_name_of_this_host():
    if not os.access(hba.INITIATOR_NAME_FILE, os.R_OK):
        pytest.skip("no readable /etc/iscsi/initiatorname.iscsi here")
    name = hba.initiator_name()
    assert name.startswith("iqn.")


def _fc_host(root, host, wwpn, wwnn, attrs):
    base = root / host
    base.mkdir(parents=True)
    (base / "port_name").write_text(wwpn + "\n")
    (base / "node_name").write_text(wwnn + "\n")
    scsi = base / "device" / "scsi_host" / host
    scsi.mkdir(parents=True)
    for name, value in attrs.items():
        (scsi / name).write_text(value + "\n")


def test_fc_adapters_fake_sysfs(tmp_path):
    _fc_host(tmp_path, "host3", "0x21000024ff3a1b2c", "0x20000024ff3a1b2c",
             {"model_name": "QLE2562",
              "model_desc": "8Gb Fibre Channel HBA"})
    _fc_host(tmp_path, "host4", "0x10000090fa1c2d3e", "0x20000090fa1c2d3e",
             {"modelname": "LPe12002", "modeldesc": "Emulex 8Gb FC HBA"})
    _fc_host(tmp_path, "host5", "0x10000090fa000001", "0x20000090fa000001",
             {})
    inv = hba.inventory(str(tmp_path / "none"), str(tmp_path))
    assert inv.iscsi_initiators == ()
    assert inv.fc_adapters == (
        hba.FcAdapter("21000024ff3a1b2c", "20000024ff3a1b2c",
                      "QLE2562 - 8Gb Fibre Channel HBA"),
        hba.FcAdapter("10000090fa1c2d3e", "20000090fa1c2d3e",
                      "LPe12002 - Emulex 8Gb FC HBA"),
        hba.FcAdapter("10000090fa000001", "20000090fa000001",
                      "Unknown - Unknown"))
    assert host_caps_wire.hba_inventory(inv)["FC"][0] == {
        "wwpn": "21000024ff3a1b2c", "wwnn": "20000024ff3a1b2c",
        "model": "QLE2562 - 8Gb Fibre Channel HBA"}


def test_no_fc_host_class(tmp_path):
    assert hba.fc_adapters(str(tmp_path / "fc_host")) == ()


def test_fc_adapters_of_this_host():
    # The real /sys/class/fc_host: absent on a host without FC.
    adapters = hba.fc_adapters()
    if os.path.isdir(hba.FC_HOST_DIR):
        assert len(adapters) == len(os.listdir(hba.FC_HOST_DIR))
    else:
        assert adapters == ()


def test_wire_shape_empty():
    assert host_caps_wire.hba_inventory(hba.HbaInventory((), ())) == {
        "iSCSI": [], "FC": []}
