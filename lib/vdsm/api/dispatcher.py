"""From JSON-RPC requests to verb handlers and back.

Runs on the asyncio loop; each call goes to the bounded executor, where its
params are checked against the schema before the handler does any work.
Errors are turned into JSON-RPC error objects here and only here: expected
errors log one INFO line, anything else a traceback and a generic reply.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from vdsm.api.registry import CallContext, Handler
from vdsm.api.schema import Schema, SchemaError
from vdsm.common import clock, exception
from vdsm.common.executor import Executor
from vdsm.rpc import jsonrpc
from vdsm.rpc.dispatch import Peer
from vdsm.services import Services

log = logging.getLogger("vdsm.api")


def check_registry(schema: Schema, verbs: dict[str, Handler]) -> None:
    """Every handler must have its verb in the schema (a bug otherwise)."""
    missing = sorted(set(verbs) - set(schema.verbs))
    if missing:
        raise RuntimeError(f"verbs missing from the schema: {missing}")


class Dispatcher:
    """The API's side of ``vdsm.rpc.dispatch.Dispatcher``."""

    def __init__(self, services: Services, schema: Schema,
                 verbs: dict[str, Handler], executor: Executor) -> None:
        check_registry(schema, verbs)
        self.services = services
        self.schema = schema
        self.verbs = verbs
        self.executor = executor

    async def dispatch(self, msg: jsonrpc.Message, peer: Peer,
                       flow_id: str | None) -> bytes | None:
        calls = [self._call(req, peer, flow_id) for req in msg.requests]
        results = await asyncio.gather(*calls)
        responses = list(msg.errors)
        for req, resp in zip(msg.requests, results):
            if not req.notification:
                responses.append(resp)
        return jsonrpc.encode_responses(responses, msg.batch)

    async def _call(self, req: jsonrpc.Request, peer: Peer,
                    flow_id: str | None) -> dict[str, Any]:
        ctx = CallContext(self.services, req.method, flow_id, peer.remote,
                          peer.local)
        try:
            future = self.executor.submit(self._run, req, ctx,
                                          name=req.method)
            return await asyncio.wrap_future(future)
        except exception.VdsmError as e:
            self._log(req, ctx, 0.0, e)
            return jsonrpc.error(req.id, e)

    def _run(self, req: jsonrpc.Request, ctx: CallContext) -> dict[str, Any]:
        timer = clock.Timer()
        try:
            result = self._invoke(req, ctx)
        except exception.VdsmError as e:
            self._log(req, ctx, timer.elapsed(), e)
            return jsonrpc.error(req.id, e)
        except Exception:
            log.exception("FAIL method=%s id=%s flow_id=%s", req.method,
                          req.id, ctx.flow_id)
            return jsonrpc.error(req.id, exception.InternalError())
        self._log(req, ctx, timer.elapsed(), None)
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
            log.error("BAD_RESULT method=%s problem=%s", req.method, e)
            if self.schema.strict:
                raise exception.InternalError()
        return result

    def _log(self, req: jsonrpc.Request, ctx: CallContext, elapsed: float,
             err: exception.VdsmError | None) -> None:
        client = f"{ctx.peer[0]}:{ctx.peer[1]}" if ctx.peer else "-"
        if err is None:
            log.info("CALL method=%s id=%s flow_id=%s client=%s "
                     "elapsed=%.3f result=ok", req.method, req.id,
                     ctx.flow_id, client, elapsed)
        elif err.expected:
            log.info("CALL method=%s id=%s flow_id=%s client=%s "
                     "elapsed=%.3f result=error code=%s message=%r",
                     req.method, req.id, ctx.flow_id, client, elapsed,
                     err.code, err.text())
        else:
            log.error("CALL method=%s id=%s flow_id=%s client=%s "
                      "elapsed=%.3f result=error code=%s message=%r",
                      req.method, req.id, ctx.flow_id, client, elapsed,
                      err.code, err.text(), exc_info=err)
