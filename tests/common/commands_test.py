"""commands.run with real programs (sh, cat, sleep)."""

from __future__ import annotations

import ast
import logging
import os
import subprocess
import time

import pytest

from vdsm.common import commands


def test_output_and_exit_code():
    res = commands.run(["sh", "-c", "echo out; echo err >&2"], timeout=10)
    assert res == commands.Result("out\n", "err\n", 0)


def test_input_is_passed():
    assert commands.run(["cat"], input="caf\u00e9\n",
                        timeout=10).stdout == "caf\u00e9\n"
    assert commands.run(["cat"], input=b"\x00\x01",
                        timeout=10).stdout == "\x00\x01"


def test_stdin_is_empty_without_input():
    assert commands.run(["cat"], timeout=10).stdout == ""


def test_env_and_cwd(tmp_path):
    res = commands.run(["sh", "-c", 'echo "$X"; pwd'], env={"X": "1"},
                       cwd=str(tmp_path), timeout=10)
    assert res.stdout.splitlines() == ["1", str(tmp_path)]


def test_nonzero_exit_carries_rc_and_stderr():
    argv = ["sh", "-c", "echo out; echo bad news >&2; exit 3"]
    with pytest.raises(commands.CommandFailed) as e:
        commands.run(argv, timeout=10)
    assert e.value.rc == 3
    assert e.value.stderr == "bad news\n"
    assert e.value.argv == argv
    assert "rc=3" in str(e.value) and "bad news" in str(e.value)


def test_nonzero_exit_unchecked():
    res = commands.run(["sh", "-c", "echo x >&2; exit 4"], check=False,
                       timeout=10)
    assert res == commands.Result("", "x\n", 4)


def test_missing_program():
    with pytest.raises(commands.CommandNotFound) as e:
        commands.run(["/nonexistent/program", "-x"], timeout=10)
    assert e.value.argv == ["/nonexistent/program", "-x"]
    assert e.value.rc is None


def test_not_executable(tmp_path):
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(commands.CommandNotFound):
        commands.run([str(script)], timeout=10)


def test_timeout_kills_and_reaps():
    procs = []
    with pytest.raises(commands.CommandTimeout) as e:
        commands.run(["sleep", "10"], timeout=0.5, on_start=procs.append)
    assert e.value.argv == ["sleep", "10"] and e.value.rc is None
    (proc,) = procs
    assert proc.returncode == -9
    with pytest.raises(ChildProcessError):     # reaped: no zombie
        os.waitpid(proc.pid, os.WNOHANG)


def test_timeout_kills_the_process_group():
    # sh forks sleep and waits: the kill must reach the grandchild, else
    # it keeps the pipes open and the caller waits for its end.
    pids = []
    with pytest.raises(commands.CommandTimeout):
        commands.run(["sh", "-c", "sleep 10 & echo $!; wait"], timeout=1,
                     on_stdout=lambda data: pids.append(int(data)))
    (grandchild,) = pids
    assert _dead(grandchild)


def test_timeout_with_input():
    with pytest.raises(commands.CommandTimeout):
        commands.run(["sh", "-c", "cat; sleep 10"], input="x", timeout=0.5)


def test_on_stdout_gets_the_output():
    chunks = []
    res = commands.run(["sh", "-c", "printf a; printf b >&2"], timeout=10,
                       on_stdout=chunks.append)
    assert b"".join(chunks) == b"a"
    assert res == commands.Result("a", "b", 0)


def test_no_fd_is_passed_unless_asked():
    r, w = os.pipe()
    os.set_inheritable(w, True)
    try:
        res = commands.run(["ls", "/proc/self/fd"], timeout=10)
        assert str(w) not in res.stdout.split()
        res = commands.run(["ls", "/proc/self/fd"], pass_fds=[w],
                           timeout=10)
        assert str(w) in res.stdout.split()
    finally:
        os.close(r)
        os.close(w)


def test_one_log_line_per_run(caplog):
    caplog.set_level(logging.DEBUG, logger="vdsm.common.commands")
    commands.run(["echo", "a b", "c"], timeout=10)
    with pytest.raises(commands.CommandFailed):
        commands.run(["false"], timeout=10)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("RUN cmd=echo 'a b' c rc=0 elapsed=")
    assert lines[1].startswith("RUN cmd=false rc=1 elapsed=")
    assert caplog.records[1].levelno == logging.WARNING


def _dead(pid: int) -> bool:
    """Gone, or a zombie waiting for its reaper: it no longer runs. A
    killed process closes its files (our pipes' EOF) a moment before it
    turns zombie, so look for a while."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    # Still running: kill it so the test leaves nothing behind, then fail.
    subprocess.run(["kill", "-9", str(pid)], check=False)
    return False


# The modules that may start processes themselves: commands.run, and the
# out-of-process storage helper (a long-lived child spoken to over pipes,
# not a program run to its end).
SPAWNERS = {"common/commands.py", "storage/outofprocess.py"}


def test_programs_run_only_through_commands():
    top = os.path.dirname(os.path.dirname(commands.__file__))     # vdsm/
    found = []
    for root, _, files in os.walk(top):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, top)
            if rel in SPAWNERS:
                continue
            with open(path) as f:
                tree = ast.parse(f.read(), path)
            found += [f"{rel}:{node.lineno}" for node in ast.walk(tree)
                      if _spawns(node)]
    assert found == []


def _spawns(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return (func.value.id, func.attr) in {
            ("subprocess", "run"), ("subprocess", "Popen"),
            ("subprocess", "call"), ("subprocess", "check_call"),
            ("subprocess", "check_output"), ("os", "system"),
            ("os", "popen"), ("asyncio", "create_subprocess_exec"),
            ("asyncio", "create_subprocess_shell")}
    return False
