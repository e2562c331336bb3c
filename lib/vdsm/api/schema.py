"""The API schema: load vdsm-api.yml and check values against it.

The format is upstream Vdsm's YAML family:

* ``types:`` maps a name to a definition: ``type: object`` with
  ``properties`` (a list of ``{name, type, description, defaultvalue?}``),
  ``type: enum`` with ``values`` (a map of value to description),
  ``type: map`` with ``key-type`` and ``value-type``, ``type: union`` with
  ``values`` (a list of types), ``type: alias`` with ``sourcetype``.
* Primitives: ``boolean int uint long ulong float string``, plus ``any``
  (no check) and ``dict`` (any JSON object).
* A list of T is written ``[T]``.
* Every other top-level key ``Namespace.verb`` is a verb with ``params``
  (same shape as properties; a ``defaultvalue`` makes a param optional),
  ``return`` (``{type, description}``), ``description``, ``added``.

Events live in ``vdsm-events.yml``: keys are the method prefix
(``|virt|VM_status``), each with ``params`` like a verb; ``notify_time`` is
implied.

``check()`` raises ``SchemaError`` naming the path of the bad field
(``vmParams.memSize``). Params, results and events are always checked: bad
params fail the call; a bad result or event is logged (BAD_RESULT,
BAD_EVENT) and, only in strict mode (``[vars] strict_schema``, the tests),
fails the call or is refused. Strict mode also refuses unknown params and
unknown object properties, which are otherwise dropped or let through.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Callable

import yaml

events_log = logging.getLogger("vdsm.events")

HERE = os.path.dirname(__file__)
API_FILE = os.path.join(HERE, "vdsm-api.yml")
EVENTS_FILE = os.path.join(HERE, "vdsm-events.yml")

PRIMITIVES = {"boolean", "int", "uint", "long", "ulong", "float", "string",
              "any", "dict"}

_MISSING = object()


class SchemaError(Exception):
    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


@dataclass
class Param:
    name: str
    type: Any
    description: str
    default: Any = _MISSING

    @property
    def optional(self) -> bool:
        return self.default is not _MISSING


@dataclass
class Verb:
    name: str
    params: list[Param]
    ret: Any
    description: str
    added: str


def _params(raw: list[dict] | None) -> list[Param]:
    return [Param(p["name"], p["type"], p.get("description", ""),
                  p.get("defaultvalue", _MISSING)) for p in raw or []]


class Schema:
    def __init__(self, api_file: str = API_FILE,
                 events_file: str = EVENTS_FILE,
                 strict: bool = False) -> None:
        self.strict = strict
        with open(api_file) as f:
            raw = yaml.safe_load(f)
        self.types: dict[str, dict] = raw.pop("types", None) or {}
        # id(type spec) -> its Params; the specs live as long as self.
        self._field_cache: dict[int, list[Param]] = {}
        self._quick_cache: dict[Any, Callable[[Any], bool]] = {}
        self.verbs: dict[str, Verb] = {}
        for name, spec in raw.items():
            ret = spec.get("return") or {}
            self.verbs[name] = Verb(
                name, _params(spec.get("params")), ret.get("type"),
                spec.get("description", ""), str(spec.get("added", "")))
        self.events: dict[str, list[Param]] = {}
        if os.path.exists(events_file):
            with open(events_file) as f:
                for name, spec in (yaml.safe_load(f) or {}).items():
                    self.events[name] = _params(spec.get("params"))

    # Public checks.

    def check_params(self, method: str, params: Any) -> dict[str, Any]:
        """Return params as a dict keyed by name, defaults filled in."""
        verb = self.verbs[method]
        if isinstance(params, list):
            if len(params) > len(verb.params):
                raise SchemaError("", f"too many params for {method}")
            params = {p.name: v for p, v in zip(verb.params, params)}
        elif params is None:
            params = {}
        elif not isinstance(params, dict):
            raise SchemaError("params", "expected object or array")
        out = self._check_fields(verb.params, params, "", self.strict)
        # Unknown params are dropped (refused above in strict mode).
        return {p.name: out[p.name] for p in verb.params}

    def check_result(self, method: str, result: Any) -> None:
        ret = self.verbs[method].ret
        # Every result is checked: a quick pass first, the full check
        # only to name the path of what is wrong.
        if ret is not None and not self._conforms(ret, result):
            self.check(ret, result, "result")

    def vet_event(self, method: str, params: dict[str, Any]) -> None:
        """The event check the publisher is given (rpc.events.EventCheck).

        An event the schema does not know, or with wrong fields, is
        refused in strict mode (tests); production logs it and sends it.
        """
        try:
            self.check_event(method, params)
        except SchemaError as e:
            events_log.error("BAD_EVENT method=%s problem=%s", method, e)
            if self.strict:
                raise

    def check_event(self, method: str, params: dict[str, Any]) -> None:
        prefix = "|".join(method.split("|")[:3])
        spec = self.events.get(prefix)
        if spec is None:
            raise SchemaError(method, "event not in schema")
        params = {k: v for k, v in params.items() if k != "notify_time"}
        if len(spec) == 1 and spec[0].name == "*":
            # Keyed by an id: {<id>: value}.
            for key, value in params.items():
                self.check(spec[0].type, value, key)
            return
        self._check_fields(spec, params, "", True)

    def check(self, type_: Any, value: Any, path: str) -> Any:
        """Check value against type_; return it with nested defaults filled.

        The value given is never changed: objects and lists that get a
        default are copies.
        """
        if isinstance(type_, list):
            if not isinstance(value, list):
                raise SchemaError(path, f"expected list, got {_kind(value)}")
            return [self.check(type_[0], item, f"{path}[{i}]")
                    for i, item in enumerate(value)]
        if type_ in PRIMITIVES:
            _check_primitive(type_, value, path)
            return value
        if type_ in self.types:
            return self._check_defined(self.types[type_], value, path)
        raise SchemaError(path, f"unknown type {type_!r} in schema")

    # Helpers.

    def _conforms(self, type_: Any, value: Any) -> bool:
        """Whether check() would accept value: no copies, no paths."""
        return self._quick(type_)(value)

    def _quick(self, type_: Any) -> Callable[[Any], bool]:
        """type_ compiled once into a predicate (the quick pass of
        check_result runs on every result, some of them large)."""
        key = repr(type_) if isinstance(type_, list) else type_
        pred = self._quick_cache.get(key)
        if pred is None:
            # Recursive types reach themselves through this placeholder.
            self._quick_cache[key] = lambda v: self._quick_cache[key](v)
            pred = self._quick_cache[key] = self._compile(type_)
        return pred

    def _compile(self, type_: Any) -> Callable[[Any], bool]:
        if isinstance(type_, list):
            item = self._quick(type_[0])
            return lambda v: isinstance(v, list) and all(map(item, v))
        quick = _QUICK.get(type_)
        if quick is not None:
            return quick
        spec = self.types.get(type_)
        if spec is None:
            return lambda v: False
        kind = spec["type"]
        if kind == "object":
            return self._compile_object(spec)
        if kind == "enum":
            allowed = [(type(v), v) for v in spec["values"]]
            return lambda v: (type(v), v) in allowed
        if kind == "map":
            key, val = (self._quick(spec["key-type"]),
                        self._quick(spec["value-type"]))
            return lambda v: isinstance(v, dict) and all(
                key(k) and val(x) for k, x in v.items())
        if kind == "union":
            options = [self._quick(o) for o in spec["values"]]
            return lambda v: any(o(v) for o in options)
        if kind == "alias":
            return self._quick(spec["sourcetype"])
        return lambda v: False

    def _compile_object(self, spec: dict) -> Callable[[Any], bool]:
        fields = [(f.name, f.optional, self._quick(f.type))
                  for f in self._fields(spec)]
        known = frozenset(f[0] for f in fields)

        def conforms(value: Any) -> bool:
            if not isinstance(value, dict):
                return False
            for name, optional, pred in fields:
                v = value.get(name)
                if v is None:
                    if not optional:
                        return False
                elif not pred(v):
                    return False
            return not self.strict or known.issuperset(value)
        return conforms

    def _fields(self, spec: dict) -> list[Param]:
        """An object type's properties as Params, parsed once."""
        fields = self._field_cache.get(id(spec))
        if fields is None:
            fields = _params(spec.get("properties"))
            self._field_cache[id(spec)] = fields
        return fields

    def _check_defined(self, spec: dict, value: Any, path: str) -> Any:
        kind = spec["type"]
        if kind == "object":
            if not isinstance(value, dict):
                raise SchemaError(path, f"expected object, got {_kind(value)}")
            return self._check_fields(self._fields(spec), value,
                                      path + ".", self.strict, nested=True)
        if kind == "enum":
            # Same type, not just equal: True == 1 and 1.0 == 1, and a
            # list or object is not hashable.
            if not any(type(value) is type(v) and value == v
                       for v in spec["values"]):
                allowed = ", ".join(map(str, spec["values"]))
                raise SchemaError(path, f"{value!r} is not one of {allowed}")
            return value
        if kind == "map":
            if not isinstance(value, dict):
                raise SchemaError(path, f"expected map, got {_kind(value)}")
            out = {}
            for k, v in value.items():
                self.check(spec["key-type"], k, f"{path}[{k!r}]")
                out[k] = self.check(spec["value-type"], v, f"{path}.{k}")
            return out
        if kind == "union":
            errors = []
            for option in spec["values"]:
                try:
                    return self.check(option, value, path)
                except SchemaError as e:
                    errors.append(e.problem)
            raise SchemaError(path, "matches no type of the union: "
                              + "; ".join(errors))
        if kind == "alias":
            return self.check(spec["sourcetype"], value, path)
        raise SchemaError(path, f"unknown schema kind {kind!r}")

    def _check_fields(self, fields: list[Param], value: dict, prefix: str,
                      strict: bool, nested: bool = False) -> dict[str, Any]:
        """Check the fields of an object; return a copy, defaults filled.

        A verb's own params are all present in the result (None when
        omitted without a default). In nested objects a defaultvalue of
        None only marks the field optional: it is left out, so handlers
        can tell "not sent" from "sent".
        """
        out = dict(value)
        for field in fields:
            path = prefix + field.name
            if field.name not in value or value[field.name] is None:
                if not field.optional:
                    raise SchemaError(path, "missing required field")
                if not nested or field.default is not None:
                    out[field.name] = field.default
                continue
            out[field.name] = self.check(field.type, value[field.name], path)
        if strict:
            known = {f.name for f in fields}
            unknown = sorted(set(value) - known)
            if unknown:
                raise SchemaError(prefix + unknown[0], "unknown field")
        return out


def _kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean",
            int: "int", float: "float", type(None): "null"}.get(
                type(value), type(value).__name__)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Primitive checks agreeing with _check_primitive, without paths.
_QUICK: dict[str, Callable[[Any], bool]] = {
    "any": lambda v: True,
    "dict": lambda v: isinstance(v, dict),
    "boolean": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "int": _is_int,
    "long": _is_int,
    "uint": lambda v: _is_int(v) and v >= 0,
    "ulong": lambda v: _is_int(v) and v >= 0,
}


def _check_primitive(type_: str, value: Any, path: str) -> None:
    ok: bool
    if type_ == "any":
        ok = True
    elif type_ == "dict":
        ok = isinstance(value, dict)
    elif type_ == "boolean":
        ok = isinstance(value, bool)
    elif type_ == "string":
        ok = isinstance(value, str)
    elif type_ == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and type_ in ("uint", "ulong") and value < 0:
            raise SchemaError(path, f"expected {type_}, got negative {value}")
    if not ok:
        raise SchemaError(path, f"expected {type_}, got {_kind(value)}")
