"""Host.hostdevListByCaps end to end: a real vdsmd, this host's libvirtd.

The answer is compared with ``virsh nodedev-list``. Other tests may create
and remove network devices (veth pairs) meanwhile, so a device counts as
"listed" only when virsh lists it both before and after the call.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from fixtures.hookscripts import py_script
from vdsm import client
from vdsm.api import schema

HEX_ID = re.compile(r"^0x[0-9a-f]{4}$")


def virsh_nodedevs(cap: str | None = None) -> set[str]:
    cmd = ["virsh", "-c", "qemu:///system", "nodedev-list"]
    if cap:
        cmd += ["--cap", cap]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         timeout=60).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def strict():
    return schema.Schema(strict=True)


def test_every_device_listed(vdsmd, libvirtd, strict):
    before = virsh_nodedevs()
    with vdsmd.client() as cli:
        devices = cli.Host.hostdevListByCaps()
    after = virsh_nodedevs()
    strict.check_result("Host.hostdevListByCaps", devices)
    assert before & after <= set(devices)
    assert set(devices) <= before | after
    for name, device in devices.items():
        params = device["params"]
        parent = params.get("parent")
        if name == "computer":
            assert parent is None
            assert params["capability"] == "system"
        else:
            assert parent in devices or parent not in virsh_nodedevs()


def test_pci_devices(vdsmd, libvirtd):
    with vdsmd.client() as cli:
        devices = cli.Host.hostdevListByCaps(caps=["pci"])
    assert set(devices) == virsh_nodedevs("pci")
    for name, device in devices.items():
        params = device["params"]
        assert params["capability"] == "pci"
        assert HEX_ID.match(params["vendor_id"]), params
        assert HEX_ID.match(params["product_id"]), params
        assert params["is_assignable"] in ("true", "false")
        address = params["address"]
        # pci_0000_00_03_0 <-> domain 0 bus 0 slot 3 function 0
        parts = [int(p, 16) for p in name.split("_")[1:]]
        assert parts == [int(address[k]) for k in
                         ("domain", "bus", "slot", "function")]


def test_net_devices_name_their_interface(vdsmd, libvirtd):
    with vdsmd.client() as cli:
        devices = cli.Host.hostdevListByCaps(caps=["net"])
    assert devices, "libvirt lists no net device (lo at least)"
    for name, device in devices.items():
        params = device["params"]
        assert params["capability"] == "net"
        assert name.startswith(f"net_{params['interface']}_")


def test_caps_filter(vdsmd, libvirtd):
    with vdsmd.client() as cli:
        everything = cli.Host.hostdevListByCaps(caps=[])
        system = cli.Host.hostdevListByCaps(caps=["system"])
        mixed = cli.Host.hostdevListByCaps(caps=["system", "pci"])
    assert list(system) == ["computer"]
    assert set(mixed) == {n for n, d in everything.items()
                          if d["params"]["capability"] in ("system", "pci")}


def test_unknown_cap_selects_nothing(vdsmd, libvirtd):
    with vdsmd.client() as cli:
        assert cli.Host.hostdevListByCaps(caps=["no-such-cap"]) == {}


@pytest.mark.parametrize("caps", ["pci", [1], {"pci": True}, [None]])
def test_wrong_types_refused(vdsmd, caps):
    with vdsmd.client() as cli:
        with pytest.raises(client.ServerError) as e:
            cli.call("Host.hostdevListByCaps", {"caps": caps})
        assert e.value.code == -32602
        assert cli.Host.ping2() is True


def test_after_hook_edits_the_answer(vdsmd_factory, libvirtd, tmp_path):
    hooks_dir = tmp_path / "hooks"
    hooks_dir.mkdir()
    py_script(hooks_dir, "after_hostdev_list_by_caps", "10",
              'data["computer"]["params"]["vendor"] = "hooked"')
    daemon = vdsmd_factory({"vars": {"hooks_dir": str(hooks_dir)}})
    with daemon.client() as cli:
        devices = cli.Host.hostdevListByCaps(caps=["system"])
    assert devices["computer"]["params"]["vendor"] == "hooked"
