"""The registry of callable privileged functions, built from the allowlist.

``Registry.load(MODULES)`` imports each ``vdsm.supervdsm.api.<name>``
module and registers its ``@privileged`` functions as ``"<name>.<func>"``
after checking that every parameter and the result are annotated with a
type ``typecheck`` supports. ``lookup`` re-checks the allowlist on every
call: the module must still be listed, the attribute must still be the
registered, marked function. ``checked`` adds the argument checks: the
server and the in-process caller (``vdsm.supervdsm.caller``) both call
it before running anything.

Tests may add modules with ``extra`` (full dotted names, registered under
their last component); supervdsmd passes them only from the
``VDSM_SUPERVDSM_TEST_MODULES`` environment variable, which production
units never set, and logs a warning when it does.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

from vdsm.supervdsm import allowlist, typecheck
from vdsm.supervdsm.errors import InvalidArguments, NoSuchFunction

API_PACKAGE = "vdsm.supervdsm.api"


@dataclass(frozen=True)
class Entry:
    name: str
    module: ModuleType
    func: Callable[..., Any]
    signature: inspect.Signature
    hints: dict[str, Any]


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._allowed_modules: set[str] = set()

    @classmethod
    def load(cls, modules: list[str], extra: list[str] | None = None
             ) -> Registry:
        reg = cls()
        for name in modules:
            reg.add_module(name, importlib.import_module(
                f"{API_PACKAGE}.{name}"))
        for dotted in extra or []:
            reg.add_module(dotted.rsplit(".", 1)[-1],
                           importlib.import_module(dotted))
        return reg

    def add_module(self, name: str, module: ModuleType) -> None:
        if name in self._allowed_modules:
            raise ValueError(f"duplicate privileged module {name}")
        self._allowed_modules.add(name)
        for attr, func in vars(module).items():
            if (allowlist.is_privileged(func)
                    and getattr(func, "__module__", None) == module.__name__):
                self._entries[f"{name}.{attr}"] = _entry(
                    f"{name}.{attr}", module, func)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def lookup(self, method: str) -> Entry:
        entry = self._entries.get(method)
        if entry is None:
            raise NoSuchFunction(method)
        module_name, attr = method.rsplit(".", 1)
        if (module_name not in self._allowed_modules
                or getattr(entry.module, attr, None) is not entry.func
                or not allowlist.is_privileged(entry.func)):
            raise NoSuchFunction(method)
        return entry

    def checked(self, method: str, args: list[Any],
                kwargs: dict[str, Any]) -> Entry:
        """What every call goes through before it runs, over the socket
        (``server``) or in-process (``caller.InProcess``): the name on
        the allowlist, the arguments matching the annotations."""
        entry = self.lookup(method)
        check_arguments(entry, args, kwargs)
        return entry


def check_arguments(entry: Entry, args: list[Any],
                    kwargs: dict[str, Any]) -> None:
    """Raise InvalidArguments unless args match the signature and types."""
    try:
        bound = entry.signature.bind(*args, **kwargs)
    except TypeError as e:
        raise InvalidArguments(f"{entry.name}: {e}") from None
    for pname, value in bound.arguments.items():
        annotation = entry.hints[pname]
        if not typecheck.matches(value, annotation):
            raise InvalidArguments(
                f"{entry.name}: argument {pname} must be "
                f"{typecheck.describe(annotation)}, "
                f"got {type(value).__name__}")


def _entry(name: str, module: ModuleType, func: Callable[..., Any]) -> Entry:
    signature = inspect.signature(func)
    hints = typing.get_type_hints(func)
    for pname, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"{name}: *args/**kwargs are not allowed")
        if pname not in hints or not typecheck.supported(hints[pname]):
            raise TypeError(f"{name}: parameter {pname} needs a supported "
                            "type annotation")
    if "return" not in hints or not typecheck.supported(hints["return"]):
        raise TypeError(f"{name}: the result needs a supported annotation")
    return Entry(name, module, func, signature, hints)
