"""The shipped hooks, run as vdsmd runs them (vdsm.hooks.run)."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET

import pytest

from vdsm import hooks

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

DOMAIN = """<domain type='kvm'><name>t</name>
<cpu mode='{mode}'>{extra}</cpu><devices/></domain>"""


def install(hooks_dir, name: str) -> None:
    point = hooks_dir / "before_vm_start"
    point.mkdir(exist_ok=True)
    src = os.path.join(TOP, "vdsm_hooks", name, "before_vm_start.py")
    shutil.copy(src, point / f"50_{name}")


def test_faqemu_emulates_kvm(tmp_path):
    install(tmp_path, "faqemu")
    out = ET.fromstring(hooks.run(str(tmp_path), "before_vm_start",
                                  DOMAIN.format(mode="host-passthrough",
                                                extra="")))
    assert out.get("type") == "qemu"
    assert out.find("cpu") is None


def test_faqemu_keeps_custom_cpu(tmp_path):
    install(tmp_path, "faqemu")
    out = ET.fromstring(hooks.run(
        str(tmp_path), "before_vm_start",
        DOMAIN.format(mode="custom", extra="<model>qemu64</model>")))
    assert out.get("type") == "qemu"
    assert out.findtext("cpu/model") == "qemu64"


def fake_sys(tmp_path, module: str, value: str) -> str:
    # A sysfs stand-in: this host may not have nested virtualization.
    params = tmp_path / "sys" / "module" / module / "parameters"
    params.mkdir(parents=True)
    (params / "nested").write_text(value + "\n")
    return str(tmp_path / "sys")


@pytest.mark.parametrize("module,feature", [("kvm_intel", "vmx"),
                                            ("kvm_amd", "svm")])
def test_nestedvt_requires_feature(tmp_path, module, feature):
    install(tmp_path, "nestedvt")
    sys_root = fake_sys(tmp_path, module, "Y")
    out = ET.fromstring(hooks.run(
        str(tmp_path), "before_vm_start",
        DOMAIN.format(mode="custom", extra="<model>qemu64</model>"),
        env={"NESTEDVT_SYS_ROOT": sys_root}))
    features = [(f.get("name"), f.get("policy"))
                for f in out.findall("cpu/feature")]
    assert features == [(feature, "require")]


def test_nestedvt_without_nested_changes_nothing(tmp_path):
    install(tmp_path, "nestedvt")
    sys_root = fake_sys(tmp_path, "kvm_intel", "N")
    xml = DOMAIN.format(mode="custom", extra="")
    assert hooks.run(str(tmp_path), "before_vm_start", xml,
                     env={"NESTEDVT_SYS_ROOT": sys_root}) == xml


def test_nestedvt_host_passthrough_has_it_already(tmp_path):
    install(tmp_path, "nestedvt")
    sys_root = fake_sys(tmp_path, "kvm_intel", "1")
    xml = DOMAIN.format(mode="host-passthrough", extra="")
    assert hooks.run(str(tmp_path), "before_vm_start", xml,
                     env={"NESTEDVT_SYS_ROOT": sys_root}) == xml
