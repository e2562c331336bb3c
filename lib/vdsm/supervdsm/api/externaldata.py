"""Privileged access to a VM's data that libvirt keeps outside the domain:
its TPM state and its UEFI variables (VM.getExternalData).

libvirt's swtpm keeps a VM's TPM in ``/var/lib/libvirt/swtpm/<uuid>``
(owned by the swtpm user, mode 0700); OVMF's variables of an oVirt VM live
in ``/var/lib/libvirt/qemu/nvram/<uuid>.fd`` (owned by qemu, 0600). Only
the VM's UUID is taken, never a path.

Data travels encoded as upstream encodes it, so the engine can hand it to
any oVirt host: the TPM directory as a tar.xz archive, the NVRAM file as
it is, either compressed with bzip2, in base64, prefixed with ``=0=``
(the format mark: bzip2). ``read_*`` returns ``{"data", "modified"}``:
``modified`` is the newest mtime of the data, and ``data`` is null when
that is not newer than ``newer_than`` (nothing to send). ``write_*``
restores such data before the VM starts (the engine sends it back in
VM.create); an archive is unpacked by GNU tar, which refuses absolute
names and ``..``.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import io
import os
import re
import shutil
import tarfile

from vdsm.common import commands
from vdsm.supervdsm import runtime
from vdsm.supervdsm.allowlist import privileged
from vdsm.supervdsm.errors import InvalidArguments

SWTPM_DIR = "/var/lib/libvirt/swtpm"
NVRAM_DIR = "/var/lib/libvirt/qemu/nvram"
FORMAT_BZIP2 = "=0="
TAR = "/usr/bin/tar"

# {"data": encoded data or None, "modified": mtime}
Result = dict[str, str | float | None]

_UUID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def tpm_path(vm_id: str) -> str:
    return os.path.join(SWTPM_DIR, _checked(vm_id))


def nvram_path(vm_id: str) -> str:
    return os.path.join(NVRAM_DIR, _checked(vm_id) + ".fd")


@privileged
def read_tpm(vm_id: str, newer_than: float = -1.0) -> Result:
    path = tpm_path(vm_id)
    if not os.path.isdir(path):
        raise InvalidArguments(f"no TPM state at {path}")
    modified = _newest(path)
    if modified <= newer_than:
        return {"data": None, "modified": modified}
    if not any(files for _, _, files in os.walk(path)):
        raise InvalidArguments(f"TPM state {path} is empty")
    return {"data": encode(_tar(path)), "modified": modified}


@privileged
def read_nvram(vm_id: str, newer_than: float = -1.0) -> Result:
    path = nvram_path(vm_id)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InvalidArguments(f"no NVRAM file {path}") from None
    with os.fdopen(fd, "rb") as f:
        modified = os.fstat(f.fileno()).st_mtime
        if modified <= newer_than:
            return {"data": None, "modified": modified}
        data = f.read()
    if not data:
        raise InvalidArguments(f"NVRAM file {path} is empty")
    return {"data": encode(data), "modified": modified}


@privileged
def write_tpm(vm_id: str, data: str) -> None:
    """Replace the VM's TPM state by an archive read_tpm made."""
    path = tpm_path(vm_id)
    archive = decode(data)
    if os.path.lexists(path):
        shutil.rmtree(path)
    os.makedirs(SWTPM_DIR, mode=0o711, exist_ok=True)
    os.mkdir(path, 0o700)
    commands.run([TAR, "--extract", "--xz", "--no-same-owner",
                  f"--directory={path}"], input=archive,
                 timeout=runtime.config().getfloat("supervdsm",
                                                   "call_timeout"))


@privileged
def write_nvram(vm_id: str, data: str) -> None:
    """Replace the VM's NVRAM file (qemu's user reads it at start)."""
    path = nvram_path(vm_id)
    content = decode(data)
    os.makedirs(NVRAM_DIR, mode=0o755, exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
                 | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    st = os.stat(NVRAM_DIR)
    os.chown(tmp, st.st_uid, st.st_gid)
    os.rename(tmp, path)


def encode(data: bytes) -> str:
    return FORMAT_BZIP2 + base64.b64encode(
        bz2.compress(data, compresslevel=9)).decode("ascii")


def decode(text: str) -> bytes:
    raw = text.replace("\n", "")
    compressed = raw.startswith(FORMAT_BZIP2)
    if len(raw) > 3 and raw[0] == "=" and raw[2] == "=" and not compressed:
        raise InvalidArguments(f"unknown data format {raw[:3]!r}")
    if compressed:
        raw = raw[3:]
    try:
        data = base64.b64decode(raw, validate=True)
    except binascii.Error as e:
        raise InvalidArguments(f"data is not base64: {e}") from None
    if compressed:
        try:
            data = bz2.decompress(data)
        except (OSError, ValueError) as e:
            raise InvalidArguments(f"data is not bzip2: {e}") from None
    return data


def _checked(vm_id: str) -> str:
    if not _UUID.match(vm_id):
        raise InvalidArguments(f"vm id {vm_id!r} is not a UUID")
    return vm_id


def _newest(path: str) -> float:
    newest = os.stat(path).st_mtime
    for root, _, files in os.walk(path):
        newest = max(newest, os.stat(root).st_mtime)
        for name in files:
            try:
                newest = max(newest, os.lstat(
                    os.path.join(root, name)).st_mtime)
            except FileNotFoundError:
                pass
    return newest


def _tar(path: str) -> bytes:
    """The directory as a tar.xz, entries in name order (as upstream's
    ``tar --create --xz --sort=name``); no file is followed."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:xz",
                      format=tarfile.GNU_FORMAT) as tar:
        for root, dirs, files in os.walk(path):
            dirs.sort()
            rel = os.path.relpath(root, path)
            arcdir = "." if rel == "." else f"./{rel}"
            tar.add(root, arcname=arcdir, recursive=False)
            for name in sorted(files):
                tar.add(os.path.join(root, name),
                        arcname=f"{arcdir}/{name}", recursive=False)
    return out.getvalue()
