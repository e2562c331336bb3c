"""The vdsm-tool command line: verbs, exit codes, show-config."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vdsm.tool import main

TOOL = os.path.join(os.path.dirname(__file__), "..", "..", "vdsm",
                    "vdsm-tool")
LIB = os.path.join(os.path.dirname(__file__), "..", "..", "lib")


def run_tool(*args, root=None):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(LIB))
    cmd = [sys.executable, TOOL]
    if root:
        cmd += ["--root", str(root)]
    return subprocess.run(cmd + list(args), env=env, capture_output=True,
                          text=True, timeout=120)


def test_help():
    r = run_tool("--help")
    assert r.returncode == 0
    for verb in ("configure", "is-configured", "show-config"):
        assert verb in r.stdout


def test_is_configured_exit_codes(tmp_path):
    r = run_tool("is-configured", "--module", "certificates", root=tmp_path)
    assert r.returncode == 1
    assert "certificates: NOT configured" in r.stdout
    r = run_tool("configure", "--module", "certificates", root=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run_tool("is-configured", "--module", "certificates", root=tmp_path)
    assert r.returncode == 0
    assert "certificates: configured" in r.stdout


def test_unknown_module_is_usage_error(tmp_path):
    r = run_tool("configure", "--module", "no-such", root=tmp_path)
    assert r.returncode == 2
    assert "unknown module: no-such" in r.stderr
    assert not os.listdir(tmp_path)


def test_unknown_verb_is_usage_error():
    with pytest.raises(SystemExit) as e:
        main.main(["no-such-verb"])
    assert e.value.code == 2


def test_show_config_reads_root_config(tmp_path, capsys):
    conf = tmp_path / "etc/vdsm/vdsm.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[supervdsm]\ncall_timeout = 7\n")
    assert main.main(["--root", str(tmp_path), "show-config"]) == 0
    out = capsys.readouterr().out
    assert "[supervdsm]" in out
    assert "call_timeout = 7" in out
    assert "management_port = 54321" in out


def test_explicit_config_file(tmp_path, capsys):
    conf = tmp_path / "my.conf"
    conf.write_text("[irs]\nrepository = /srv/dc\n")
    assert main.main(["--config", str(conf), "show-config"]) == 0
    assert "repository = /srv/dc" in capsys.readouterr().out
