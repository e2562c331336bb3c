"""Checks JSON arguments against a privileged function's annotations.

Supported annotations: ``str``, ``int``, ``float`` (an int is accepted),
``bool``, ``None``, ``list[T]``, ``dict[str, T]``, unions (``X | None``)
and ``Literal[...]``. A bool is never an int. Bare ``list`` and ``dict``
accept any JSON array or object: only for functions that validate the
contents themselves against a closed vocabulary (network.apply_changes);
prefer the precise forms. ``supported`` rejects any
other annotation when a module is registered, so every privileged function
states exactly what it takes.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

_SCALARS = (str, int, float, bool, type(None))
_CONTAINERS = (list, dict)


def supported(annotation: Any) -> bool:
    if annotation is None or annotation in _SCALARS + _CONTAINERS:
        return True
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list:
        return len(args) == 1 and supported(args[0])
    if origin is dict:
        return len(args) == 2 and args[0] is str and supported(args[1])
    if origin in (typing.Union, types.UnionType):
        return all(supported(a) for a in args)
    if origin is Literal:
        return all(isinstance(a, (str, int)) for a in args)
    return False


def matches(value: Any, annotation: Any) -> bool:
    if annotation is None or annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return (isinstance(value, (int, float))
                and not isinstance(value, bool))
    if annotation is str:
        return isinstance(value, str)
    if annotation in _CONTAINERS:
        return isinstance(value, annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list:
        return isinstance(value, list) and all(
            matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            isinstance(k, str) and matches(v, args[1])
            for k, v in value.items())
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, a) for a in args)
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    return False


def describe(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
