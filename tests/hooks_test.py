from __future__ import annotations

import os

import pytest

from vdsm import hooks
from vdsm.common import exception


def script(hooks_dir, point: str, name: str, body: str,
           mode: int = 0o755) -> str:
    directory = hooks_dir / point
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(mode)
    return str(path)


def test_no_hooks_returns_xml_unchanged(tmp_path):
    assert hooks.run(str(tmp_path), "before_vm_start", "<domain/>") \
        == "<domain/>"


def test_scripts_run_in_name_order_and_rewrite(tmp_path):
    script(tmp_path, "before_vm_start", "20_b",
           'sed -i "s|</domain>|<b/></domain>|" "$_hook_domxml"\n')
    script(tmp_path, "before_vm_start", "10_a",
           'sed -i "s|</domain>|<a/></domain>|" "$_hook_domxml"\n')
    out = hooks.run(str(tmp_path), "before_vm_start",
                    "<domain></domain>")
    assert out == "<domain><a/><b/></domain>"


def test_environment_is_passed(tmp_path):
    script(tmp_path, "after_vm_start", "10",
           'echo "<vm id=\'$vmId\'/>" > "$_hook_domxml"\n')
    out = hooks.run(str(tmp_path), "after_vm_start", "<x/>",
                    env={"vmId": "abc"})
    assert out == "<vm id='abc'/>\n"


def test_failing_script_fails_with_stderr(tmp_path):
    script(tmp_path, "before_vm_start", "10_bad",
           'echo "no way" >&2\nexit 2\n')
    marker = tmp_path / "ran"
    script(tmp_path, "before_vm_start", "20_never", f"touch {marker}\n")
    with pytest.raises(exception.HookError) as e:
        hooks.run(str(tmp_path), "before_vm_start", "<domain/>")
    assert e.value.code == 78
    assert "no way" in str(e.value)
    assert not marker.exists()


def test_non_executables_are_skipped(tmp_path):
    script(tmp_path, "before_vm_start", "README", "exit 1\n", mode=0o644)
    assert hooks.run(str(tmp_path), "before_vm_start", "<d/>") == "<d/>"


def test_timeout_fails(tmp_path):
    script(tmp_path, "before_vm_start", "10_slow", "sleep 5\n")
    with pytest.raises(exception.HookError, match="timed out"):
        hooks.run(str(tmp_path), "before_vm_start", "<d/>", timeout=0.2)


def test_temp_file_is_removed(tmp_path):
    path_file = tmp_path / "path"
    script(tmp_path, "before_vm_start", "10",
           f'echo "$_hook_domxml" > {path_file}\n')
    hooks.run(str(tmp_path), "before_vm_start", "<d/>")
    assert not os.path.exists(path_file.read_text().strip())


def test_installed_lists_hooks_with_checksum(tmp_path):
    script(tmp_path, "before_vm_start", "50_faqemu", "exit 0\n")
    found = hooks.installed(str(tmp_path))
    assert list(found) == ["before_vm_start"]
    assert len(found["before_vm_start"]["50_faqemu"]["checksum"]) == 64
