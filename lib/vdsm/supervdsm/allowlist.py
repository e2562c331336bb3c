"""The explicit allowlist of supervdsmd's privileged functions.

A privileged function is a small, specific, module-level function in a
module under ``vdsm.supervdsm.api`` (``mount.mount(...)``,
``network.set_link_mtu(...)``), marked with ``@privileged``. Its arguments
and result are JSON primitives; its annotations are the argument types the
server checks before calling. The server registers only marked functions of
the modules listed in ``MODULES``, and re-checks the registry before every
call. Clients call them by ``"<module>.<function>"``.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# Modules of vdsm.supervdsm.api whose @privileged functions may be called.
# One line each.
MODULES: list[str] = [
    "mount",
    "fs",
    "devices",
    "network",
    "lldp",
    "ksm",
    "externaldata",
    "mirroring",
]

_MARK = "__vdsm_privileged__"


def privileged(func: F) -> F:
    setattr(func, _MARK, True)
    return func


def is_privileged(func: Any) -> bool:
    return callable(func) and getattr(func, _MARK, False) is True
