"""runtime.run, the privileged twin of commands.run, and its errors on the
client side of the socket."""

from __future__ import annotations

import pytest

from vdsm.common import commands
from vdsm.common.config import Config
from vdsm.supervdsm import client, runtime


@pytest.fixture
def short_calls(monkeypatch):
    config = Config()
    config.set("supervdsm", "call_timeout", "0.5")
    monkeypatch.setattr(runtime, "_config", config)


def test_run_returns_stdout(short_calls):
    assert runtime.run(["cat"], input="x\n") == "x\n"


def test_run_is_bounded_by_call_timeout(short_calls):
    with pytest.raises(commands.CommandTimeout):
        runtime.run(["sleep", "10"])


def test_run_timeout_may_be_given(short_calls):
    assert runtime.run(["sh", "-c", "sleep 1; echo done"], timeout=30) \
        == "done\n"


def test_run_failure_is_commands_failure(short_calls):
    with pytest.raises(commands.CommandFailed) as e:
        runtime.run(["sh", "-c", "echo no >&2; exit 2"])
    assert e.value.rc == 2 and e.value.stderr == "no\n"


@pytest.mark.parametrize("cls", [commands.CommandFailed,
                                 commands.CommandTimeout,
                                 commands.CommandNotFound])
def test_client_reraises_command_errors_by_name(cls):
    err = cls("mount x: rc=32 busy")
    info = {"class": cls.__name__, "code": err.code, "message": str(err),
            "reason": err.reason}
    got = client._remote_error(info, "mount.mount")
    assert type(got) is cls and str(got) == str(err)
