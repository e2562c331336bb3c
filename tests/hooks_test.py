from __future__ import annotations

import os

import pytest

from fixtures.hookscripts import py_script, script
from vdsm import hooks
from vdsm.common import exception


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


# JSON hook points (capabilities, stats, network setup).

def test_json_hooks_rewrite_in_order(tmp_path):
    py_script(tmp_path, "after_get_caps", "20_b", 'data["seen"].append("b")')
    py_script(tmp_path, "after_get_caps", "10_a", 'data["seen"] = ["a"]')
    given = {"cpuModel": "x"}
    assert hooks.run_json(str(tmp_path), "after_get_caps", given) == \
        {"cpuModel": "x", "seen": ["a", "b"]}
    assert given == {"cpuModel": "x"}


def test_json_hook_leaving_garbage_fails(tmp_path):
    script(tmp_path, "before_network_setup", "10",
           'echo "{not json" > "$_hook_json"\n')
    with pytest.raises(exception.HookError, match="invalid JSON"):
        hooks.run_json(str(tmp_path), "before_network_setup", {})


def test_reporting_hook_failure_returns_data_as_is(tmp_path):
    script(tmp_path, "after_get_stats", "10", "echo broken >&2\nexit 1\n")
    assert hooks.filter_json(str(tmp_path), "after_get_stats",
                             {"cpuIdle": "99"}) == {"cpuIdle": "99"}


def test_reporting_runs_before_then_after(tmp_path):
    order = tmp_path / "order"
    script(tmp_path, "before_get_vm_stats", "10", f"echo before >> {order}\n")
    py_script(tmp_path, "after_get_vm_stats", "10",
              f'open("{order}", "a").write("after\\n")\n'
              'data[0]["status"] = "Up"')
    out = hooks.reporting(str(tmp_path), "get_vm_stats",
                          lambda: [{"status": "Down"}])
    assert out == [{"status": "Up"}]
    assert order.read_text() == "before\nafter\n"


def test_root_only_refuses_scripts_others_may_write(tmp_path):
    marker = tmp_path / "ran"
    script(tmp_path, "before_network_setup", "10", f"touch {marker}\n",
           mode=0o775)
    with pytest.raises(exception.HookError, match="refused"):
        hooks.run_json(str(tmp_path), "before_network_setup", {},
                       root_only=True)
    assert not marker.exists()
