"""VM namespace: one verb, one call into the virt subsystem."""

from __future__ import annotations

from typing import Any

from vdsm import hooks
from vdsm.api import vm_wire
from vdsm.api.registry import CallContext, WouldBlock, verb
from vdsm.api.vm_wire import vm_info
from vdsm.common import exception
from vdsm.virt import devices, externaldata
from vdsm.virt.vm import Vm


def vm_stats(ctx: CallContext, vm: Vm) -> dict[str, Any]:
    return vm_wire.vm_stats(ctx.services.virt.stats(vm))


def _vm(ctx: CallContext, vm_id: str) -> Vm:
    return ctx.services.virt.vms.get(vm_id)


@verb("VM.create")
def create(ctx: CallContext, vmID: str, vmParams: dict) -> dict:
    if vmParams.get("vmId") not in (None, vmID):
        raise exception.InvalidParameter(
            f"vmParams.vmId {vmParams['vmId']} differs from vmID {vmID}")
    paused = bool(vmParams.get("launchPaused"))
    restore = {kind: vmParams[key] for kind, key in (
        (externaldata.Kind.TPM, "_X_tpmdata"),
        (externaldata.Kind.NVRAM, "_X_nvramdata")) if vmParams.get(key)}

    def prepare(vm_id: str) -> None:
        for kind, content in restore.items():
            ctx.services.virt.external.restore(vm_id, kind, content)

    vm = ctx.services.virt.vms.create(vmID, vmParams["xml"],
                                      launch_paused=paused, prepare=prepare)
    return vm_wire.create_result(vm)


@verb("VM.destroy")
def destroy(ctx: CallContext, vmID: str, gracefulAttempts: int) -> bool:
    ctx.services.virt.vms.destroy(vmID)
    return True


@verb("VM.shutdown")
def shutdown(ctx: CallContext, vmID: str, delay: Any, message: str,
             reboot: bool, timeout: Any, force: bool) -> bool:
    if timeout is None:
        seconds = ctx.services.config.getfloat("vars", "vm_shutdown_timeout")
    else:
        try:
            seconds = float(timeout)
        except (TypeError, ValueError):
            raise exception.InvalidParameter(f"timeout {timeout!r}")
        if seconds < 0:
            raise exception.InvalidParameter(f"timeout {timeout!r}")
    _vm(ctx, vmID).shutdown(seconds, reboot)
    return True


@verb("VM.reset")
def reset(ctx: CallContext, vmID: str) -> bool:
    _vm(ctx, vmID).reset()
    return True


@verb("VM.pause")
def pause(ctx: CallContext, vmID: str) -> dict:
    _vm(ctx, vmID).pause()
    return {}


@verb("VM.cont")
def cont(ctx: CallContext, vmID: str) -> dict:
    _vm(ctx, vmID).cont()
    return {}


@verb("VM.getStats", on_loop=True)
def get_stats(ctx: CallContext, vmID: str) -> list:
    # From the VM's view and the sampler's cache (no lock, no libvirt):
    # on the loop, unless a site hook script is to run.
    hooks_dir = ctx.services.config.get("vars", "hooks_dir")
    if ctx.on_loop and hooks.has_reporting_scripts(hooks_dir,
                                                   "get_vm_stats"):
        raise WouldBlock()
    vm = _vm(ctx, vmID)
    return hooks.reporting(hooks_dir, "get_vm_stats",
                           lambda: [vm_stats(ctx, vm)])


@verb("VM.getInfo")
def get_info(ctx: CallContext, vmID: str) -> dict:
    return vm_info(_vm(ctx, vmID))


def _device_verb(name: str, func: Any, tag: str) -> None:
    def handler(ctx: CallContext, vmID: str, params: dict) -> dict:
        if params.get("vmId") not in (None, vmID):
            raise exception.InvalidParameter(
                f"params.vmId {params['vmId']} differs from vmID {vmID}")
        vm = _vm(ctx, vmID)
        func(vm, tag, params["xml"])
        return vm_info(vm)
    verb(name)(handler)


_device_verb("VM.hotplugDisk", devices.hotplug, "disk")
_device_verb("VM.hotunplugDisk", devices.hotunplug, "disk")
_device_verb("VM.hotplugNic", devices.hotplug, "interface")


@verb("VM.changeCD")
def change_cd(ctx: CallContext, vmID: str, driveSpec: Any) -> dict:
    if isinstance(driveSpec, dict):
        path = driveSpec.get("path", "")
    else:
        path = driveSpec
    if not isinstance(path, str):
        raise exception.InvalidParameter(f"driveSpec path {path!r}")
    vm = _vm(ctx, vmID)
    devices.change_cd(vm, path)
    return vm_info(vm)


@verb("VM.hotunplugNic")
def hotunplug_nic(ctx: CallContext, vmID: str, params: dict) -> dict:
    if params.get("vmId") not in (None, vmID):
        raise exception.InvalidParameter(
            f"params.vmId {params['vmId']} differs from vmID {vmID}")
    vm = _vm(ctx, vmID)
    devices.hotunplug(vm, "interface", params["xml"],
                      ctx.services.virt.mirrors)
    return vm_info(vm)
