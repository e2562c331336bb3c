"""Host verbs answered by the virt subsystem (VM lists and stats).

Kept apart from api/host.py so each subsystem owns its module. They read
the VM views and the last samples only: no libvirt call, so they answer
even when a qemu monitor hangs (dumpxmls asks libvirt for the XML, which
needs no monitor).
"""

from __future__ import annotations

from vdsm import hooks
from vdsm.api import vm as api_vm
from vdsm.api import vm_wire
from vdsm.api.registry import CallContext, WouldBlock, verb
from vdsm.common import exception
from vdsm.virt.vm import Vm


def _selected(ctx: CallContext, vm_ids: list[str]) -> list[Vm]:
    vms = ctx.services.virt.vms.all()
    if vm_ids:
        wanted = set(vm_ids)
        vms = [vm for vm in vms if vm.id in wanted]
    return vms


@verb("Host.getVMList")
def get_vm_list(ctx: CallContext, fullStatus: bool, vmList: list[str],
                onlyUUID: bool) -> list:
    vms = _selected(ctx, vmList)
    if onlyUUID:
        return [vm.id for vm in vms]
    return [vm_wire.list_entry(vm) for vm in vms]


@verb("Host.getVMFullList")
def get_vm_full_list(ctx: CallContext, vmList: list[str]) -> list:
    return [vm_wire.vm_info(vm) for vm in _selected(ctx, vmList)]


@verb("Host.getAllVmStats", on_loop=True)
def get_all_vm_stats(ctx: CallContext) -> list:
    # From the sampler's cache: on the loop, unless a site hook script
    # is to run.
    hooks_dir = ctx.services.config.get("vars", "hooks_dir")
    if ctx.on_loop and hooks.has_reporting_scripts(hooks_dir,
                                                   "get_all_vm_stats"):
        raise WouldBlock()
    return hooks.reporting(
        hooks_dir, "get_all_vm_stats",
        lambda: [api_vm.vm_stats(ctx, vm)
                 for vm in ctx.services.virt.vms.all()])


@verb("Host.dumpxmls")
def dumpxmls(ctx: CallContext, vmList: list[str]) -> dict:
    # Empty (the engine omits an empty list): every VM, as upstream.
    ids = vmList or [vm.id for vm in ctx.services.virt.vms.all()]
    result = {}
    for vm_id in ids:
        vm = ctx.services.virt.vms.get(vm_id)
        try:
            vm.refresh()
        except exception.NoSuchVM:
            pass  # Down and undefined behind our back: the last XML.
        result[vm_id] = vm.xml
    return result
