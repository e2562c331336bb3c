#!/usr/bin/python3
"""faqemu: run kvm guests emulated (TCG).

Installed as before_vm_start/50_faqemu. For hosts without usable hardware
virtualization (nested test setups, laptops): the domain type becomes
``qemu`` and a host CPU model (host-passthrough/host-model), which TCG
cannot provide, is dropped. vdsmd does the same by itself with
``[vars] fake_kvm_support = true``; this hook is the upstream way.
"""

import os
import sys
import xml.etree.ElementTree as ET


def emulate(root: ET.Element) -> bool:
    """Turn a kvm domain into TCG; True if anything changed."""
    changed = False
    if root.get("type") == "kvm":
        root.set("type", "qemu")
        changed = True
    cpu = root.find("cpu")
    if cpu is not None and cpu.get("mode") in ("host-passthrough",
                                               "host-model"):
        root.remove(cpu)
        changed = True
    return changed


def main() -> int:
    path = os.environ["_hook_domxml"]
    tree = ET.parse(path)
    if emulate(tree.getroot()):
        tree.write(path, encoding="unicode")
    return 0


if __name__ == "__main__":
    sys.exit(main())
