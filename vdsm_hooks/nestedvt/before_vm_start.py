#!/usr/bin/python3
"""nestedvt: pass hardware virtualization (vmx/svm) through to guests.

Installed as before_vm_start/50_nestedvt. When the host's kvm module has
nested virtualization on (``/sys/module/kvm_intel/parameters/nested`` or
``kvm_amd``'s reads Y or 1), the guest CPU gets
``<feature policy='require' name='vmx'/>`` (``svm`` on AMD), so every
guest can run KVM itself. A host-passthrough CPU already has it. On a host
without nested support the XML is left as it is.

``NESTEDVT_SYS_ROOT`` (default ``/sys``) names the sysfs root to read.
"""

import os
import sys
import xml.etree.ElementTree as ET

MODULES = (("kvm_intel", "vmx"), ("kvm_amd", "svm"))


def nested_feature(sys_root: str) -> str | None:
    """vmx or svm when nested virtualization is on, else None."""
    for module, feature in MODULES:
        path = os.path.join(sys_root, "module", module, "parameters",
                            "nested")
        try:
            with open(path) as f:
                value = f.read().strip()
        except OSError:
            continue
        if value in ("Y", "y", "1"):
            return feature
    return None


def require(root: ET.Element, feature: str) -> bool:
    """Require feature of the guest CPU; True if anything changed."""
    cpu = root.find("cpu")
    if cpu is None:
        cpu = ET.SubElement(root, "cpu", match="exact")
        ET.SubElement(cpu, "model", fallback="allow").text = "qemu64"
    if cpu.get("mode") == "host-passthrough":
        return False
    for elem in cpu.findall("feature"):
        if elem.get("name") == feature:
            if elem.get("policy") == "require":
                return False
            elem.set("policy", "require")
            return True
    ET.SubElement(cpu, "feature", policy="require", name=feature)
    return True


def main() -> int:
    feature = nested_feature(os.environ.get("NESTEDVT_SYS_ROOT", "/sys"))
    if feature is None:
        return 0
    path = os.environ["_hook_domxml"]
    tree = ET.parse(path)
    if require(tree.getroot(), feature):
        tree.write(path, encoding="unicode")
    return 0


if __name__ == "__main__":
    sys.exit(main())
