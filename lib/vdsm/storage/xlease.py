"""The ``xleases`` volume: external (VM) leases and their index.

Upstream's on-disk format (oVirt/vdsm lib/vdsm/storage/xlease.py), so a
domain made here and one made by upstream Vdsm read the same. The volume
is a row of slots, one sanlock alignment (1 MiB) each::

    slot 0   lockspace slot (unused: the lockspace lives in dom_md/ids)
    slot 1   the index (INDEX_BASE)
    slot 2   sanlock's private resource slot (unused)
    slot 3+  user leases: record n's lease is at USER_RESOURCE_BASE + n MiB

The index starts with a 512 byte metadata block, then 64 byte records
(INDEX_SIZE bytes in all, 3960 records)::

    metadata: >i magic 0x12152016, \\0, version "0001", \\0,
              lockspace (48 bytes, NUL padded), \\0, mtime "%010d", \\0,
              updating flag ("u" or "-"), 440 NULs, "\\n"
    record:   resource (48 bytes, NUL padded), \\0, offset "%011d", \\0,
              updating flag, reserved "-", "\\n"

A free record is all empty (resource "", offset 0). The lease offset is
computed from the record number, never read from the record, so two
records can never share a lease. The index is a cache of the sanlock
resources in the slots: ``rebuild`` makes it again from them.

Crash safety, as upstream: a record being added or removed is first
written with its updating flag, then the sanlock resource is written or
cleared, then the record is written final; each record write is one
block. Formatting or rebuilding marks the whole index updating until
the new one is written; an index left updating is refused
(``LeaseIndexIsUpdating``) until rebuilt, and a record left updating is
refused (``LeaseUpdating``) until rebuilt or rolled back.

This module is the format only (bytes in, bytes out) plus
``LeasesVolume``, which runs the steps above over a ``BlockIO`` (direct
I/O through the domain's helper process) and ``clusterlock`` (sanlock).
"""

from __future__ import annotations

import logging
import struct
import time
from dataclasses import dataclass
from typing import Protocol

from vdsm.storage import clusterlock
from vdsm.storage import errors

log = logging.getLogger("vdsm.storage.xlease")

SLOT_SIZE = 1024 ** 2
LOCKSPACE_BASE = 0
INDEX_BASE = SLOT_SIZE
PRIVATE_RESOURCE_BASE = 2 * SLOT_SIZE
USER_RESOURCE_BASE = 3 * SLOT_SIZE

METADATA_SIZE = 512
RECORD_BASE = METADATA_SIZE
RECORD_SIZE = 64
# 4096-aligned (upstream's 4K-capable size): 62 blocks of 4 KiB.
INDEX_SIZE = 62 * 4096
MAX_RECORDS = (INDEX_SIZE - METADATA_SIZE) // RECORD_SIZE   # 3960

INDEX_VERSION = 1
INDEX_MAGIC = 0x12152016
META_STRUCT = struct.Struct(">i x 4s x 48s x 10s x c 440x c")
RECORD_STRUCT = struct.Struct("48s x 11s x 3c")
LOOKUP_STRUCT = struct.Struct("48s x")
RECORD_TERM = b"\n"
FLAG_NONE = b"-"
FLAG_UPDATING = b"u"

MAX_NAME = 48


def lease_offset(recnum: int) -> int:
    return USER_RESOURCE_BASE + recnum * SLOT_SIZE


def capacity(volume_size: int) -> int:
    """How many leases fit in a volume of that size."""
    return max(0, min(MAX_RECORDS,
                      (volume_size - USER_RESOURCE_BASE) // SLOT_SIZE))


@dataclass(frozen=True)
class IndexMetadata:
    lockspace: str
    mtime: int
    updating: bool = False
    version: int = INDEX_VERSION

    def pack(self) -> bytes:
        return META_STRUCT.pack(
            INDEX_MAGIC, b"%04d" % self.version,
            self.lockspace.encode("ascii"), b"%010d" % self.mtime,
            FLAG_UPDATING if self.updating else FLAG_NONE, RECORD_TERM)

    @classmethod
    def parse(cls, data: bytes) -> IndexMetadata:
        try:
            magic, version, lockspace, mtime, flag, _ = \
                META_STRUCT.unpack(data)
        except struct.error as e:
            raise errors.InvalidLeaseIndex(f"cannot unpack: {e}") from None
        if magic != INDEX_MAGIC:
            raise errors.InvalidLeaseIndex(f"bad magic {magic:#x}")
        try:
            return cls(lockspace=lockspace.rstrip(b"\0").decode("ascii"),
                       mtime=int(mtime), updating=flag == FLAG_UPDATING,
                       version=_version(version))
        except (ValueError, UnicodeDecodeError) as e:
            raise errors.InvalidLeaseIndex(f"bad metadata: {e}") from None


def _version(field: bytes) -> int:
    version = int(field)
    if version != INDEX_VERSION:
        raise ValueError(f"unsupported version {version}")
    return version


@dataclass(frozen=True)
class Record:
    resource: str
    offset: int
    updating: bool = False

    def pack(self) -> bytes:
        return RECORD_STRUCT.pack(
            self.resource.encode("ascii"), b"%011d" % self.offset,
            FLAG_UPDATING if self.updating else FLAG_NONE, FLAG_NONE,
            RECORD_TERM)

    @classmethod
    def parse(cls, data: bytes) -> Record:
        try:
            resource, offset, flag, _, _ = RECORD_STRUCT.unpack(data)
            return cls(resource.rstrip(b"\0").decode("ascii"), int(offset),
                       updating=flag == FLAG_UPDATING)
        except (struct.error, ValueError, UnicodeDecodeError) as e:
            raise errors.InvalidLeaseIndex(
                f"bad record {data!r}: {e}") from None


EMPTY_RECORD = Record("", 0)


class Index:
    """The index bytes (INDEX_SIZE) in memory; no I/O."""

    def __init__(self, data: bytes) -> None:
        if len(data) != INDEX_SIZE:
            raise errors.InvalidLeaseIndex(
                f"index is {len(data)} bytes, expected {INDEX_SIZE}")
        self.buf = bytearray(data)

    @classmethod
    def empty(cls, md: IndexMetadata) -> Index:
        index = cls(bytes(INDEX_SIZE))
        index.set_metadata(md)
        for n in range(MAX_RECORDS):
            index.set_record(n, EMPTY_RECORD)
        return index

    def unformatted(self) -> bool:
        """Never formatted: the metadata block is all zeros (a domain
        laid out before the index was written)."""
        return not any(self.buf[:METADATA_SIZE])

    def metadata(self) -> IndexMetadata:
        return IndexMetadata.parse(bytes(self.buf[:METADATA_SIZE]))

    def set_metadata(self, md: IndexMetadata) -> None:
        self.buf[:METADATA_SIZE] = md.pack()

    def record(self, recnum: int) -> Record:
        start = RECORD_BASE + recnum * RECORD_SIZE
        return Record.parse(bytes(self.buf[start:start + RECORD_SIZE]))

    def set_record(self, recnum: int, record: Record) -> None:
        start = RECORD_BASE + recnum * RECORD_SIZE
        self.buf[start:start + RECORD_SIZE] = record.pack()

    def find(self, lease_id: str) -> int:
        """The record number of lease_id, or -1."""
        return self._find(LOOKUP_STRUCT.pack(lease_id.encode("ascii")))

    def find_free(self) -> int:
        return self._find(EMPTY_RECORD.pack())

    def _find(self, needle: bytes) -> int:
        pos = self.buf.find(needle, RECORD_BASE)
        while pos != -1 and (pos - RECORD_BASE) % RECORD_SIZE:
            pos = self.buf.find(needle, pos + 1)
        return -1 if pos == -1 else (pos - RECORD_BASE) // RECORD_SIZE

    def block(self, recnum: int, block_size: int) -> tuple[int, bytes]:
        """(offset in the volume, bytes) of the block holding recnum."""
        start = RECORD_BASE + recnum * RECORD_SIZE
        start -= start % block_size
        return INDEX_BASE + start, bytes(self.buf[start:start + block_size])


def check_lease_id(lease_id: str) -> str:
    """A lease id is a sanlock resource name: ascii, 1-48 bytes, no NUL."""
    if (not isinstance(lease_id, str) or not lease_id
            or not lease_id.isascii() or len(lease_id) > MAX_NAME
            or "\0" in lease_id):
        raise errors.InvalidParameter("bad lease id", value=lease_id)
    return lease_id


# I/O.

class BlockIO(Protocol):
    """Direct I/O on the xleases file (``FileDomain.xleases_io``)."""

    path: str
    block_size: int

    def pread(self, offset: int, size: int) -> bytes: ...

    def pwrite(self, offset: int, data: bytes) -> None: ...

    def size(self) -> int: ...


@dataclass(frozen=True)
class LeaseInfo:
    """Where a lease lives: what a libvirt lease device names."""

    sd_id: str        # the sanlock lockspace
    lease_id: str     # the sanlock resource
    path: str
    offset: int


@dataclass(frozen=True)
class IndexEntry:
    offset: int
    updating: bool


def read_index(io: BlockIO) -> Index:
    return Index(io.pread(INDEX_BASE, INDEX_SIZE))


class LeasesVolume:
    """The index of one domain's xleases volume, read once when made.

    Changes are written to storage at once (each record as one block)
    and then to the copy in memory. Callers serialize changes (the SPM
    does them, under the domain's lock).
    """

    def __init__(self, sd_id: str, io: BlockIO) -> None:
        self.sd_id = sd_id
        self.io = io
        self.index = read_index(io)
        if self.index.unformatted():
            raise errors.LeaseIndexNotFormatted(sd=sd_id)
        md = self.index.metadata()
        if md.updating:
            raise errors.LeaseIndexIsUpdating(sd=sd_id, mtime=md.mtime)
        self.metadata = md

    def lookup(self, lease_id: str) -> LeaseInfo:
        recnum = self.index.find(check_lease_id(lease_id))
        if recnum == -1:
            raise errors.NoSuchLease(lease=lease_id)
        if self.index.record(recnum).updating:
            raise errors.LeaseUpdating(lease=lease_id)
        return LeaseInfo(self.sd_id, lease_id, self.io.path,
                         lease_offset(recnum))

    def leases(self) -> dict[str, IndexEntry]:
        out = {}
        for n in range(MAX_RECORDS):
            rec = self.index.record(n)
            if rec.resource:
                out[rec.resource] = IndexEntry(lease_offset(n), rec.updating)
        return out

    def add(self, lease_id: str) -> LeaseInfo:
        recnum = self.index.find(check_lease_id(lease_id))
        if recnum != -1:
            if self.index.record(recnum).updating:
                raise errors.LeaseUpdating(lease=lease_id)
            raise errors.LeaseExists(lease=lease_id)
        recnum = self.index.find_free()
        if recnum == -1 or recnum >= capacity(self.io.size()):
            raise errors.NoSpaceForLease(lease=lease_id)
        offset = lease_offset(recnum)
        log.info("ADD_LEASE sd=%s lease=%s offset=%s", self.sd_id, lease_id,
                 offset)
        self._write_record(recnum, Record(lease_id, offset, updating=True))
        clusterlock.init_resource(self.sd_id, lease_id, self.io.path,
                                  offset, self.io.block_size)
        self._write_record(recnum, Record(lease_id, offset))
        return LeaseInfo(self.sd_id, lease_id, self.io.path, offset)

    def remove(self, lease_id: str) -> None:
        """Clear the lease and free its record; a record left updating
        (an add or remove cut short) is removed as well."""
        recnum = self.index.find(check_lease_id(lease_id))
        if recnum == -1:
            raise errors.NoSuchLease(lease=lease_id)
        offset = lease_offset(recnum)
        log.info("REMOVE_LEASE sd=%s lease=%s offset=%s", self.sd_id,
                 lease_id, offset)
        self._write_record(recnum, Record(lease_id, offset, updating=True))
        clusterlock.clear_lease(self.io.path, offset, self.io.block_size)
        self._write_record(recnum, EMPTY_RECORD)

    def _write_record(self, recnum: int, record: Record) -> None:
        changed = Index(bytes(self.index.buf))
        changed.set_record(recnum, record)
        offset, block = changed.block(recnum, self.io.block_size)
        self.io.pwrite(offset, block)
        self.index = changed


def format_index(sd_id: str, io: BlockIO) -> None:
    """Write an empty index (destructive: drops every record; the
    sanlock resources stay and ``rebuild_index`` finds them again)."""
    log.info("FORMAT_INDEX sd=%s path=%s", sd_id, io.path)
    _write_new(io, sd_id, Index.empty(_md(sd_id, updating=True)))


def rebuild_index(sd_id: str, io: BlockIO) -> dict[str, int]:
    """Make the index again from the sanlock resources in the slots:
    they are the truth, the index their cache. Returns lease -> offset.

    The index is marked updating first; if this is cut short it stays
    so (refused) until a rebuild completes.
    """
    log.info("REBUILD_INDEX sd=%s path=%s", sd_id, io.path)
    _mark_updating(io, sd_id)
    index = Index.empty(_md(sd_id, updating=True))
    found = {}
    for n in range(capacity(io.size())):
        res = clusterlock.read_lease(io.path, lease_offset(n),
                                     io.block_size)
        if res is not None and res.lockspace == sd_id:
            index.set_record(n, Record(res.resource, lease_offset(n)))
            found[res.resource] = lease_offset(n)
    _write_new(io, sd_id, index)
    log.info("REBUILT_INDEX sd=%s leases=%s", sd_id, len(found))
    return found


def _md(sd_id: str, updating: bool) -> IndexMetadata:
    return IndexMetadata(lockspace=sd_id, mtime=int(time.time()),
                         updating=updating)


def _mark_updating(io: BlockIO, sd_id: str) -> None:
    block = bytearray(io.pread(INDEX_BASE, io.block_size))
    block[:METADATA_SIZE] = _md(sd_id, updating=True).pack()
    io.pwrite(INDEX_BASE, bytes(block))


def _write_new(io: BlockIO, sd_id: str, index: Index) -> None:
    """Write index (marked updating) whole, then its first block with
    the flag cleared: the flag goes last, in one block."""
    io.pwrite(INDEX_BASE, bytes(index.buf))
    index.set_metadata(_md(sd_id, updating=False))
    io.pwrite(INDEX_BASE, bytes(index.buf[:io.block_size]))
