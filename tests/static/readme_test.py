"""The README's two set-up commands run as written, from a fresh clone.

A fresh clone gets file modes from git, not from this checkout: the
commands are checked in git's index, where a lost executable bit shows.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

TOP = os.path.join(os.path.dirname(__file__), "..", "..")


def readme_commands() -> list[str]:
    with open(os.path.join(TOP, "README.md")) as f:
        text = f.read()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "README has no sh block"
    return [line.split("#")[0].split()[0]
            for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_two_commands():
    assert readme_commands() == ["automation/setup-host.sh",
                                 "automation/run-tests.sh"]


@pytest.mark.parametrize("command", readme_commands())
def test_command_is_executable_in_git(command):
    try:
        out = subprocess.run(["git", "ls-files", "-s", command], cwd=TOP,
                             capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    assert out.stdout.split()[0] == "100755", out.stdout
    with open(os.path.join(TOP, command)) as f:
        assert f.readline().startswith("#!/bin/bash")
