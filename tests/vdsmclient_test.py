"""vdsm-client against a real vdsmd."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from fixtures.vdsmd import LIB, TOP

CLIENT = os.path.join(TOP, "vdsm", "vdsm-client")


def run(vdsmd, *args, stdin=None):
    cmd = [sys.executable, CLIENT, "-p", str(vdsmd.port), "-a", "127.0.0.1",
           "--pki-dir", vdsmd.pki.root, *args]
    return subprocess.run(cmd, env=dict(os.environ, PYTHONPATH=LIB),
                          capture_output=True, text=True, input=stdin,
                          timeout=60)


def test_ping(vdsmd):
    res = run(vdsmd, "Host", "ping2")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) is True


def test_string_param(vdsmd):
    res = run(vdsmd, "Host", "echo", "message=42")
    assert json.loads(res.stdout) == "42"


def test_params_file_stdin(vdsmd):
    res = run(vdsmd, "-f", "-", "Host", "echo", stdin='{"message": "x y"}')
    assert json.loads(res.stdout) == "x y"


def test_server_error_exit_1(vdsmd):
    res = run(vdsmd, "Host", "echo")
    assert res.returncode == 1
    assert "code -32602" in res.stderr
    assert "message" in res.stderr


def test_unknown_param(vdsmd):
    res = run(vdsmd, "Host", "echo", "nosuch=1")
    assert res.returncode == 1
    assert "unknown param 'nosuch'" in res.stderr


def test_help_lists_verbs(vdsmd):
    res = run(vdsmd, "Host", "-h")
    assert res.returncode == 0
    assert "ping2" in res.stdout
    res = run(vdsmd, "Host", "echo", "-h")
    assert "message=string" in res.stdout


def test_connection_refused(vdsmd):
    res = subprocess.run(
        [sys.executable, CLIENT, "-p", "1", "--insecure", "Host", "ping2"],
        env=dict(os.environ, PYTHONPATH=LIB), capture_output=True,
        text=True, timeout=60)
    assert res.returncode == 1
    assert "cannot connect" in res.stderr


def test_insecure_against_tls_fails_cleanly(vdsmd):
    res = run(vdsmd, "--insecure", "--timeout", "5", "Host", "ping2")
    assert res.returncode == 1
    assert res.stderr.startswith("vdsm-client:")
