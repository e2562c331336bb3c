"""Allowlist registration and argument checks from annotations."""

from __future__ import annotations

import types
from typing import Literal

import pytest

from vdsm.supervdsm import allowlist, typecheck
from vdsm.supervdsm.allowlist import privileged
from vdsm.supervdsm.errors import InvalidArguments, NoSuchFunction
from vdsm.supervdsm.registry import Registry, check_arguments


def make_module(**funcs):
    mod = types.ModuleType("fake_api")
    for name, func in funcs.items():
        func.__module__ = mod.__name__
        setattr(mod, name, func)
    return mod


@privileged
def set_mtu(dev: str, mtu: int, tags: list[str] | None = None) -> bool:
    return True


def helper(x: str) -> None:
    pass


def test_production_allowlist_loads():
    reg = Registry.load(allowlist.MODULES)
    assert "mount.mount" in reg.names()
    assert "fs.mkdir" in reg.names()
    assert all(n.split(".")[0] in allowlist.MODULES for n in reg.names())


def test_only_marked_functions_registered():
    reg = Registry()
    reg.add_module("net", make_module(set_mtu=set_mtu, helper=helper))
    assert reg.names() == ["net.set_mtu"]
    with pytest.raises(NoSuchFunction):
        reg.lookup("net.helper")


def test_lookup_rechecks_module_attribute():
    mod = make_module(set_mtu=set_mtu)
    reg = Registry()
    reg.add_module("net", mod)
    assert reg.lookup("net.set_mtu").func is set_mtu
    mod.set_mtu = helper
    with pytest.raises(NoSuchFunction):
        reg.lookup("net.set_mtu")


def test_unannotated_function_rejected():
    @privileged
    def bad(dev, mtu: int) -> None:
        pass
    with pytest.raises(TypeError, match="parameter dev"):
        Registry().add_module("net", make_module(bad=bad))


def test_varargs_rejected():
    @privileged
    def bad(*args: str) -> None:
        pass
    with pytest.raises(TypeError, match=r"\*args"):
        Registry().add_module("net", make_module(bad=bad))


def test_unsupported_annotation_rejected():
    @privileged
    def bad(x: object) -> None:
        pass
    with pytest.raises(TypeError):
        Registry().add_module("net", make_module(bad=bad))


@pytest.mark.parametrize("args,kwargs,ok", [
    (["eth0", 1500], {}, True),
    (["eth0", 1500, ["a"]], {}, True),
    (["eth0"], {"mtu": 9000, "tags": None}, True),
    (["eth0", "1500"], {}, False),
    (["eth0", 1500.0], {}, False),
    (["eth0", True], {}, False),
    (["eth0", 1500, [1]], {}, False),
    ([1, 1500], {}, False),
    (["eth0"], {}, False),
    (["eth0", 1500], {"other": 1}, False),
])
def test_check_arguments(args, kwargs, ok):
    reg = Registry()
    reg.add_module("net", make_module(set_mtu=set_mtu))
    entry = reg.lookup("net.set_mtu")
    if ok:
        check_arguments(entry, args, kwargs)
    else:
        with pytest.raises(InvalidArguments):
            check_arguments(entry, args, kwargs)


@pytest.mark.parametrize("value,annotation,ok", [
    (1, float, True),
    (True, float, False),
    ({"a": [1]}, dict[str, list[int]], True),
    ({"a": ["1"]}, dict[str, list[int]], False),
    ("up", Literal["up", "down"], True),
    ("sideways", Literal["up", "down"], False),
    (None, str | None, True),
])
def test_typecheck(value, annotation, ok):
    assert typecheck.supported(annotation)
    assert typecheck.matches(value, annotation) is ok


@pytest.mark.parametrize("value,annotation,ok", [
    ([{"a": 1}], list, True),
    ({"a": 1}, list, False),
    ({"a": [1]}, dict, True),
    ("s", dict, False),
])
def test_bare_containers(value, annotation, ok):
    assert typecheck.supported(annotation)
    assert typecheck.matches(value, annotation) is ok
