"""The error registry: one class per code, one class per name, upstream's
numbers.

Every vdsm module is imported first, so every error class is registered.
"""

from __future__ import annotations

import collections
import importlib
import pkgutil

import pytest

import vdsm
from common.upstream_error_codes import RENAMED, UPSTREAM
from vdsm.common import exception

# Modules that cannot be imported here, with the reason.
SKIP: dict[str, str] = {}


def _import_all() -> list[str]:
    failed = []
    for mod in pkgutil.walk_packages(vdsm.__path__, "vdsm."):
        if mod.name in SKIP:
            continue
        try:
            importlib.import_module(mod.name)
        except ImportError as e:
            failed.append(f"{mod.name}: {e}")
    return failed


@pytest.fixture(scope="module")
def registered() -> tuple[type[exception.VdsmError], ...]:
    failed = _import_all()
    assert failed == [], "add to SKIP with a reason, or fix the import"
    return tuple(c for c in exception.classes()
                 if c.__module__.startswith("vdsm."))


def _owners(classes: tuple[type[exception.VdsmError], ...]
            ) -> dict[int, list[type[exception.VdsmError]]]:
    by_code = collections.defaultdict(list)
    for cls in classes:
        if exception.declares_code(cls) and not exception.declared_alias(cls):
            by_code[cls.code].append(cls)
    return by_code


def _where(classes: list[type[exception.VdsmError]]) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in classes]


def test_every_subsystem_registers(registered):
    modules = {c.__module__ for c in registered}
    for mod in ("vdsm.common.exception", "vdsm.storage.errors",
                "vdsm.network.errors", "vdsm.virt.errors",
                "vdsm.supervdsm.errors", "vdsm.tool.errors"):
        assert mod in modules


def test_one_owner_per_code(registered):
    shared = {code: _where(classes)
              for code, classes in _owners(registered).items()
              if len(classes) > 1}
    assert shared == {}, "declare alias_of for an intended shared code"


def test_aliases_share_their_owners_code(registered):
    owners = _owners(registered)
    for cls in registered:
        target = exception.declared_alias(cls)
        if target is None:
            continue
        assert exception.declares_code(cls), cls
        assert cls.code == target.code, cls
        assert owners[cls.code] == [target], cls


def test_class_names_are_unique(registered):
    names = collections.defaultdict(list)
    for cls in registered:
        names[cls.__name__].append(cls)
    twice = {n: _where(c) for n, c in names.items() if len(c) > 1}
    assert twice == {}


def test_codes_match_upstream_by_name(registered):
    differ = {}
    for cls in registered:
        if not exception.declares_code(cls):
            continue
        name = RENAMED.get(cls.__name__, cls.__name__)
        if name in UPSTREAM and UPSTREAM[name] != cls.code:
            differ[cls.__name__] = (cls.code, name, UPSTREAM[name])
    assert differ == {}


def test_owned_codes_are_upstream_codes(registered):
    # A code we own is upstream's code for the same error: no invented
    # numbers, no upstream number reused for another meaning.
    names_of = collections.defaultdict(set)
    for name, code in UPSTREAM.items():
        names_of[code].add(name)
    wrong = {}
    for code, classes in _owners(registered).items():
        for cls in classes:
            name = RENAMED.get(cls.__name__, cls.__name__)
            if name not in names_of[code]:
                wrong[cls.__name__] = (code, sorted(names_of[code]))
    assert wrong == {}


def test_renamed_names_exist(registered):
    ours = {c.__name__ for c in registered}
    assert set(RENAMED) - ours == set()
    assert set(RENAMED.values()) - set(UPSTREAM) == set()


def test_registry_sees_a_clash():
    # The registry records classes defined anywhere (here: in a test), so
    # the checks above would see a second owner of a code.
    class Clash(exception.VdsmError):
        code = exception.NoSuchVM.code

    clashes = _owners((exception.NoSuchVM, Clash))
    assert clashes[exception.NoSuchVM.code] == [exception.NoSuchVM, Clash]
    assert Clash in exception.classes()
