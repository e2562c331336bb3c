"""VM.getExternalData and tpmHash/nvramHash on a UEFI guest with an
emulated TPM: OVMF's variables and swtpm's state as libvirt keeps them,
and their restore through VM.create as the engine sends them back."""

from __future__ import annotations

import base64
import bz2
import hashlib
import io
import os
import tarfile
import uuid

import libvirt
import pytest

from fixtures.virt import StatusEvents, code_of, is_defined, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.root]

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
NVRAM_DIR = "/var/lib/libvirt/qemu/nvram"
SWTPM_DIR = "/var/lib/libvirt/swtpm"
PERMALL = "tpm2/tpm2-00.permall"


@pytest.fixture
def vdsmd(vdsmd_factory, guests):
    if not (os.path.exists(OVMF_CODE) and os.path.exists("/usr/bin/swtpm")):
        pytest.skip("needs ovmf and swtpm (automation/packages/virt.txt)")
    return vdsmd_factory({"vars": {"vm_sample_interval": "1"},
                          "virt": {"privileged": "direct",
                                   "external_data_interval": "1"}})


def uefi_tpm_xml(guests, vm_id: str) -> str:
    """The test guest on q35 with OVMF (its variables in the VM's NVRAM
    file, where the engine puts them) and a TPM 2.0 emulated by swtpm."""
    xml = guests.xml(vm_id, devices=(
        "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/>"
        "</tpm>"))
    return xml.replace(
        "<type arch='x86_64' machine='pc'>hvm</type>",
        "<type arch='x86_64' machine='q35'>hvm</type>"
        f"<loader readonly='yes' type='pflash'>{OVMF_CODE}</loader>"
        f"<nvram template='{OVMF_VARS}'>{NVRAM_DIR}/{vm_id}.fd</nvram>")


def decode(content: str) -> bytes:
    assert content.startswith("=0=")
    return bz2.decompress(base64.b64decode(content[3:], validate=True))


def tar_files(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:xz") as tar:
        return {os.path.normpath(m.name): tar.extractfile(m).read()
                for m in tar.getmembers() if m.isfile()}


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def test_tpm_and_nvram_data(vdsmd, guests):
    with vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = str(uuid.uuid4())
        cli.VM.create(vmID=vm_id, vmParams={"xml": uefi_tpm_xml(
            guests, vm_id)})
        events.wait(vm_id, "Up")

        tpm = cli.VM.getExternalData(vmID=vm_id, kind="tpm",
                                     forceUpdate=True)
        assert tpm["hash"] == hashlib.sha256(
            tpm["_X_data"].encode()).hexdigest()
        files = tar_files(decode(tpm["_X_data"]))
        # swtpm_setup, run by libvirt at the first start, made the state.
        assert len(files[PERMALL]) > 0

        nvram = cli.VM.getExternalData(vmID=vm_id, kind="nvram")
        content = decode(nvram["_X_data"])
        assert len(content) == os.path.getsize(f"{NVRAM_DIR}/{vm_id}.fd")
        # An EFI firmware volume: its header signature at offset 40.
        assert content[40:44] == b"_FVH"

        # Stable data shows its hash in the stats; the engine then asks
        # without forceUpdate and gets that data; with its own hash, none.
        stats = wait_for(lambda: _hashes(cli, vm_id), 60, "tpm/nvram hashes")
        for kind in ("tpm", "nvram"):
            got = cli.VM.getExternalData(vmID=vm_id, kind=kind,
                                         forceUpdate=False)
            assert got["hash"] == stats[f"{kind}Hash"] or \
                got["hash"] == _hashes(cli, vm_id)[f"{kind}Hash"]
            again = cli.VM.getExternalData(vmID=vm_id, kind=kind,
                                           lastHash=got["hash"],
                                           forceUpdate=False)
            assert "_X_data" not in again and again["hash"] == got["hash"]

        # Bad input: code 89 for a kind the VM lacks or nobody knows, 1 for
        # an unknown VM.
        assert code_of(cli.VM.getExternalData, vmID=vm_id,
                       kind="bios") == 89
        assert code_of(cli.VM.getExternalData, vmID=str(uuid.uuid4()),
                       kind="tpm") == 1
        plain = str(uuid.uuid4())
        cli.VM.create(vmID=plain, vmParams={"xml": guests.xml(plain)})
        events.wait(plain, "Up")
        assert code_of(cli.VM.getExternalData, vmID=plain,
                       kind="tpm") == 89
        assert code_of(cli.VM.getExternalData, vmID=plain,
                       kind="nvram") == 89

        # The engine keeps the data and sends it with the next VM.create
        # (here: another VM, started paused, so nothing ran on them yet).
        tpm = cli.VM.getExternalData(vmID=vm_id, kind="tpm")
        nvram = cli.VM.getExternalData(vmID=vm_id, kind="nvram")
        again_id = str(uuid.uuid4())
        cli.VM.create(vmID=again_id, vmParams={
            "xml": uefi_tpm_xml(guests, again_id), "launchPaused": True,
            "_X_tpmdata": tpm["_X_data"], "_X_nvramdata": nvram["_X_data"]})
        events.wait(again_id, "Paused")
        assert read(f"{NVRAM_DIR}/{again_id}.fd") == decode(nvram["_X_data"])
        assert read(f"{SWTPM_DIR}/{again_id}/{PERMALL}") == \
            tar_files(decode(tpm["_X_data"]))[PERMALL]
        restored = cli.VM.getExternalData(vmID=again_id, kind="nvram")
        assert restored["hash"] == nvram["hash"]

        # A VM that went Down keeps its data until VM.destroy: the engine
        # fetches it then (SaveVmExternalData), before the destroy.
        conn = libvirt.open("qemu:///system")
        try:
            conn.lookupByUUIDString(vm_id).destroy()
        finally:
            conn.close()
        events.wait(vm_id, "Down")
        final = cli.VM.getExternalData(vmID=vm_id, kind="tpm",
                                       forceUpdate=True)
        assert PERMALL in tar_files(decode(final["_X_data"]))
        cli.VM.destroy(vmID=vm_id)
        assert not os.path.exists(f"{SWTPM_DIR}/{vm_id}")
        assert not os.path.exists(f"{NVRAM_DIR}/{vm_id}.fd")


def test_bad_restore_data_creates_nothing(vdsmd, guests):
    with vdsmd.client() as cli:
        for key, bad in (("_X_tpmdata", "=0=!!!"),
                         ("_X_nvramdata", "=0=" + "QUFB")):  # not bzip2
            vm_id = str(uuid.uuid4())
            assert code_of(cli.VM.create, vmID=vm_id, vmParams={
                "xml": uefi_tpm_xml(guests, vm_id), key: bad}) == 89
            assert not is_defined(vm_id)
            assert vm_id not in [v["vmId"] for v in cli.Host.getVMList()]
            assert not os.path.exists(f"{SWTPM_DIR}/{vm_id}")
            assert not os.path.exists(f"{NVRAM_DIR}/{vm_id}.fd")


def _hashes(cli, vm_id: str) -> dict | None:
    stats = cli.VM.getStats(vmID=vm_id)[0]
    if stats.get("tpmHash") and stats.get("nvramHash"):
        return stats
    return None
