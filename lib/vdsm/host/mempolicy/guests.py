"""The running guests as the balloon policy sees them, and their targets.

Read from what virt already holds: the VMs (``VmManager``) and their last
bulk libvirt sample (``Sampler``: ``balloon.current``,
``balloon.maximum``, ``balloon.unused``), never from libvirt itself. A
guest counts when it is Up, has a balloon device (not model none) and
ballooning is not turned off in its metadata (``ballooningEnabled``);
its guaranteed memory is ``minGuaranteedMemoryMb`` of the metadata.

A new target is set as upstream's VM.setBalloonTarget does: on the live
domain (``virDomainSetMemoryFlags(AFFECT_LIVE)``), and kept in the VM's
metadata (``balloonTarget``, what VM stats report as balloon_target).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Iterable

import libvirt

from vdsm.host.mempolicy.balloon import GuestBalloon
from vdsm.virt import domxml
from vdsm.virt.manager import VmManager
from vdsm.virt.sampling import Sampler
from vdsm.virt.vm import DOWN, UP, Vm

log = logging.getLogger("vdsm.host.mempolicy")


class Guests:
    def __init__(self, vms: VmManager, sampler: Sampler,
                 history: int) -> None:
        self._vms = vms
        self._sampler = sampler
        self._history = history
        # vm id -> recent (balloon.current, balloon.unused or None)
        self._seen: dict[str, deque[tuple[int, int | None]]] = {}

    def committed_kib(self) -> int:
        """Memory of the running guests: what KSM could share."""
        return sum(domxml.memory_mib(vm.root) * 1024 for vm in
                   self._vms.all()
                   if vm.status != DOWN and vm.root is not None)

    def balloons(self) -> list[GuestBalloon]:
        """Every ballooned guest with a sample, its history updated."""
        found = []
        for vm in self._vms.all():
            guest = self._observe(vm)
            if guest is not None:
                found.append(guest)
        for vm_id in set(self._seen) - {g.vm_id for g in found}:
            del self._seen[vm_id]
        return found

    def _observe(self, vm: Vm) -> GuestBalloon | None:
        if vm.status != UP or vm.root is None or not _ballooned(vm):
            return None
        _, last = self._sampler.get(vm.id)
        if last is None or "balloon.current" not in last.stats:
            return None
        s = last.stats
        seen = self._seen.setdefault(vm.id, deque(maxlen=self._history))
        seen.append((s["balloon.current"], s.get("balloon.unused")))
        unused = [u for _, u in seen if u is not None]
        return GuestBalloon(
            vm_id=vm.id, cur_kib=s["balloon.current"],
            max_kib=s.get("balloon.maximum",
                          domxml.memory_mib(vm.root) * 1024),
            min_kib=max(0, vm.md.integer("minGuaranteedMemoryMb")) * 1024,
            cur_avg_kib=_mean(c for c, _ in seen),
            unused_avg_kib=_mean(unused) if unused else None)

    def set_target(self, vm_id: str, target_kib: int) -> None:
        vm = self._vms.get(vm_id)
        with vm.lock:
            dom = vm.require_running()
            dom.setMemoryFlags(target_kib, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            vm.md.values["balloonTarget"] = target_kib
            vm.save_metadata(dom)
        log.info("BALLOON vm=%s target_kib=%d", vm_id, target_kib)


def _ballooned(vm: Vm) -> bool:
    assert vm.root is not None
    balloon = vm.root.find("devices/memballoon")
    if balloon is None or balloon.get("model") == "none":
        return False
    return vm.md.flag("ballooningEnabled", True)


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items)
