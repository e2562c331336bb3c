"""Our schema against upstream Vdsm's, verb by verb.

For every verb we serve: the same param names, the same optionality and
defaults, and the same JSON kind as upstream's ``vdsm-api.yml`` (the facts
are in ``upstream_schema.py``). Where ours must differ, ``DIFFERENCES``
says why; each entry is checked to still be needed, so the table cannot
rot. Upstream in production never refuses a call for a param's type (its
check only logs); ours does, so where upstream's declared type is not what
oVirt Engine sends, ours follows the engine.
"""

from __future__ import annotations

from typing import Any

import pytest

from api.upstream_schema import OURS_ONLY, REQUIRED, UPSTREAM

from vdsm.api.schema import Schema

SCHEMA = Schema()

ENGINE_TYPE = "the engine sends another JSON type than upstream declares"

# (verb, param, what differs) -> why.
DIFFERENCES: dict[tuple[str, str, str], str] = {
    ("StorageDomain.create", "typeArgs", "kind"):
        ENGINE_TYPE + ": the connection path, a string (upstream declares "
        "a union of objects)",
    ("StorageDomain.create", "version", "kind"):
        ENGINE_TYPE + ": String storageFormatType (\"5\")",
    ("Host.getStorageDomains", "domainClass", "kind"):
        ENGINE_TYPE + ": an int (upstream's enum names classes)",
    ("Host.getStorageDomains", "storageType", "kind"):
        ENGINE_TYPE + ": String poolType",
    ("Image.delete", "postZero", "kind"): ENGINE_TYPE + ": String",
    ("Image.delete", "force", "kind"): ENGINE_TYPE + ": String",
    ("Image.move", "postZero", "kind"): ENGINE_TYPE + ": String",
    ("Image.deleteVolumes", "postZero", "kind"): ENGINE_TYPE + ": String",
    ("Image.deleteVolumes", "force", "kind"): ENGINE_TYPE + ": String",
    ("VM.merge", "bandwidth", "kind"): ENGINE_TYPE + ": String bandwidth",
    ("Image.move", "force", "kind"): ENGINE_TYPE + ": String",
    ("Volume.copy", "postZero", "kind"): ENGINE_TYPE + ": String",
    ("Volume.copy", "force", "kind"): ENGINE_TYPE + ": String",
    ("Volume.copy", "volType", "kind"):
        ENGINE_TYPE + ": int volType (6 SHARED; upstream's enum names "
        "roles)",
    ("VM.shutdown", "delay", "kind"): ENGINE_TYPE + ": String timeout",
    # Upstream's API.py defaults it to None: sources older than 4.0 omit
    # it.
    ("VM.migrationCreate", "incomingLimit", "optional"):
        "upstream's code defaults it (API.migrationCreate)",
    ("Volume.create", "diskType", "kind"):
        "upstream's enum (DiskContentType) also has legacy values (\"2\","
        " \"\"): ours is a string the verb checks against "
        "constants.DISK_TYPES (code 1000)",
    # withParameter("scsiKey", key) sends JSON null when the engine has no
    # key; our check refuses a required param sent as null.
    ("StoragePool.connect", "scsiKey", "optional"):
        "the engine may send null",
    ("StoragePool.disconnect", "scsiKey", "optional"):
        "the engine may send null",
    ("StoragePool.destroy", "scsiKey", "optional"):
        "the engine may send null",
    # Not fixed yet: the network tests and tools omit the empty maps;
    # the engine always sends all three.
    ("Host.setupNetworks", "bondings", "optional"):
        "pending: callers of ours omit it",
    ("Host.setupNetworks", "options", "optional"):
        "pending: callers of ours omit it",
    ("Host.getDeviceList", "storageType", "kind"):
        ENGINE_TYPE + ": int storageType (3 iSCSI, 2 FCP)",
    ("Host.fenceNode", "port", "kind"): ENGINE_TYPE + ": String port",
    ("Host.fenceNode", "secure", "kind"): ENGINE_TYPE + ": String secured",
    ("VM.snapshot", "frozen", "kind"):
        "ours also takes the string forms 'true'/'false' (api/vm_snapshot)",
}


def kind(type_: Any) -> str:
    """Our declared type as a JSON kind comparable to upstream's."""
    if isinstance(type_, list):
        return "list"
    if type_ == "dict":
        return "object"
    if type_ in ("boolean", "int", "uint", "long", "string", "any",
                 "float", "ulong"):
        return type_
    spec = SCHEMA.types[type_]
    if spec["type"] == "alias":
        return kind(spec["sourcetype"])
    if spec["type"] == "enum":
        return "enum"
    return "object"     # object, map, union


def _norm(default: Any) -> Any:
    return [] if default == () else default


def differences(verb: str) -> dict[tuple[str, str, str], str]:
    """What differs between our verb and upstream's, keyed like
    DIFFERENCES, valued with a description."""
    ours = {p.name: p for p in SCHEMA.verbs[verb].params}
    theirs = {name: (k, d) for name, k, d in UPSTREAM[verb]}
    found = {}
    for name in sorted(set(ours) - set(theirs)):
        found[(verb, name, "name")] = "ours only"
    for name in sorted(set(theirs) - set(ours)):
        found[(verb, name, "name")] = "upstream only"
    for name in sorted(set(ours) & set(theirs)):
        param, (their_kind, their_default) = ours[name], theirs[name]
        if param.optional != (their_default is not REQUIRED):
            found[(verb, name, "optional")] = (
                f"ours optional={param.optional}")
        elif param.optional and _norm(param.default) != _norm(
                their_default):
            found[(verb, name, "default")] = (
                f"ours {param.default!r}, upstream {their_default!r}")
        our_kind = kind(param.type)
        # An enum of ours may stand for upstream's enum or its numbers.
        if our_kind != their_kind and not (
                their_kind == "enum" and our_kind == "enum"):
            found[(verb, name, "kind")] = (
                f"ours {our_kind}, upstream {their_kind}")
    return found


SERVED = sorted(SCHEMA.verbs)


@pytest.mark.parametrize("verb", SERVED)
def test_verb_is_upstreams(verb):
    if verb in OURS_ONLY:
        pytest.skip(f"ours only: {OURS_ONLY[verb]}")
    assert verb in UPSTREAM, (
        f"{verb}: add upstream's params to tests/api/upstream_schema.py")
    unexplained = {k: v for k, v in differences(verb).items()
                   if k not in DIFFERENCES}
    assert unexplained == {}


def test_every_difference_is_still_real():
    found: dict = {}
    for verb in SERVED:
        if verb in UPSTREAM:
            found.update(differences(verb))
    stale = sorted(k for k in DIFFERENCES if k not in found)
    assert stale == []
