"""The dispatcher: recovery answers, error mapping, timeouts."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import threading
import types

import pytest

from vdsm.api import registry
from vdsm.api.dispatcher import Dispatcher
from vdsm.api.schema import Schema
from vdsm.common import exception
from vdsm.common.executor import Executor
from vdsm.rpc import jsonrpc
from vdsm.rpc.dispatch import Peer

API = """
Test.ok:
    description: ok
    return: {type: string}
Test.bug:
    description: raises a bug
Test.refuse:
    description: raises an expected error
Test.hang:
    description: never returns in time
Test.wrong:
    description: returns the wrong type
    return: {type: int}
Test.memory:
    description: answered from memory, on the loop
    params:
    -   name: n
        type: int
    return: {type: string}
Test.change:
    description: changes state, on the executor
Test.maybe:
    description: on the loop unless it would block
    return: {type: string}
"""


@pytest.fixture
def blocking():
    """Set: Test.maybe would block (as a verb with a hook script)."""
    return threading.Event()


@pytest.fixture
def env(tmp_path, blocking):
    path = tmp_path / "api.yml"
    path.write_text(API)
    schema = Schema(str(path), str(tmp_path / "none.yml"), strict=True)
    release = threading.Event()

    def bug(ctx):
        raise KeyError("secret detail")

    def refuse(ctx):
        raise exception.NoSuchVM("vm-1")

    def maybe(ctx):
        if ctx.on_loop and blocking.is_set():
            raise registry.WouldBlock()
        return threading.current_thread().name

    verbs = {"Test.ok": lambda ctx: "fine", "Test.bug": bug,
             "Test.refuse": refuse,
             "Test.hang": lambda ctx: release.wait(),
             "Test.wrong": lambda ctx: "not an int",
             "Test.memory": lambda ctx, n: threading.current_thread().name,
             "Test.change": lambda ctx: threading.current_thread().name,
             "Test.maybe": maybe}
    executor = Executor("test", 2, 10, timeout=0.5)
    executor.start()
    # These verbs use no subsystem: only the ready flag of Services.
    services = types.SimpleNamespace(ready=True)
    yield Dispatcher(services, schema, verbs, executor,
                     on_loop={"Test.memory", "Test.maybe"}), services
    release.set()
    executor.stop()


def call(dispatcher, method, params=None):
    body = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1,
                       "params": params or {}})
    return json.loads(dispatch(dispatcher, body.encode()))


def dispatch(dispatcher, body):
    """The reply, as the transport gets it: at once or awaited."""
    async def run():
        reply = dispatcher.dispatch(jsonrpc.parse(body), Peer(), None)
        if inspect.isawaitable(reply):
            reply = await reply
        return reply
    return asyncio.run(run())


def test_ok(env):
    assert call(env[0], "Test.ok")["result"] == "fine"


def test_recovering_answers_99(env):
    dispatcher, services = env
    services.ready = False
    assert call(dispatcher, "Test.ok")["error"]["code"] == 99


def test_bug_hidden(env):
    err = call(env[0], "Test.bug")["error"]
    assert err["code"] == -32603
    assert "secret" not in err["message"]


def test_expected_error_code(env):
    err = call(env[0], "Test.refuse")["error"]
    assert err["code"] == 1
    assert "vm-1" in err["message"]


def test_timeout(env):
    err = call(env[0], "Test.hang")["error"]
    assert err["code"] == exception.CallTimeout.code
    assert "did not finish" in err["message"]


def test_strict_result_check(env):
    assert call(env[0], "Test.wrong")["error"]["code"] == -32603


def test_handler_missing_from_schema_is_a_bug(env):
    dispatcher, services = env
    with pytest.raises(RuntimeError, match="Test.extra"):
        Dispatcher(services, dispatcher.schema,
                   dict(dispatcher.verbs, **{"Test.extra": lambda c: 1}),
                   dispatcher.executor)


def test_lenient_result_check_logs_and_answers(env, caplog):
    dispatcher, _ = env
    dispatcher.schema.strict = False
    assert call(dispatcher, "Test.wrong")["result"] == "not an int"
    assert "BAD_RESULT method=Test.wrong" in caplog.text


def test_on_loop_verb_runs_on_the_loop_thread(env):
    loop_thread = threading.current_thread().name  # asyncio.run's thread
    assert call(env[0], "Test.memory", {"n": 1})["result"] == loop_thread
    assert call(env[0], "Test.change")["result"].startswith("test/")


def test_on_loop_verb_params_checked(env):
    err = call(env[0], "Test.memory", {"n": "one"})["error"]
    assert err["code"] == exception.InvalidParams.code
    assert call(env[0], "Test.memory")["error"]["code"] == \
        exception.InvalidParams.code


def test_on_loop_verb_answers_99_while_recovering(env):
    dispatcher, services = env
    services.ready = False
    assert call(dispatcher, "Test.memory", {"n": 1})["error"]["code"] == 99


def test_state_changing_call_logs_info_on_loop_verb_debug(env, caplog):
    caplog.set_level(logging.INFO, logger="vdsm.api")
    call(env[0], "Test.change")
    call(env[0], "Test.memory", {"n": 1})
    calls = [r for r in caplog.records if r.getMessage().startswith("CALL")]
    assert [r.getMessage().split()[1] for r in calls] == \
        ["method=Test.change"]
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="vdsm.api")
    call(env[0], "Test.memory", {"n": 1})
    assert [r.levelno for r in caplog.records
            if "method=Test.memory" in r.getMessage()] == [logging.DEBUG]


def test_on_loop_verb_errors_still_logged_at_info(env, caplog):
    caplog.set_level(logging.INFO, logger="vdsm.api")
    call(env[0], "Test.memory", {"n": "one"})
    assert "CALL method=Test.memory" in caplog.text
    assert "result=error" in caplog.text


def test_batch_mixes_loop_and_executor_calls_in_order(env):
    body = json.dumps([
        {"jsonrpc": "2.0", "method": "Test.change", "id": 1},
        {"jsonrpc": "2.0", "method": "Test.memory", "id": 2,
         "params": {"n": 2}},
        {"jsonrpc": "2.0", "method": "Test.nope", "id": 3},
        {"jsonrpc": "2.0", "method": "Test.ok", "id": 4}])
    reply = json.loads(dispatch(env[0], body.encode()))
    assert [r["id"] for r in reply] == [1, 2, 3, 4]
    assert reply[2]["error"]["code"] == exception.MethodNotFound.code
    assert reply[3]["result"] == "fine"


def test_on_loop_calls_answered_at_once(env):
    """No task, no await: the transport writes the reply in the callback
    that read the request."""
    async def run(method, params):
        body = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1,
                           "params": params}).encode()
        return env[0].dispatch(jsonrpc.parse(body), Peer(), None)
    reply = asyncio.run(run("Test.memory", {"n": 1}))
    assert isinstance(reply, bytes)
    assert isinstance(asyncio.run(run("Test.nope", {})), bytes)
    pending = asyncio.run(run("Test.ok", {}))
    assert inspect.isawaitable(pending)
    pending.close()


def test_would_block_goes_to_the_executor(env, blocking):
    dispatcher = env[0]
    loop_thread = threading.current_thread().name
    assert call(dispatcher, "Test.maybe")["result"] == loop_thread
    blocking.set()  # A hook script is installed, say.
    assert call(dispatcher, "Test.maybe")["result"].startswith("test/")
