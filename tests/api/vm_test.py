"""Bad input to the VM verbs: the right code, and nothing changes.

Runs a real vdsmd against the real libvirtd; only the duplicate create
starts a guest (a BIOS waiting for a boot device, under TCG).
"""

from __future__ import annotations

import uuid

import libvirt
import pytest

from vdsm import client

from fixtures.virt import StatusEvents, code_of

pytestmark = [pytest.mark.root]


def domains() -> set[str]:
    conn = libvirt.open("qemu:///system")
    try:
        return {d.UUIDString() for d in conn.listAllDomains(0)}
    finally:
        conn.close()


@pytest.fixture
def cli(virt_vdsmd):
    with virt_vdsmd.client() as c:
        yield c


def test_bad_create_changes_nothing(cli, guests):
    before_list = cli.Host.getVMList()
    before = domains()
    vm_id = str(uuid.uuid4())
    good = guests.xml(vm_id)
    cases = [
        # (params, code)
        ({"vmID": vm_id, "vmParams": {"xml": "<domain type='kvm'>"}}, 9),
        ({"vmID": vm_id, "vmParams": {"xml": "<vm/>"}}, 9),
        ({"vmID": vm_id, "vmParams": {"xml": good.replace(
            vm_id, str(uuid.uuid4()))}}, 9),
        ({"vmID": vm_id, "vmParams": {"xml": good.replace(
            "</devices>", "<disk type='file' device='disk'><source "
            "file='/nonexistent/disk.img'/><target dev='vda'/></disk>"
            "</devices>")}}, 9),
        ({"vmID": vm_id, "vmParams": {"xml": good.replace(
            "<vcpu>1</vcpu>", "<vcpu>1</vcpu><bogus/>")}}, 9),
        ({"vmID": "not-a-uuid", "vmParams": {"xml": good}}, 1000),
        ({"vmID": vm_id, "vmParams": {}}, -32602),
        ({"vmID": vm_id, "vmParams": "xml"}, -32602),
        ({"vmID": 5, "vmParams": {"xml": good}}, -32602),
        ({"vmID": vm_id, "vmParams": {"xml": 5}}, -32602),
        ({"vmID": vm_id, "vmParams": {"xml": good,
                                      "launchPaused": "yes"}}, -32602),
    ]
    for params, code in cases:
        assert code_of(cli.VM.create, **params) == code, params
    assert cli.Host.getVMList() == before_list
    assert domains() == before


@pytest.mark.parametrize("verb,params", [
    ("getStats", {}), ("getInfo", {}), ("destroy", {}), ("pause", {}),
    ("cont", {}), ("reset", {}), ("shutdown", {}),
    ("setTicket", {"password": "x", "ttl": 10,
                   "existingConnAction": "disconnect", "params": {}}),
    ("hotplugDisk", {"params": {"xml": "<disk/>"}}),
    ("hotunplugNic", {"params": {"xml": "<interface/>"}}),
    ("changeCD", {"driveSpec": ""}),
])
def test_unknown_vm(cli, verb, params):
    assert code_of(getattr(cli.VM, verb), vmID=str(uuid.uuid4()),
                   **params) == 1


def test_dumpxmls_unknown_vm(cli):
    assert code_of(cli.Host.dumpxmls, vmList=[str(uuid.uuid4())]) == 1


def test_wrong_param_types(cli):
    vm_id = str(uuid.uuid4())
    assert code_of(cli.VM.setTicket, vmID=vm_id, password="x",
                   ttl="soon", existingConnAction="disconnect",
                   params={}) == -32602
    assert code_of(cli.VM.getStats, vmID=[vm_id]) == -32602
    assert code_of(cli.Host.getVMList, vmList="all") == -32602


def test_duplicate_create(cli, guests):
    events = StatusEvents(cli.subscribe())
    vm_id = str(uuid.uuid4())
    xml = guests.bios_xml(vm_id, domain_type="qemu")
    cli.VM.create(vmID=vm_id, vmParams={"xml": xml})
    events.wait(vm_id, "Up")
    before = domains()
    assert code_of(cli.VM.create, vmID=vm_id,
                   vmParams={"xml": xml}) == 4
    assert domains() == before
    listed = cli.Host.getVMList(vmList=[vm_id])
    assert [v["status"] for v in listed] == ["Up"]
    cli.VM.destroy(vmID=vm_id)
    assert vm_id not in domains()


def test_failing_hook_fails_create(virt_vdsmd, cli, guests):
    hook = f"{virt_vdsmd.root}/hooks/before_vm_start/10_refuse"
    import os
    os.makedirs(os.path.dirname(hook))
    with open(hook, "w") as f:
        f.write("#!/bin/sh\necho 'refused by site policy' >&2\nexit 1\n")
    os.chmod(hook, 0o755)
    caps = cli.Host.getCapabilities()
    assert "10_refuse" in caps["hooks"]["before_vm_start"]
    vm_id = str(uuid.uuid4())
    with pytest.raises(client.ServerError) as e:
        cli.VM.create(vmID=vm_id, vmParams={"xml": guests.xml(vm_id)})
    assert e.value.code == 78
    assert "refused by site policy" in e.value.message
    assert vm_id not in domains()
    # Other VMs of this host (other tests, other sessions) may be listed.
    assert vm_id not in [vm["vmId"] for vm in cli.Host.getVMList()]


def test_before_vm_start_hook_rewrites_domain(virt_vdsmd, cli, guests):
    import os
    hook = f"{virt_vdsmd.root}/hooks/before_vm_start/10_describe"
    os.makedirs(os.path.dirname(hook))
    with open(hook, "w") as f:
        f.write('#!/bin/sh\nsed -i "s|<vcpu>|<description>hooked'
                '</description><vcpu>|" "$_hook_domxml"\n')
    os.chmod(hook, 0o755)
    vm_id = str(uuid.uuid4())
    xml = guests.bios_xml(vm_id, domain_type="qemu")
    cli.VM.create(vmID=vm_id, vmParams={"xml": xml})
    assert "<description>hooked</description>" in \
        cli.VM.getInfo(vmID=vm_id)["xml"]
    cli.VM.destroy(vmID=vm_id)
