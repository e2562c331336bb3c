"""The on-disk metadata codecs (upstream's formats)."""

from __future__ import annotations

import hashlib

import pytest

from vdsm.storage import errors, metadata


def test_domain_roundtrip_and_seal():
    md = {"SDUUID": "x", "DESCRIPTION": "caf\u00e9", "ROLE": "Regular"}
    text = metadata.dump_domain(md)
    lines = text.splitlines()
    assert lines[:3] == ["DESCRIPTION=caf\u00e9", "ROLE=Regular",
                         "SDUUID=x"]
    body = "DESCRIPTION=caf&#233;ROLE=RegularSDUUID=x".encode()
    assert lines[3] == "_SHA_CKSUM=" + hashlib.sha1(body).hexdigest()
    assert metadata.parse_domain(text) == md


def test_broken_seal():
    text = metadata.dump_domain({"A": "1"}).replace("A=1", "A=2")
    with pytest.raises(errors.StorageDomainAccessError):
        metadata.parse_domain(text)


def test_unsealed_domain_metadata_is_read_as_is():
    assert metadata.parse_domain("A=1\nB=2\n") == {"A": "1", "B": "2"}


def test_refuses_newlines_in_values():
    with pytest.raises(errors.InvalidParameter):
        metadata.dump_domain({"A": "1\nB=2"})
    with pytest.raises(errors.InvalidParameter):
        metadata.dump_volume({"DESCRIPTION": "x\nLEGALITY=LEGAL"})


def test_volume_roundtrip_ends_with_eof():
    md = {"CAP": "1024", "LEGALITY": "LEGAL", "PUUID": "p"}
    text = metadata.dump_volume(md)
    assert text == "CAP=1024\nLEGALITY=LEGAL\nPUUID=p\nEOF\n"
    assert metadata.parse_volume(text + "JUNK=after eof\n") == md
