"""Runs the configure modules in a fixed order.

A module is a Python module of this package with ``NAME``,
``is_configured(target) -> list[str]`` (the problems; empty when
configured) and ``configure(target, force) -> list[str]`` (what it changed;
empty when nothing needed changing). Order matters: the vdsm user and group
exist before files are chowned to them.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType
from typing import NamedTuple

from vdsm.tool.target import Target

log = logging.getLogger("vdsm.tool.configurator")

# Module name -> python module of this package, in the order they run.
MODULES: dict[str, str] = {
    "vdsm-user": "vdsm.tool.vdsm_user",
    "certificates": "vdsm.tool.certificates",
    "libvirt": "vdsm.tool.libvirt",
    "sanlock": "vdsm.tool.sanlock",
    "lvm": "vdsm.tool.lvm",
    "iscsi": "vdsm.tool.iscsi",
}


class Result(NamedTuple):
    name: str
    messages: list[str]
    error: str | None = None
    note: str | None = None


def names() -> list[str]:
    return list(MODULES)


def load(name: str) -> ModuleType:
    if name not in MODULES:
        raise KeyError(name)
    return importlib.import_module(MODULES[name])


def selected(requested: list[str] | None) -> list[str]:
    """``requested`` in the run order (all modules when empty)."""
    if not requested:
        return names()
    unknown = sorted(set(requested) - set(MODULES))
    if unknown:
        raise KeyError(", ".join(unknown))
    return [n for n in MODULES if n in requested]


def is_configured(target: Target, requested: list[str] | None = None
                  ) -> list[Result]:
    return [Result(name, load(name).is_configured(target),
                   note=describe(name, target))
            for name in selected(requested)]


def describe(name: str, target: Target) -> str | None:
    """A module's remark on this host (e.g. "lvm2 is not installed")."""
    func = getattr(load(name), "describe", None)
    return func(target) if func else None


def configure(target: Target, requested: list[str] | None = None,
              force: bool = False) -> list[Result]:
    """Configure each module; stop at the first failure."""
    results = []
    for name in selected(requested):
        log.info("CONFIGURE module=%s root=%s force=%s", name, target.root,
                 force)
        try:
            changes = load(name).configure(target, force)
        except Exception as e:
            log.exception("FAILED module=%s", name)
            results.append(Result(name, [], str(e)))
            break
        results.append(Result(name, changes, note=describe(name, target)))
    return results
