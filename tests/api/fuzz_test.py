"""Every verb of the schema, fed bad input: a clear error, no crash.

One real vdsmd (strict schema, storage repository under a temporary dir,
short storage timeouts, no supervdsmd: mounts fail fast) with one LOCALFS
domain laid out by hand gets, for each verb of vdsm-api.yml:

1. Input the schema refuses: no params, each required param missing, each
   param (and each field of a nested object, each list item, each map
   value) replaced by a value of a wrong JSON type, an unknown param. The
   answer must be -32602 naming the field: such calls never reach a
   handler.
2. Input the schema accepts but that means nothing: random UUIDs, odd
   strings, negative and huge ints, the first and last values of enums,
   objects filled recursively, empty and one-item lists, maps with a
   garbage key. The answer must be a result or a Vdsm error with a
   positive code: never -32603 (a handler bug), never a ``FAIL method=``
   traceback in the log, and Host.ping2 still answers afterwards.

Values come from a random generator seeded per verb (``SEED``), so a
failure reproduces alone: ``-k 'garbage and VM.create'``.
"""

from __future__ import annotations

import os
import random
import subprocess
import uuid
from typing import Any, Iterator

import pytest

from vdsm import client
from vdsm.api import schema as schema_mod
from vdsm.storage import constants as sc
from vdsm.storage import metadata

from fixtures.vdsmd import Vdsmd

pytestmark = [pytest.mark.root, pytest.mark.slow]

SEED = 20240521

SCHEMA = schema_mod.Schema(strict=True)

# Verbs whose schema-valid garbage could change this machine outside the
# test's own dirs.
EXCLUDED = {
    # The test vdsmd manages the host's own network namespace ([network]
    # netns is empty): a garbage network could take a real link down or
    # rewrite the persisted network config.
    "Host.setupNetworks": "changes the host's real network",
    "Host.setSafeNetworkConfig": "persists the host's real network config",
}

# Schema-valid odd strings. No absolute path of this machine: a LOCALFS
# connection to one would make domains there.
STRINGS = ["", "../../etc/passwd", "x" * 5000, "\u0000", "a\nb", "-1",
           " ", "%s%n", "\u2603\U0001f600", "<domain/>", "/nonexistent/x",
           "nfs:/export", "None", ".", ".."]
INTS = [0, -1, 1, -2**63, 2**63 - 1, 2**64, 4096]
FLOATS = [0.0, -1.5, 1e308]
ANY = ["", "x" * 5000, -1, 2**64, 1.5, True, [], {}, {"x": [1]},
       "../../etc/passwd", "\u0000"]
# Values a wrong-type check tries; those the schema accepts are skipped.
WRONG = [5, "x", 1.5, True, [], {}]

CALL_TIMEOUT = 30


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class Garbage:
    """Schema-valid values of a type, drawn from one random generator."""

    def __init__(self, rng: random.Random, known: list[str]) -> None:
        self.rng = rng
        # Ids of things the daemon has (a domain, an image): garbage
        # around a real id reaches deeper than "no such domain".
        self.known = known

    def candidates(self, type_: Any, depth: int = 0) -> list[Any]:
        """A few values of type_, covering its edge cases."""
        if isinstance(type_, list):
            if depth > 2:
                return [[]]
            return [[], [self.one(type_[0], depth + 1)]]
        if type_ == "UUID":
            return [_uuid(self.rng), _uuid(self.rng), _uuid(self.rng),
                    _uuid(self.rng).upper(), *self.known,
                    *self.rng.sample(STRINGS, 3)]
        if type_ in ("string",):
            return list(STRINGS)
        if type_ in ("int", "long"):
            return list(INTS)
        if type_ in ("uint", "ulong"):
            return [v for v in INTS if v >= 0]
        if type_ == "float":
            return list(FLOATS)
        if type_ == "boolean":
            return [True, False]
        if type_ == "any":
            return list(ANY)
        if type_ == "dict":
            return [{}, {"\u0000": "x"}, {"garbage": ["x"]}]
        spec = SCHEMA.types[type_]
        kind = spec["type"]
        if kind == "alias":
            return self.candidates(spec["sourcetype"], depth)
        if kind == "enum":
            # Small enums (domain types ...) in full: each value may take
            # another path in the handler.
            values = list(spec["values"])
            return values if len(values) <= 8 else [values[0], values[-1]]
        if kind == "union":
            return [v for option in spec["values"]
                    for v in self.candidates(option, depth)]
        if kind == "map":
            if depth > 2:
                return [{}]
            key = self.rng.choice(["../x", "", "\u0000",
                                   _uuid(self.rng)])
            return [{}, {key: self.one(spec["value-type"], depth + 1)}]
        if kind == "object":
            fields = schema_mod._params(spec.get("properties"))
            return [self.fill(fields, depth + 1, optional=False),
                    self.fill(fields, depth + 1, optional=True)]
        raise AssertionError(f"no garbage for {type_}")

    def one(self, type_: Any, depth: int = 0) -> Any:
        return self.rng.choice(self.candidates(type_, depth))

    def fill(self, fields: list[schema_mod.Param], depth: int = 0,
             optional: bool = True) -> dict[str, Any]:
        return {f.name: self.one(f.type, depth) for f in fields
                if not f.optional or optional and self.rng.random() < 0.5}


def garbage_cases(verb: schema_mod.Verb,
                  known: list[str]) -> Iterator[dict[str, Any]]:
    """Each value of each param, the others drawn at random."""
    gen = Garbage(random.Random(f"{SEED}:{verb.name}"), known)
    yield gen.fill(verb.params, optional=False)
    for param in verb.params:
        for value in gen.candidates(param.type):
            params = gen.fill(verb.params)
            params[param.name] = value
            yield params


def wrong_cases(verb: schema_mod.Verb) -> Iterator[tuple[Any, str]]:
    """(params, path the error must name): input the schema refuses."""
    gen = Garbage(random.Random(f"{SEED}:wrong:{verb.name}"), [])
    required = [p for p in verb.params if not p.optional]
    if required:
        yield None, required[0].name
        yield {}, required[0].name
    base = gen.fill(verb.params, optional=True)
    for param in required:
        yield {k: v for k, v in base.items() if k != param.name}, \
            param.name
    for param in verb.params:
        value = gen.one(param.type)
        for bad, path in _wrong_values(param.type, value, param.name, gen):
            yield {**base, param.name: bad}, path
    yield {**base, "fuzzUnknownParam": 1}, "fuzzUnknownParam"


def _wrong_values(type_: Any, good: Any, path: str,
                  gen: Garbage) -> Iterator[tuple[Any, str]]:
    """Values of type_ (made from good) refused at path or below."""
    for value in WRONG:
        if not _accepted(type_, value):
            yield value, path
    spec = SCHEMA.types.get(type_) if isinstance(type_, str) else None
    while spec is not None and spec["type"] == "alias":
        spec = SCHEMA.types.get(spec["sourcetype"])
    if isinstance(type_, list):
        item = gen.one(type_[0], 1)
        for bad, sub in _wrong_values(type_[0], item, f"{path}[0]", gen):
            yield [bad], sub
    elif spec is not None and spec["type"] == "object":
        fields = schema_mod._params(spec.get("properties"))
        full = {**gen.fill(fields, 1), **good}
        for field in fields:
            if not field.optional:
                yield ({k: v for k, v in full.items() if k != field.name},
                       f"{path}.{field.name}")
            inner = full.get(field.name, gen.one(field.type, 1))
            for bad, sub in _wrong_values(field.type, inner,
                                          f"{path}.{field.name}", gen):
                yield {**full, field.name: bad}, sub
    elif spec is not None and spec["type"] == "map":
        inner = gen.one(spec["value-type"], 1)
        for bad, sub in _wrong_values(spec["value-type"], inner,
                                      f"{path}.k", gen):
            yield {"k": bad}, sub


def _accepted(type_: Any, value: Any) -> bool:
    try:
        SCHEMA.check(type_, value, "")
        return True
    except schema_mod.SchemaError:
        return False


def verbs() -> list[Any]:
    out = []
    for name in sorted(SCHEMA.verbs):
        marks = []
        if name in EXCLUDED:
            marks.append(pytest.mark.skip(reason=EXCLUDED[name]))
        out.append(pytest.param(name, marks=marks, id=name))
    return out


# The daemon.


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, host_pki: Any,
           libvirtd: None) -> Iterator[Vdsmd]:
    if os.geteuid() != 0:
        pytest.skip("vdsmd's storage and virt need root")
    root = tmp_path_factory.mktemp("fuzz")
    d = Vdsmd(str(root), host_pki, {
        "irs": {"repository": str(root / "repository"),
                "process_pool_timeout": "2",
                "sd_health_check_delay": "1"},
        "supervdsm": {"call_timeout": "2"},
        "sanlock": {"io_timeout": "1"},
        "jobs": {"autodelete_delay": "1"},
        "vars": {"rpc_call_timeout": "20"},
    })
    d.start()
    d.wait_ready()
    yield d
    assert d.stop() == 0, d.output()


@pytest.fixture(scope="module")
def cli(daemon: Vdsmd) -> Iterator[client.Client]:
    with daemon.client(timeout=CALL_TIMEOUT) as c:
        yield c


@pytest.fixture(scope="module")
def connected_localfs(daemon: Vdsmd, cli: client.Client) -> str:
    """A LOCALFS connection for the domain of known_ids."""
    localfs = os.path.join(daemon.root, "localfs")
    os.makedirs(localfs)
    status = cli.StoragePool.connectStorageServer(
        storagepoolID=sc.BLANK_UUID, domainType=sc.LOCALFS,
        connectionParams=[{"id": "fuzz", "connection": localfs}])
    assert status == [{"id": "fuzz", "status": 0}]
    return localfs


@pytest.fixture
def known_ids(cli: client.Client, connected_localfs: str) -> list[str]:
    """A LOCALFS domain with an empty image, laid out by hand.

    StorageDomain.create needs sanlock; the domain verbs only read the
    metadata. Garbage on its id writes nowhere but this test's dirs. Laid
    out again for each verb: StorageDomain.format removes it.
    """
    rng = random.Random(f"{SEED}:known")
    sd_id, img_id = _uuid(rng), _uuid(rng)
    md_dir = os.path.join(connected_localfs, sd_id, "dom_md")
    os.makedirs(md_dir, exist_ok=True)
    os.makedirs(os.path.join(connected_localfs, sd_id, "images", img_id),
                exist_ok=True)
    with open(os.path.join(md_dir, "metadata"), "w") as f:
        f.write(metadata.dump_domain({
            "CLASS": "Data", "DESCRIPTION": "fuzz", "IOOPTIMEOUTSEC": "1",
            "POOL_UUID": "", "REMOTE_PATH": connected_localfs,
            "ROLE": "Regular", "SDUUID": sd_id, "TYPE": "LOCALFS",
            "VERSION": "5", "BLOCK_SIZE": "512", "ALIGNMENT": "1048576"}))
    assert cli.StorageDomain.getInfo(storagedomainID=sd_id)["name"] == "fuzz"
    return [sd_id, img_id]


def libvirt_uuids() -> set[str]:
    out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all",
                          "--uuid"], capture_output=True, text=True,
                         check=True).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def _call(cli: client.Client, method: str, params: Any) -> tuple[str, Any]:
    try:
        return "ok", cli.call(method, params)
    except client.ServerError as e:
        return "error", e


# The tests.


@pytest.mark.parametrize("method", verbs())
def test_refused(daemon, cli, method):
    """Input the schema refuses: -32602 naming the field."""
    start = len(daemon.log())
    failures = []
    for params, path in wrong_cases(SCHEMA.verbs[method]):
        kind, out = _call(cli, method, params)
        if kind == "ok" or out.code != -32602 or path not in out.message:
            failures.append(f"{params!r:.300} (want -32602 naming {path}): "
                            f"{out!r:.300}")
    assert not failures, "\n".join(failures)
    # Refused at the edge: no handler ran, so no result=ok.
    ran = [line for line in daemon.log()[start:].splitlines()
           if f"method={method} " in line and "result=ok" in line]
    assert not ran, ran[:5]
    assert cli.Host.ping2() is True


@pytest.mark.parametrize("method", verbs())
def test_garbage(daemon, cli, known_ids, method):
    """Valid-typed garbage: a result or a Vdsm error, never a crash."""
    start = len(daemon.log())
    failures = []
    sent = 0
    vm_ids: set[str] = set()
    for params in garbage_cases(SCHEMA.verbs[method], known_ids):
        sent += 1
        if method == "VM.create":
            vm_ids.add(str(params["vmID"]).lower())
        kind, out = _call(cli, method, params)
        if kind == "error" and out.code <= 0:
            failures.append(f"{params!r:.300}: {out!r:.300}")
        if method == "VM.create":
            if kind == "ok":
                failures.append(f"{params!r:.300}: created {out!r:.200}")
            elif out.code != 9 and _canonical(params["vmID"]) and \
                    params["vmParams"].get("vmId") in (None,
                                                       params["vmID"]):
                failures.append(f"{params!r:.300}: want code 9, "
                                f"got {out!r:.300}")
    assert cli.Host.ping2() is True
    log = daemon.log()[start:]
    tracebacks = [line for line in log.splitlines()
                  if "FAIL method=" in line or "BAD_RESULT" in line]
    assert not failures, f"{len(failures)}/{sent} failed:\n" + \
        "\n".join(failures[:20])
    assert not tracebacks, "\n".join(tracebacks[:20])
    # Other tests may run guests on this host meanwhile: look for ours.
    if vm_ids:
        assert not vm_ids & libvirt_uuids()


def _canonical(value: Any) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except (TypeError, ValueError):
        return False

