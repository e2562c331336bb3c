"""Host.setMOMPolicyParameters end to end: a real vdsmd, a real
supervdsmd, the kernel's real KSM knobs and a real guest's balloon.

The KSM tests change /sys/kernel/mm/ksm of this machine (run,
merge_across_nodes, pages_to_scan, sleep_millisecs) and put back what
was there. ``[mom] ksm_free_percent = 1.0`` makes the host count as
short of memory, so an enabled KSM must run; the policy runs inside the
verb call, so no test waits for the loop's interval.
"""

from __future__ import annotations

import json
import os
import uuid

import libvirt
import pytest

from fixtures import testguest
from fixtures.virt import wait_for
from vdsm import client
from vdsm.virt import metadata

pytestmark = pytest.mark.root

KSM = "/sys/kernel/mm/ksm"
KNOBS = ("run", "merge_across_nodes", "pages_to_scan", "sleep_millisecs")
ENGINE = {"balloonEnabled": False, "ksmEnabled": True,
          "ksmMergeAcrossNodes": True}


def read(knob: str) -> int:
    with open(os.path.join(KSM, knob)) as f:
        return int(f.read())


def write(knob: str, value: int) -> None:
    with open(os.path.join(KSM, knob), "w") as f:
        f.write(str(value))


@pytest.fixture
def ksm_saved():
    """The KSM knobs (None without KSM), put back after the test."""
    if not os.path.isdir(KSM):
        yield None
        return
    before = {k: read(k) for k in KNOBS if os.path.exists(f"{KSM}/{k}")}
    yield before
    try:
        write("run", 2 if read("pages_shared") else 0)
    except OSError:
        return        # read-only here: nothing was changed
    for knob, value in before.items():
        try:
            write(knob, value)
        except OSError:
            pass      # merge_across_nodes while pages are still shared


@pytest.fixture
def ksm_knobs(ksm_saved):
    if ksm_saved is None:
        pytest.skip(f"this kernel has no KSM ({KSM})")
    try:
        write("run", ksm_saved["run"])
    except OSError as e:
        pytest.skip(f"{KSM} is not writable here: {e}")
    return ksm_saved


def mom_daemon(vdsmd_factory, supervdsmd, **options):
    mom = {"enabled": "true", "privileged": "supervdsm",
           "ksm_free_percent": "1.0", "policy_interval": "3600"}
    mom.update(options)
    return vdsmd_factory({"mom": mom,
                          "supervdsm": {"socket": supervdsmd.socket}})


def stored(daemon) -> dict:
    with open(os.path.join(daemon.root, "lib", "mom",
                           "parameters.json")) as f:
        return json.load(f)


def test_ksm_enabled_flips_run(ksm_knobs, vdsmd_factory, supervdsmd):
    daemon = mom_daemon(vdsmd_factory, supervdsmd)
    with daemon.client() as cli:
        assert cli.Host.setMOMPolicyParameters(
            key_value_store=ENGINE) is True
        assert read("run") == 1
        assert 64 <= read("pages_to_scan") <= 1250
        assert read("sleep_millisecs") >= 10
        assert cli.Host.getStats()["momStatus"] == "active"

        assert cli.Host.setMOMPolicyParameters(
            key_value_store={**ENGINE, "ksmEnabled": False}) is True
        # Stopped; 2 (stop and unmerge) when KSM had merged pages.
        assert read("run") in (0, 2)
        assert "SET ksm run=" in supervdsmd.log()

        assert cli.Host.setMOMPolicyParameters(
            key_value_store={"ksmEnabled": True}) is True
        assert read("run") == 1


def test_bad_input_refused_nothing_changed(ksm_knobs, vdsmd_factory,
                                           supervdsmd):
    daemon = mom_daemon(vdsmd_factory, supervdsmd)
    with daemon.client() as cli:
        cli.Host.setMOMPolicyParameters(key_value_store=ENGINE)
        assert read("run") == 1
        params = stored(daemon)
        for bad in ({"ksmEnabled": "false"},
                    {"ksmEnabled": False, "cpuTuneEnabled": True},
                    {"ksmEnabled": 2}):
            with pytest.raises(client.ServerError) as e:
                cli.Host.setMOMPolicyParameters(key_value_store=bad)
            assert e.value.code == 54
            assert read("run") == 1
            assert stored(daemon) == params
        with pytest.raises(client.ServerError) as e:
            cli.Host.setMOMPolicyParameters(key_value_store=[1])
        assert e.value.code == -32602


def test_parameters_kept_across_restart(ksm_knobs, vdsmd_factory,
                                        supervdsmd):
    daemon = mom_daemon(vdsmd_factory, supervdsmd)
    with daemon.client() as cli:
        cli.Host.setMOMPolicyParameters(
            key_value_store={**ENGINE, "ksmEnabled": False})
    assert daemon.stop() == 0
    write("run", 1)
    # The loop's first run at start applies the stored ksmEnabled false.
    daemon.start()
    daemon.wait_ready()
    wait_for(lambda: read("run") != 1, 30, "KSM not stopped at start")
    assert stored(daemon)["ksm_enabled"] is False


def test_disabled_policy_touches_nothing(ksm_knobs, vdsmd_factory,
                                         supervdsmd):
    daemon = mom_daemon(vdsmd_factory, supervdsmd, enabled="false")
    write("run", 0)
    with daemon.client() as cli:
        assert cli.Host.setMOMPolicyParameters(
            key_value_store=ENGINE) is True
        assert read("run") == 0
        assert cli.Host.getStats()["momStatus"] == "disabled"


def test_no_supervdsm_reports_inactive(ksm_knobs, vdsmd_factory,
                                       tmp_path):
    # As upstream with MOM gone: the call succeeds (the variables are
    # kept), the policy cannot act, momStatus says so.
    daemon = vdsmd_factory({
        "mom": {"enabled": "true", "privileged": "supervdsm",
                "ksm_free_percent": "1.0", "policy_interval": "3600"},
        "supervdsm": {"socket": str(tmp_path / "none.sock")}})
    write("run", 0)
    with daemon.client() as cli:
        assert cli.Host.setMOMPolicyParameters(
            key_value_store=ENGINE) is True
        assert read("run") == 0
        assert cli.Host.getStats()["momStatus"] == "inactive"
    assert stored(daemon)["ksm_enabled"] is True
    # supervdsm unavailable is one log line per run, no traceback.
    log = daemon.log()
    assert "memory policy run: supervdsm unavailable" in log
    assert "Traceback" not in log


BALLOON = """<memballoon model='virtio'><stats period='1'/></memballoon>"""


def balloon_target(dom) -> int | None:
    md = metadata.Metadata.from_xml(dom.metadata(
        libvirt.VIR_DOMAIN_METADATA_ELEMENT, metadata.NS))
    return md.values.get("balloonTarget")


def test_balloon_target_set_under_pressure(vdsmd_factory, supervdsmd,
                                           guests, ksm_saved):
    if "kernel/drivers/virtio/virtio_balloon.ko" not in testguest.MODULES:
        pytest.skip("the test guest has no virtio_balloon driver "
                    "(tests/fixtures/testguest.py MODULES): no guest "
                    "memory stats")
    # pressure_threshold 1.0: the host always counts as short of memory,
    # so an enabled policy inflates the balloon of a guest with stats.
    # Each verb call is one run of the policy (the loop's own runs are an
    # hour apart): one step of 5 % from the guest's current memory.
    daemon = vdsmd_factory({
        "vars": {"vm_sample_interval": "1"},
        "mom": {"enabled": "true", "privileged": "supervdsm",
                "pressure_threshold": "1.0", "policy_interval": "3600"},
        "supervdsm": {"socket": supervdsmd.socket}})
    vm_id = str(uuid.uuid4())
    xml = guests.xml(vm_id, devices=BALLOON, memory_mib=256)
    params = {**ENGINE, "balloonEnabled": True}
    with daemon.client() as cli:
        cli.VM.create(vmID=vm_id, vmParams={"xml": xml})
        guests.wait_ready(vm_id)
        conn = libvirt.open("qemu:///system")
        try:
            dom = conn.lookupByUUIDString(vm_id)
            full = dom.maxMemory()
            wait_for(lambda: "unused" in dom.memoryStats(), 60,
                     "no guest memory stats")
            assert balloon_target(dom) is None

            def inflated() -> bool:
                cli.Host.setMOMPolicyParameters(key_value_store=params)
                return dom.info()[2] < full

            wait_for(inflated, 60, "balloon not inflated", interval=0.5)
            # Computed from the full guest: the guest had not inflated
            # before any run that could see it smaller.
            assert balloon_target(dom) == int(full * 0.95)
            assert f"BALLOON vm={vm_id} target_kib=" in daemon.log()
        finally:
            conn.close()
        cli.VM.destroy(vmID=vm_id)
