"""A VM whose qemu monitor hangs holds up neither the others nor the API.

The hang is real: qemu is stopped with SIGSTOP, so its monitor never
answers, and a VM.pause sent to it waits inside libvirt holding the VM's
job, as a stuck monitor call does.
"""

from __future__ import annotations

import os
import signal
import threading
import uuid

import pytest

from vdsm import client

from fixtures.virt import StatusEvents, qemu_pid, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.root]



def monitor(cli, vm_id: str) -> str:
    return cli.VM.getStats(vmID=vm_id)[0].get("monitorResponse")


def test_hung_monitor(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        stuck, fine = str(uuid.uuid4()), str(uuid.uuid4())
        for vm_id in (stuck, fine):
            cli.VM.create(vmID=vm_id, vmParams={
                "xml": guests.bios_xml(vm_id, domain_type="qemu")})
            events.wait(vm_id, "Up")
        wait_for(lambda: monitor(cli, stuck) == "0", 30, "first samples")
        pid = qemu_pid(stuck)
        os.kill(pid, signal.SIGSTOP)
        try:
            # A verb stuck on the monitor, on its own client connection.
            def pause():
                with virt_vdsmd.client(timeout=300) as other:
                    try:
                        other.VM.pause(vmID=stuck)
                    except client.Error:
                        pass
            thread = threading.Thread(target=pause, daemon=True)
            thread.start()
            wait_for(lambda: monitor(cli, stuck) == "-1", 30,
                     "stuck VM reported unresponsive")
            # Sampling goes on for the other VM, the API answers.
            before = cli.VM.getStats(vmID=fine)[0]["cpuUsage"]
            wait_for(lambda: cli.VM.getStats(vmID=fine)[0]["cpuUsage"]
                     != before, 30, "new samples of the other VM")
            assert monitor(cli, fine) == "0"
            assert len(cli.Host.getAllVmStats()) >= 2
            assert cli.Host.getVMList(vmList=[fine])[0]["status"] == "Up"
        finally:
            os.kill(pid, signal.SIGCONT)
        thread.join(60)
        wait_for(lambda: monitor(cli, stuck) == "0", 30, "monitor back")
        for vm_id in (stuck, fine):
            cli.VM.destroy(vmID=vm_id)
