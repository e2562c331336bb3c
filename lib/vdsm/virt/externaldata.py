"""A VM's TPM and NVRAM data: watched while it runs, handed to the engine.

The engine keeps a UEFI VM's variables (OVMF's NVRAM file) and a TPM VM's
state (libvirt's swtpm directory) in its database, so a VM can start on
any host. It learns that they changed from ``tpmHash`` and ``nvramHash``
in the VM stats, then fetches them with VM.getExternalData; it fetches
once more before VM.destroy, and sends the data back in VM.create.

Data is only reported once it is stable: a read that differs from the
previous one is kept aside, and becomes the reported data when the next
read finds it unchanged (the file's mtime did not move, or the content
is the same). So a file caught in the middle of a write is never sent.
``force`` (getExternalData's forceUpdate) reports the fresh read at once.
Every ``[vars] external_data_interval`` seconds each running VM with such
data is read (nothing is read while its mtime stays), which moves the
hashes in the stats.

Reading and restoring need root (the files belong to swtpm and qemu):
through supervdsm (``vdsm.supervdsm.api.externaldata``). The hash is the
SHA-256 of the encoded data, as upstream's.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Callable

from vdsm.common import exception
from vdsm.common.periodic import Periodic
from vdsm.supervdsm.api import externaldata as privileged
from vdsm.virt.errors import ExternalDataFailed
from vdsm.virt.vm import DOWN, Vm

log = logging.getLogger("vdsm.virt.externaldata")


class Kind(enum.Enum):
    TPM = "tpm"
    NVRAM = "nvram"


@dataclass(frozen=True)
class Data:
    content: str | None          # encoded; None: none known yet
    hash: str | None


# (kind, vm id, newer_than) -> (encoded data or None if not newer, mtime)
Reader = Callable[[Kind, str, float], tuple[str | None, float]]
# (kind, vm id, encoded data) -> None
Writer = Callable[[Kind, str, str], None]


def secure_hash(content: str) -> str:
    return hashlib.sha256(content.encode("ascii")).hexdigest()


def kinds(root: ET.Element | None) -> list[Kind]:
    """The external data a domain has: an emulated TPM, an NVRAM file."""
    if root is None:
        return []
    found = []
    if any(t.find("backend[@type='emulator']") is not None
           for t in root.findall("devices/tpm")):
        found.append(Kind.TPM)
    if root.find("os/nvram") is not None:
        found.append(Kind.NVRAM)
    return found


class Tracker:
    """The data of one kind of one VM, and how stable it is."""

    def __init__(self, kind: Kind, vm_id: str, read: Reader) -> None:
        self.kind = kind
        self.vm_id = vm_id
        self._read = read
        self._lock = threading.Lock()
        self._modified = -1.0
        self._current: str | None = None
        self.stable = Data(None, None)

    def update(self, force: bool = False) -> Data:
        with self._lock:
            try:
                content, self._modified = self._read(
                    self.kind, self.vm_id, -1.0 if force else self._modified)
            except Exception as e:
                # The reason only: an error may quote the data.
                raise ExternalDataFailed(
                    f"cannot read {self.kind.value} data of vmId="
                    f"{self.vm_id}: {type(e).__name__}: "
                    f"{str(e)[:200]}") from None
            if content is None:
                # Unchanged since the last read: that one is stable now.
                if self._current is not None \
                        and self._current != self.stable.content:
                    self._promote(self._current)
            elif force or content == self._current:
                self._promote(content)
            else:
                self._current = content
            return self.stable

    def _promote(self, content: str) -> None:
        self._current = content
        self.stable = Data(content, secure_hash(content))


class ExternalData:
    """``services.virt.external``: trackers of every VM, the periodic read,
    and the restore before a start."""

    def __init__(self, read: Reader, write: Writer, interval: float,
                 vms: Callable[[], list[Vm]]) -> None:
        self._read = read
        self._write = write
        self._vms = vms
        self._lock = threading.Lock()
        self._trackers: dict[tuple[str, Kind], Tracker] = {}
        self._periodic = Periodic("externaldata", interval, self.update_all)

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()

    def tracker(self, vm: Vm, kind: Kind) -> Tracker:
        with self._lock:
            key = (vm.id, kind)
            if key not in self._trackers:
                self._trackers[key] = Tracker(kind, vm.id, self._read)
            return self._trackers[key]

    def get(self, vm: Vm, kind: Kind, last_hash: str | None,
            force: bool) -> Data:
        if kind not in kinds(vm.root):
            raise ExternalDataFailed(
                f"vmId={vm.id} has no {kind.value} data")
        data = self.tracker(vm, kind).update(force)
        vm.external_hashes[kind.value] = data.hash or ""
        if last_hash is not None and last_hash == data.hash:
            return Data(None, data.hash)
        return data

    def update_all(self) -> None:
        live = set()
        for vm in self._vms():
            live.add(vm.id)
            if vm.status == DOWN:
                continue
            for kind in kinds(vm.root):
                try:
                    data = self.tracker(vm, kind).update()
                except ExternalDataFailed as e:
                    log.debug("SKIP external data vm=%s kind=%s: %s",
                              vm.id, kind.value, str(e))
                    continue
                if data.hash:
                    vm.external_hashes[kind.value] = data.hash
        with self._lock:
            for key in [k for k in self._trackers if k[0] not in live]:
                del self._trackers[key]

    def restore(self, vm_id: str, kind: Kind, content: str) -> None:
        """Put the engine's data in place before the VM first starts."""
        try:
            self._write(kind, vm_id, content)
        except exception.VdsmError as e:
            raise ExternalDataFailed(
                f"cannot restore {kind.value} data of vmId={vm_id}: {e}"
            ) from None
        log.info("RESTORED external data vm=%s kind=%s", vm_id, kind.value)


def privileged_io(call: Any) -> tuple[Reader, Writer]:
    """Reader and writer over a supervdsm caller."""

    def read(kind: Kind, vm_id: str, newer_than: float
             ) -> tuple[str | None, float]:
        func = privileged.read_tpm if kind == Kind.TPM \
            else privileged.read_nvram
        result = call(func, vm_id, newer_than)
        data, modified = result["data"], result["modified"]
        assert data is None or isinstance(data, str)
        assert isinstance(modified, (int, float))
        return data, float(modified)

    def write(kind: Kind, vm_id: str, content: str) -> None:
        func = privileged.write_tpm if kind == Kind.TPM \
            else privileged.write_nvram
        call(func, vm_id, content)

    return read, write
