"""External leases: the xleases volume in upstream's format, the Lease.*
verbs of storage, with the real sanlock daemon on loop file systems."""

from __future__ import annotations

import os
import struct

import pytest
import sanlock

from storage.storagefixtures import check_task, make_pool, new_id

from vdsm.storage import errors, xlease

pytestmark = pytest.mark.root

MIB = 1024 ** 2


def xleases_path(svc, sd):
    return svc.repository.find_domain(sd).md_path("xleases")


def read_index(path):
    with open(path, "rb") as f:
        f.seek(MIB)
        return f.read(xlease.INDEX_SIZE)


def xleases_bytes(path):
    """The index and every lease slot a test may touch."""
    with open(path, "rb") as f:
        return f.read(16 * MIB)


def upstream_record(name, offset, flag=b"-"):
    # Upstream's layout spelled out byte by byte: name NUL-padded to
    # 48, NUL, offset as 11 digits, NUL, updating flag, reserved, \n.
    return (name.encode().ljust(48, b"\0") + b"\0" + b"%011d" % offset
            + b"\0" + flag + b"-\n")


def test_new_domain_index_is_upstreams_layout(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    path = xleases_path(svc, sd)
    assert os.path.getsize(path) == 1024 ** 3
    index = read_index(path)
    md = index[:512]
    assert md[:4] == b"\x12\x15\x20\x16"          # magic, big endian
    assert md[4:5] == b"\0" and md[5:9] == b"0001" and md[9:10] == b"\0"
    assert md[10:58] == sd.encode().ljust(48, b"\0")
    assert md[58:59] == b"\0" and md[59:69].isdigit()
    assert md[69:70] == b"\0" and md[70:71] == b"-"   # not updating
    assert md[71:511] == bytes(440) and md[511:512] == b"\n"
    free = upstream_record("", 0)
    assert len(free) == 64
    assert index[512:] == free * 3960
    # The lockspace and sanlock's private slots stay unused.
    with open(path, "rb") as f:
        assert f.read(MIB) == bytes(MIB)


def test_lookup_api_names_path_and_offset(env):
    svc = env.service()
    sp, sd = make_pool(svc, env.dir())
    first, second = new_id(), new_id()
    check_task(svc, svc.leases.create(sd, first))
    check_task(svc, svc.leases.create(sd, second))
    path = xleases_path(svc, sd)
    one = svc.leases.lookup(sd, first)
    two = svc.leases.lookup(sd, second)
    assert (one.sd_id, one.lease_id, one.path, one.offset) == \
        (sd, first, path, 3 * MIB)
    assert (two.path, two.offset) == (path, 4 * MIB)
    # The sanlock resource is at that offset, in the domain's lockspace.
    res = sanlock.read_resource(path, one.offset)
    assert res["lockspace"] == sd.encode()
    assert res["resource"] == first.encode()
    index = read_index(path)
    assert index[512:576] == upstream_record(first, 3 * MIB)
    assert index[576:640] == upstream_record(second, 4 * MIB)
    assert index[640:704] == upstream_record("", 0)
    with pytest.raises(errors.NoSuchLease) as e:
        svc.leases.lookup(sd, new_id())
    assert e.value.code == 936


def test_metadata_struct_is_upstreams():
    md = xlease.IndexMetadata(lockspace="ls", mtime=1234567890,
                              updating=True)
    data = md.pack()
    assert len(data) == 512
    assert struct.unpack(">i", data[:4])[0] == 0x12152016
    assert data[59:69] == b"1234567890" and data[70:71] == b"u"
    assert xlease.IndexMetadata.parse(data) == md
    rec = xlease.Record("lease", 3 * MIB, updating=True)
    assert rec.pack() == upstream_record("lease", 3 * MIB, b"u")
    assert xlease.Record.parse(rec.pack()) == rec
