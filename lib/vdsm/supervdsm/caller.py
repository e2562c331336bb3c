"""Typed calls of privileged functions, over the socket or in-process.

    priv = caller.over_socket(config)     # vdsmd: through supervdsmd
    priv = caller.in_process(config)      # already root: tests,
                                          # vdsm-tool restore-nets
    applied = priv(network.apply_changes, changes, netns)

A privileged function is declared once, where it is defined
(``vdsm.supervdsm.api.<module>``, ``@privileged``, its annotations). The
caller passes the function itself: its module and name give the call's
name (``"network.apply_changes"``) and mypy checks the arguments and the
result against the declaration, so no interface is written again on the
calling side.

Both transports take the same path through supervdsm's checks. The
socket one is ``client.SupervdsmClient``; ``InProcess`` skips only the
socket and the peer check: the request goes through JSON as it would on
the wire (a non-JSON argument is refused, a tuple arrives as a list), the
name through the same allowlist (``Registry.load(allowlist.MODULES)``,
re-checked per call) and the arguments through the same type checks
(``Registry.checked``) before the function runs; the result is JSON too.
So a call refused by supervdsmd is refused in-process with the same error
class. Unlike the socket path, errors raised by the function itself
arrive as they were raised (not as ``RemoteError``) and there is no call
timeout: the caller is the process that would have waited anyway.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, ParamSpec, Protocol, TypeVar, cast

from vdsm.common.config import Config
from vdsm.supervdsm import allowlist, client, protocol, runtime
from vdsm.supervdsm.errors import InvalidArguments
from vdsm.supervdsm.registry import Registry

log = logging.getLogger("vdsm.supervdsm.caller")

P = ParamSpec("P")
R = TypeVar("R")


class Transport(Protocol):
    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call the privileged function ``method`` ("module.function")."""


class Caller:
    """Calls declared privileged functions through a transport."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __call__(self, func: Callable[P, R], *args: P.args,
                 **kwargs: P.kwargs) -> R:
        return cast(R, self.transport.call(method_name(func), *args,
                                           **kwargs))


def method_name(func: Callable[..., Any]) -> str:
    """The registry's name of a privileged function: ``module.func``,
    module being the last part of its module's dotted name."""
    module = getattr(func, "__module__", "") or ""
    return f"{module.rsplit('.', 1)[-1]}.{func.__name__}"


class InProcess:
    """supervdsmd's checks without its socket, for callers that are root.

    ``registry`` defaults to the production allowlist.
    """

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry or Registry.load(allowlist.MODULES)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        request = protocol.request(0, method, list(args), kwargs)
        try:
            request = protocol.transmitted(request)
        except (TypeError, ValueError) as e:
            raise InvalidArguments(f"{method}: not JSON: {e}") from None
        _, method, args_, kwargs_ = protocol.parse_request(request)
        entry = self.registry.checked(method, args_, kwargs_)
        log.info("CALL method=%s in-process", method)
        start = time.monotonic()
        value = entry.func(*args_, **kwargs_)
        reply = protocol.transmitted(protocol.result(0, value))
        log.info("DONE method=%s elapsed=%.3f", method,
                 time.monotonic() - start)
        return reply["result"]


def over_socket(config: Config) -> Caller:
    """Through supervdsmd's socket ([supervdsm] socket). Nothing connects
    before the first call, so vdsmd starts while supervdsmd is not up."""
    return Caller(client.get_proxy(config))


def in_process(config: Config) -> Caller:
    """In this process, which must be root. The privileged functions read
    ``config`` as supervdsmd's (``runtime``): hooks_dir, call_timeout."""
    runtime.setup(config)
    return Caller(InProcess())
