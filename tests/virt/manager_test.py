"""VmManager against the real libvirtd, without booting guests."""

from __future__ import annotations

import gc
import os
import uuid

import libvirt
import pytest

from vdsm.common import exception
from vdsm.common.libvirtconnection import Connection
from vdsm.virt import exitreason
from vdsm.virt.manager import VmManager

from fixtures.virt import is_defined, wait_for


def open_fds() -> set[str]:
    gc.collect()
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def manager(virt_libvirtd, tmp_path):
    before = open_fds()
    conn = Connection()
    events: list = []
    mgr = VmManager(conn, lambda vid, info: events.append((vid, info)),
                    str(tmp_path / "hooks"), lambda: True)
    mgr.events = events  # type: ignore[attr-defined]
    mgr.recover()
    try:
        yield mgr
    finally:
        mgr.stop()
        conn.close()
        # libvirt frees the connection once its event callbacks are gone,
        # on a later turn of the event loop.
        wait_for(lambda: open_fds() <= before | {"3"}, 10,
                 "libvirt connection closed", interval=0.05)



def test_malformed_xml_defines_nothing(manager):
    vm_id = str(uuid.uuid4())
    with pytest.raises(exception.CannotCreateVM) as e:
        manager.create(vm_id, "<domain type='kvm'><name>x</name>")
    assert e.value.code == 9
    assert not is_defined(vm_id)
    assert manager.all() == []


def test_invalid_device_refused_by_libvirt(manager, guests):
    vm_id = str(uuid.uuid4())
    xml = guests.xml(vm_id, devices="<disk type='file' device='bogus'>"
                                    "<target dev='vdb'/></disk>")
    with pytest.raises(exception.CannotCreateVM):
        manager.create(vm_id, xml)
    assert not is_defined(vm_id)
    assert manager.all() == []


def test_missing_disk_image(manager, guests, tmp_path):
    vm_id = str(uuid.uuid4())
    xml = guests.xml(vm_id, devices=(
        f"<disk type='file' device='disk'><source file='{tmp_path}/none'/>"
        "<target dev='vdb' bus='virtio'/></disk>"))
    with pytest.raises(exception.CannotCreateVM, match="does not exist"):
        manager.create(vm_id, xml)
    assert not is_defined(vm_id)


def test_existing_libvirt_domain_is_a_duplicate(manager, guests):
    vm_id = str(uuid.uuid4())
    conn = libvirt.open("qemu:///system")
    try:
        conn.defineXML(guests.xml(vm_id))
    finally:
        conn.close()
    with pytest.raises(exception.VMExists) as e:
        manager.create(vm_id, guests.xml(vm_id))
    assert e.value.code == 4
    assert manager.all() == []


def test_failing_hook_defines_nothing(manager, guests, tmp_path):
    hook = tmp_path / "hooks" / "before_vm_start" / "10_fail"
    hook.parent.mkdir(parents=True)
    hook.write_text("#!/bin/sh\necho 'site policy says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    vm_id = str(uuid.uuid4())
    with pytest.raises(exception.HookError, match="site policy says no"):
        manager.create(vm_id, guests.xml(vm_id))
    assert not is_defined(vm_id)
    assert manager.all() == []


def test_start_failure_is_down_with_reason_3(manager, guests):
    vm_id = str(uuid.uuid4())
    # qemu cannot allocate 64 TiB of guest RAM: the start fails at once.
    vm = manager.create(vm_id, guests.xml(vm_id, memory_mib=64 << 20))
    wait_for(lambda: vm.status == "Down", 30, "start failure")
    assert vm.exit_info.reason == exitreason.LIBVIRT_START_FAILED
    assert vm.exit_info.code == 1
    # Down stays listed, and defined, until destroy.
    assert manager.get(vm_id) is vm
    assert is_defined(vm_id)
    statuses = [info.status for vid, info in manager.events
                if vid == vm_id]
    assert statuses == ["Down"]
    manager.destroy(vm_id)
    assert not is_defined(vm_id)
    with pytest.raises(exception.NoSuchVM):
        manager.get(vm_id)


def test_unknown_vm(manager):
    with pytest.raises(exception.NoSuchVM) as e:
        manager.get(str(uuid.uuid4()))
    assert e.value.code == 1
