"""externaldata.* privileged functions through a real supervdsmd, on
libvirt's real TPM and NVRAM directories (with ids no VM has; removed)."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import uuid

import pytest

from vdsm.supervdsm import errors
from vdsm.supervdsm.api import externaldata

pytestmark = pytest.mark.root


@pytest.fixture
def vm_id():
    vm_id = str(uuid.uuid4())
    yield vm_id
    shutil.rmtree(externaldata.tpm_path(vm_id), ignore_errors=True)
    for path in (externaldata.nvram_path(vm_id),
                 externaldata.nvram_path(vm_id) + ".tmp"):
        if os.path.exists(path):
            os.unlink(path)


def archive(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:xz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def members(data: str) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(externaldata.decode(data)),
                      mode="r:xz") as tar:
        return {m.name: tar.extractfile(m).read()
                for m in tar.getmembers() if m.isfile()}


def test_nvram_round_trip(supervdsmd, vm_id):
    cli = supervdsmd.client()
    content = os.urandom(4096)
    cli.call("externaldata.write_nvram", vm_id,
             externaldata.encode(content))
    path = externaldata.nvram_path(vm_id)
    with open(path, "rb") as f:
        assert f.read() == content
    assert os.stat(path).st_mode & 0o777 == 0o600
    got = cli.call("externaldata.read_nvram", vm_id, -1.0)
    assert externaldata.decode(got["data"]) == content
    assert got["modified"] == os.stat(path).st_mtime
    # Not newer than what the caller saw: no data.
    again = cli.call("externaldata.read_nvram", vm_id, got["modified"])
    assert again == {"data": None, "modified": got["modified"]}


def test_tpm_round_trip(supervdsmd, vm_id):
    cli = supervdsmd.client()
    state = {"./tpm2/tpm2-00.permall": os.urandom(1000)}
    cli.call("externaldata.write_tpm", vm_id,
             externaldata.encode(archive(state)))
    with open(os.path.join(externaldata.tpm_path(vm_id),
                           "tpm2/tpm2-00.permall"), "rb") as f:
        assert f.read() == state["./tpm2/tpm2-00.permall"]
    got = cli.call("externaldata.read_tpm", vm_id, -1.0)
    assert got["data"].startswith("=0=")
    assert members(got["data"]) == state


@pytest.mark.parametrize("method,args", [
    ("externaldata.read_tpm", ["../../../etc", -1.0]),
    ("externaldata.read_nvram", ["not-a-uuid", -1.0]),
    ("externaldata.write_nvram", ["../x", externaldata.encode(b"x")]),
    ("externaldata.write_nvram", [None, "=0=!!!"]),
    ("externaldata.write_tpm", [None, "=9=AAAA"]),
    ("externaldata.read_tpm", [None, -1.0]),
    ("externaldata.read_nvram", [None, -1.0]),
])
def test_bad_requests_change_nothing(supervdsmd, vm_id, method, args):
    args = [vm_id if a is None else a for a in args]
    with pytest.raises(errors.InvalidArguments):
        supervdsmd.client().call(method, *args)
    assert not os.path.exists(externaldata.tpm_path(vm_id))
    assert not os.path.exists(externaldata.nvram_path(vm_id))
