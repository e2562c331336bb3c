from __future__ import annotations

import os
import uuid

import pytest

from vdsm.api import host_caps_wire
from vdsm.host import hardware

DMI = {
    "sys_vendor": "Red Hat\n",
    "product_name": "KVM\n",
    "product_version": "RHEL 7.6.0 PC (i440FX + PIIX, 1996)\n",
    "product_serial": "Not Specified\n",           # a placeholder
    "product_uuid": "36333932-3634-4252-4332-30363052334E\n",
}


@pytest.fixture
def dmi_dir(tmp_path):
    for name, text in DMI.items():
        (tmp_path / name).write_text(text)
    # Unreadable even for root: a directory where a file is expected.
    (tmp_path / "product_family").mkdir()
    return tmp_path


def test_hardware_info(dmi_dir):
    assert hardware.hardware_info(str(dmi_dir)) == hardware.HardwareInfo(
        manufacturer="Red Hat", product_name="KVM",
        version="RHEL 7.6.0 PC (i440FX + PIIX, 1996)",
        uuid="36333932-3634-4252-4332-30363052334E")


def test_hardware_info_wire(dmi_dir):
    info = hardware.hardware_info(str(dmi_dir))
    assert host_caps_wire.hardware_info(info) == {
        "systemManufacturer": "Red Hat",
        "systemProductName": "KVM",
        "systemVersion": "RHEL 7.6.0 PC (i440FX + PIIX, 1996)",
        "systemUUID": "36333932-3634-4252-4332-30363052334E",
    }


def test_hardware_info_without_dmi(tmp_path):
    info = hardware.hardware_info(str(tmp_path / "missing"))
    assert info == hardware.HardwareInfo()
    assert host_caps_wire.hardware_info(info) == {}


def test_hardware_info_real():
    info = hardware.hardware_info()
    for name, file_name in hardware.DMI_FIELDS.items():
        path = os.path.join(hardware.DMI_DIR, file_name)
        if getattr(info, name) is not None:
            with open(path) as f:
                assert getattr(info, name) == f.read().strip()
        else:
            # Left out: missing, unreadable or a placeholder.
            try:
                with open(path) as f:
                    text = f.read().strip().lower()
            except OSError:
                continue
            assert text in hardware._PLACEHOLDERS


def test_host_uuid_prefers_vdsm_id(tmp_path, dmi_dir):
    vdsm_id = tmp_path / "vdsm.id"
    vdsm_id.write_text("my-host-id\n")
    assert hardware.host_uuid(str(vdsm_id), str(dmi_dir)) == "my-host-id"


def test_host_uuid_from_dmi(tmp_path, dmi_dir):
    assert hardware.host_uuid(str(tmp_path / "none"), str(dmi_dir)) == \
        "36333932-3634-4252-4332-30363052334e"


def test_host_uuid_skips_placeholder_dmi(tmp_path, dmi_dir):
    (dmi_dir / "product_uuid").write_text(
        "00000000-0000-0000-0000-000000000000\n")
    machine_id = tmp_path / "machine-id"
    machine_id.write_text("3d1219c7c4c5404aaa1f6d2a48adfda4\n")
    assert hardware.host_uuid(str(tmp_path / "none"), str(dmi_dir),
                              str(machine_id)) == \
        "3d1219c7-c4c5-404a-aa1f-6d2a48adfda4"


def test_host_uuid_nothing(tmp_path):
    with pytest.raises(OSError):
        hardware.host_uuid(str(tmp_path / "a"), str(tmp_path / "b"),
                           str(tmp_path / "c"))


def test_host_uuid_real():
    value = hardware.host_uuid()
    if not os.path.exists(hardware.VDSM_ID):
        uuid.UUID(value)
