"""On-disk metadata codecs: domain metadata and volume .meta files.

Both are ``KEY=VALUE`` lines, the format upstream Vdsm writes, so a domain
made by one can be read by the other.

* Domain metadata (``dom_md/metadata``) is sealed: lines sorted by key,
  then ``_SHA_CKSUM=<sha1>`` where the sha1 runs over the ``KEY=VALUE``
  lines (no newlines), non-ascii written as XML character references.
* Volume metadata (``<vol>.meta``) lists its keys, then a line ``EOF``.

Pure functions over text; the I/O is done by the caller (out of process).
"""

from __future__ import annotations

import hashlib

from vdsm.storage import errors

SHA_CKSUM = "_SHA_CKSUM"
EOF_MARK = "EOF"


class MetadataSealBroken(errors.StorageDomainAccessError):
    """The domain metadata was changed behind vdsm's back (upstream's
    MetaDataSealIsBroken): the domain cannot be trusted until fixed."""
    code = 752
    message = "Storage domain metadata checksum does not match"


def _line(key: str, value: str) -> str:
    return f"{key}={value.strip()}"


def _checksum(md: dict[str, str]) -> str:
    sha = hashlib.sha1()
    for key in sorted(md):
        sha.update(_line(key, md[key]).encode("ascii", "xmlcharrefreplace"))
    return sha.hexdigest()


def dump_domain(md: dict[str, str]) -> str:
    for key, value in md.items():
        if "\n" in key + value or "=" in key:
            raise errors.InvalidParameter("bad metadata entry", key=key)
    lines = [_line(k, md[k]) for k in sorted(md)]
    lines.append(_line(SHA_CKSUM, _checksum(md)))
    return "".join(line + "\n" for line in lines)


def parse_domain(text: str) -> dict[str, str]:
    md: dict[str, str] = {}
    declared = None
    for line in text.splitlines():
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        if key == SHA_CKSUM:
            declared = value.strip()
        else:
            md[key] = value.strip()
    if declared is not None and declared != _checksum(md):
        raise MetadataSealBroken(declared=declared, computed=_checksum(md))
    return md


def dump_volume(md: dict[str, str]) -> str:
    for key, value in md.items():
        if "\n" in str(value) or "=" in key:
            raise errors.InvalidParameter("bad metadata entry", key=key)
    lines = [f"{k}={md[k]}" for k in sorted(md)]
    lines.append(EOF_MARK)
    return "".join(line + "\n" for line in lines)


def parse_volume(text: str) -> dict[str, str]:
    md: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() == EOF_MARK:
            break
        if "=" in line:
            key, value = line.split("=", 1)
            md[key.strip()] = value.strip()
    return md
