"""Host hook points through a real vdsmd: start/stop, caps and stats.

The VM hook points are tested with real guests in tests/virt; the
network ones with a real supervdsmd in api/host_network_test.py.
"""

from __future__ import annotations

import os

from fixtures.hookscripts import py_script, script


def test_host_hook_points(vdsmd_factory, tmp_path):
    hooks_dir = tmp_path / "hooks"
    hooks_dir.mkdir()
    started, stopped = tmp_path / "started", tmp_path / "stopped"
    script(hooks_dir, "before_vdsm_start", "10", f"touch {started}\n")
    script(hooks_dir, "after_vdsm_stop", "10", f"touch {stopped}\n")
    py_script(hooks_dir, "after_get_caps", "10",
              'data["cpuModel"] = "hooked " + data["cpuModel"]')
    script(hooks_dir, "after_get_stats", "10", "echo broken >&2\nexit 3\n")
    calls = tmp_path / "calls"
    script(hooks_dir, "before_get_stats", "10", f"echo stats >> {calls}\n")
    script(hooks_dir, "before_get_all_vm_stats", "10",
           f"echo all >> {calls}\n")
    py_script(hooks_dir, "after_get_all_vm_stats", "10",
              f'open("{calls}", "a").write(f"vms={{len(data)}}\\n")')

    daemon = vdsmd_factory({"vars": {"hooks_dir": str(hooks_dir)}})
    assert started.exists()
    with daemon.client() as cli:
        caps = cli.Host.getCapabilities()
        assert caps["cpuModel"].startswith("hooked ")
        assert sorted(caps["hooks"]) == sorted(os.listdir(hooks_dir))
        # A failing reporting hook is logged; the stats still come.
        stats = cli.Host.getStats()
        assert "cpuIdle" in stats
        assert cli.Host.getAllVmStats() == []
        assert calls.read_text() == "stats\nall\nvms=0\n"
    assert "FAIL hook=after_get_stats" in daemon.log()
    assert not stopped.exists()
    assert daemon.stop() == 0
    assert stopped.exists()

