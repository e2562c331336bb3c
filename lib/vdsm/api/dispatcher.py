"""From JSON-RPC requests to verb handlers and back.

Runs on the asyncio loop. A verb declared ``on_loop`` (answered from
memory, see ``vdsm.api.registry``) and an unknown method are answered
right there (an on-loop handler raising ``WouldBlock`` goes on to the
executor); every other call goes to the bounded executor. Either way
the params are checked against the schema before the handler does any
work, and the result after. A call that changes state logs one INFO
line; the on-loop verbs change nothing and log their successes at DEBUG.
Errors are turned into JSON-RPC error objects here and only here: expected
errors log one INFO line, anything else a traceback and a generic reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Any, Awaitable

from vdsm.api import registry
from vdsm.api.registry import CallContext, Handler
from vdsm.api.schema import Schema, SchemaError
from vdsm.common import clock, exception
from vdsm.common.executor import Executor
from vdsm.common.log import quote
from vdsm.rpc import jsonrpc
from vdsm.rpc.dispatch import Peer, Reply
from vdsm.services import Services

log = logging.getLogger("vdsm.api")

# An on-loop verb taking longer than this was declared on_loop wrongly:
# it held every connection up. Said at WARNING.
SLOW_ON_LOOP = 0.05


def check_registry(schema: Schema, verbs: dict[str, Handler]) -> None:
    """Every handler must have its verb in the schema (a bug otherwise)."""
    missing = sorted(set(verbs) - set(schema.verbs))
    if missing:
        raise RuntimeError(f"verbs missing from the schema: {missing}")


class Dispatcher:
    """The API's side of ``vdsm.rpc.dispatch.Dispatcher``."""

    def __init__(self, services: Services, schema: Schema,
                 verbs: dict[str, Handler], executor: Executor,
                 on_loop: Collection[str] = ()) -> None:
        check_registry(schema, verbs)
        self.services = services
        self.schema = schema
        self.verbs = verbs
        self.executor = executor
        # Answered on the loop: the on_loop verbs, and unknown methods.
        self._on_loop = frozenset(on_loop) & set(verbs)

    def dispatch(self, msg: jsonrpc.Message, peer: Peer,
                 flow_id: str | None) -> Reply | Awaitable[Reply]:
        # Every executor call is submitted before any is awaited: the
        # requests of a batch run concurrently.
        results: list[dict[str, Any] | asyncio.Future] = []
        contexts = []
        waiting = False
        for req in msg.requests:
            ctx = CallContext(self.services, req.method, flow_id,
                              peer.remote, peer.local)
            contexts.append(ctx)
            if req.method in self._on_loop or req.method not in self.verbs:
                result = self._run_on_loop(req, ctx)
            else:
                result = self._submit(req, ctx)
            waiting = waiting or isinstance(result, asyncio.Future)
            results.append(result)
        if waiting:
            return self._gather(msg, contexts, results)
        return self._reply(msg, results)  # type: ignore[arg-type]

    async def _gather(self, msg: jsonrpc.Message,
                      contexts: list[CallContext],
                      results: list[dict[str, Any] | asyncio.Future]
                      ) -> Reply:
        done: list[dict[str, Any]] = []
        for req, ctx, result in zip(msg.requests, contexts, results):
            if isinstance(result, asyncio.Future):
                try:
                    done.append(await result)
                except exception.VdsmError as e:  # CallTimeout
                    self._log(req, ctx, 0.0, e)
                    done.append(jsonrpc.error(req.id, e))
            else:
                done.append(result)
        return self._reply(msg, done)

    @staticmethod
    def _reply(msg: jsonrpc.Message,
               results: list[dict[str, Any]]) -> Reply:
        responses = list(msg.errors)
        for req, resp in zip(msg.requests, results):
            if not req.notification:
                responses.append(resp)
        return jsonrpc.encode_responses(responses, msg.batch)

    def _submit(self, req: jsonrpc.Request, ctx: CallContext
                ) -> dict[str, Any] | asyncio.Future:
        try:
            future = self.executor.submit(self._run, req, ctx,
                                          name=req.method)
        except exception.VdsmError as e:
            self._log(req, ctx, 0.0, e)
            return jsonrpc.error(req.id, e)
        return asyncio.wrap_future(future)

    def _run_on_loop(self, req: jsonrpc.Request, ctx: CallContext
                     ) -> dict[str, Any] | asyncio.Future:
        ctx.on_loop = True
        try:
            return self._run(req, ctx, on_loop=True)
        except registry.WouldBlock:
            ctx.on_loop = False
            return self._submit(req, ctx)

    def _run(self, req: jsonrpc.Request, ctx: CallContext,
             on_loop: bool = False) -> dict[str, Any]:
        start = clock.monotonic()
        try:
            result = self._invoke(req, ctx)
        except registry.WouldBlock:
            raise  # Before any work: _run_on_loop submits it.
        except exception.VdsmError as e:
            self._log(req, ctx, clock.monotonic() - start, e)
            return jsonrpc.error(req.id, e)
        except Exception:
            log.exception("FAIL method=%s id=%s flow_id=%s",
                          quote(req.method), quote(req.id),
                          quote(ctx.flow_id))
            return jsonrpc.error(req.id, exception.InternalError())
        if on_loop:
            elapsed = clock.monotonic() - start
            if elapsed > SLOW_ON_LOOP:
                log.warning("SLOW_ON_LOOP method=%s elapsed=%.3f: not a "
                            "verb for the loop", quote(req.method),
                            elapsed)
            if log.isEnabledFor(logging.DEBUG):
                self._log(req, ctx, elapsed, None, quiet=True)
        else:
            self._log(req, ctx, clock.monotonic() - start, None)
        return jsonrpc.response(req.id, result)

    def _invoke(self, req: jsonrpc.Request, ctx: CallContext) -> Any:
        handler = self.verbs.get(req.method)
        if handler is None:
            raise exception.MethodNotFound(req.method)
        if not self.services.ready:
            raise exception.Recovering()
        try:
            params = self.schema.check_params(req.method, req.params)
        except SchemaError as e:
            raise exception.InvalidParams(str(e))
        result = handler(ctx, **params)
        if result is None:
            result = True  # The wire value of "returns nothing".
        # Every result is checked (upstream's TODO: "verify output args
        # for their type, log an ERROR on mismatch"); strict mode (tests)
        # also fails the call.
        try:
            self.schema.check_result(req.method, result)
        except SchemaError as e:
            log.error("BAD_RESULT method=%s problem=%s", quote(req.method),
                      e)
            if self.schema.strict:
                raise exception.InternalError()
        return result

    def _log(self, req: jsonrpc.Request, ctx: CallContext, elapsed: float,
             err: exception.VdsmError | None, quiet: bool = False) -> None:
        client = f"{ctx.peer[0]}:{ctx.peer[1]}" if ctx.peer else "-"
        # The client chose these: quoted, so they cannot forge or hide
        # a line.
        method, req_id, flow_id = (quote(req.method), quote(req.id),
                                   quote(ctx.flow_id))
        if err is None:
            log.log(logging.DEBUG if quiet else logging.INFO,
                    "CALL method=%s id=%s flow_id=%s client=%s "
                    "elapsed=%.3f result=ok", method, req_id,
                    flow_id, client, elapsed)
        elif err.expected:
            log.info("CALL method=%s id=%s flow_id=%s client=%s "
                     "elapsed=%.3f result=error code=%s message=%r",
                     method, req_id, flow_id, client, elapsed,
                     err.code, err.text())
        else:
            log.error("CALL method=%s id=%s flow_id=%s client=%s "
                      "elapsed=%.3f result=error code=%s message=%r",
                      method, req_id, flow_id, client, elapsed,
                      err.code, err.text(), exc_info=err)
