"""Verb registry: the map from wire names to handler functions.

A handler is a plain blocking function living in ``vdsm/api/<ns>.py``::

    @verb("Host.echo")
    def echo(ctx: CallContext, message: str) -> str:
        return message

It is called as ``handler(ctx, **params)`` with params already checked
against the schema (optional ones filled with their defaultvalue), keyed by
their wire names. It returns the wire value of the result (``None`` is sent
as ``true``) or raises a ``VdsmError``. The handler maps the call to one
subsystem call and shapes the result: no real work here.

A verb answered from memory (no I/O, no lock a blocking call may hold,
no subprocess) is declared ``@verb(name, on_loop=True)``: the dispatcher
runs it on the asyncio loop, skipping the hop to an executor thread and
back, and logs its successful calls at DEBUG (such a verb changes
nothing). Every other verb runs on the executor, with its timeout. An
on-loop handler that finds, before doing any work, that this call would
block after all (a site hook script to run) raises ``WouldBlock``: the
dispatcher then runs it on the executor like any other.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from vdsm import components
from vdsm.rpc.dispatch import Address
from vdsm.services import Services

Handler = Callable[..., Any]


class WouldBlock(Exception):
    """Raised by an on-loop handler before any work: run me on the
    executor."""

VERBS: dict[str, Handler] = {}
# The verbs declared on_loop=True.
ON_LOOP: set[str] = set()


def verb(name: str, on_loop: bool = False
         ) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        if name in VERBS:
            raise RuntimeError(f"verb {name} registered twice")
        VERBS[name] = func
        if on_loop:
            ON_LOOP.add(name)
        return func
    return register


def load_api_modules() -> dict[str, Handler]:
    for module in components.API_MODULES:
        importlib.import_module(module)
    return VERBS


@dataclass
class CallContext:
    """What a handler may know of the call it serves."""

    services: Services
    method: str = ""
    flow_id: str | None = None
    # (host, port ...) of the client and of our end of its connection.
    peer: Address | None = None
    local: Address | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Running on the asyncio loop (an on_loop verb): must not block.
    on_loop: bool = False
