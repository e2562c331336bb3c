"""The import layers of lib/vdsm, read from the source (ast), not by
importing: a function-level or TYPE_CHECKING import counts too.

    daemon.py           builds everything
    api/                verbs, schema, wire shapes: the only wire edge
    rpc/                transport; calls api through rpc.dispatch only
    virt/ storage/ network/ host/   subsystems: typed values, no wire
    supervdsm/          the privileged daemon and its callers
    common/             what every layer uses (config, errors, commands)

The transport knows nothing of the API (its Dispatcher protocol and the
injected event check stand between them), the subsystems and supervdsm
know neither, and common/ knows nothing above it.
"""

from __future__ import annotations

import ast
import os

import pytest

LIB = os.path.join(os.path.dirname(__file__), "..", "..", "lib")

SUBSYSTEMS = ("vdsm.virt", "vdsm.storage", "vdsm.network", "vdsm.host")

# (importer package, packages it must not import)
FORBIDDEN = [("vdsm.rpc", ("vdsm.api",))] + [
    (pkg, ("vdsm.api", "vdsm.rpc"))
    for pkg in SUBSYSTEMS + ("vdsm.supervdsm",)] + [
    ("vdsm.common", ("vdsm.api", "vdsm.rpc", "vdsm.supervdsm", "vdsm.daemon",
                     "vdsm.services") + SUBSYSTEMS)] + [
    # network calls supervdsm's declared functions (supervdsm.caller) in
    # the vocabulary of supervdsm.netchanges; never the other way round.
    ("vdsm.supervdsm", ("vdsm.network",))]


def module_name(path: str) -> str:
    rel = os.path.relpath(path, LIB)[:-len(".py")]
    parts = rel.split(os.sep)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(source: str, module: str, is_package: bool) -> set[str]:
    """Every module name source imports; ``from a import b`` gives both
    ``a`` and ``a.b`` (b may be a submodule)."""
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def sources() -> list[str]:
    return sorted(os.path.join(top, name)
                  for top, _, files in os.walk(os.path.join(LIB, "vdsm"))
                  for name in files if name.endswith(".py"))


def violations(module: str, names: set[str]) -> list[str]:
    found = []
    for importer, banned in FORBIDDEN:
        if module != importer and not module.startswith(importer + "."):
            continue
        for name in sorted(names):
            if any(name == b or name.startswith(b + ".") for b in banned):
                found.append(f"{module} imports {name}")
    return found


def test_layers():
    found = []
    checked = 0
    for path in sources():
        module = module_name(path)
        with open(path) as f:
            names = imported(f.read(), module,
                             path.endswith("__init__.py"))
        found += violations(module, names)
        checked += 1
    assert checked > 50, "lib/vdsm not found"
    assert found == []


@pytest.mark.parametrize("module,source", [
    ("vdsm.rpc.connection", "from vdsm.api.registry import CallContext"),
    ("vdsm.rpc.events", "def f():\n    from vdsm.api import schema\n"),
    ("vdsm.rpc.x", "from ..api import dispatcher"),
    ("vdsm.virt.vm", "import vdsm.rpc.jsonrpc"),
    ("vdsm.storage.repository", "from vdsm import api"),
    ("vdsm.supervdsm.server", "from vdsm.rpc import stomp"),
    ("vdsm.common.commands", "from vdsm.storage import errors"),
    ("vdsm.host.component",
     "from typing import TYPE_CHECKING\n"
     "if TYPE_CHECKING:\n    from vdsm.api.host_wire import stats\n"),
])
def test_violation_found(module, source):
    assert violations(module, imported(source, module, False))


@pytest.mark.parametrize("module,source", [
    ("vdsm.rpc.connection", "from vdsm.rpc.dispatch import Peer"),
    ("vdsm.api.dispatcher", "from vdsm.rpc import jsonrpc"),
    ("vdsm.virt.component", "from vdsm.services import EventSink"),
    ("vdsm.network.caps", "from . import netinfo"),
    ("vdsm.storage.x", "from vdsm.apixyz import y"),
])
def test_allowed(module, source):
    assert not violations(module, imported(source, module, False))
