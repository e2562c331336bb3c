"""Hooks: site scripts that may read and rewrite a domain XML.

A hook point (``before_vm_start`` ...) is a directory under ``[vars]
hooks_dir``; its executables run in name order. As upstream, the XML in
play (the domain, or the device for device hooks) is written to a
temporary file named by the ``_hook_domxml`` environment variable; a
script may rewrite that file and the next script, then the caller, sees
the result. Extra variables (``vmId`` ...) are passed in the environment.

A script that exits non-zero (or runs past the timeout) fails the hook
point: later scripts do not run and ``HookError`` (code 78) carries the
script's name and stderr, so the verb fails with it.

JSON hook points (capabilities, stats, network setup) hand over a JSON
document instead, named by ``_hook_json``; ``run_json`` returns what the
scripts leave there. Reporting hooks (``after_get_caps`` ...) go through
``filter_json``: as upstream, a failing one is logged and the data is
returned as it was, so a broken site script cannot break monitoring.
Hooks run by supervdsmd as root (network setup) pass ``root_only``:
a script that is not owned by root, or that others may write, is
refused before anything runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import tempfile
from typing import Any, Callable, TypeVar

from vdsm.common import commands, exception

log = logging.getLogger("vdsm.hooks")

TIMEOUT = 60

# Hook points we run (upstream's names) beside the generic device ones.
HOOK_POINTS = (
    "before_vm_start", "after_vm_start",
    "before_vm_destroy", "after_vm_destroy",
    "before_vm_pause", "after_vm_pause",
    "before_vm_cont", "after_vm_cont",
    "before_vm_set_ticket", "after_vm_set_ticket",
    "before_vm_snapshot", "after_vm_snapshot",
    "before_device_hotplug", "after_device_hotplug",
    "before_device_hotunplug", "after_device_hotunplug",
    "before_disk_hotplug", "after_disk_hotplug",
    "before_disk_hotunplug", "after_disk_hotunplug",
    "before_nic_hotplug", "after_nic_hotplug",
    "before_nic_hotunplug", "after_nic_hotunplug",
    "before_update_device", "after_update_device",
    "after_update_device_fail",
    "before_get_caps", "after_get_caps",
    "before_get_stats", "after_get_stats",
    "before_get_vm_stats", "after_get_vm_stats",
    "before_get_all_vm_stats", "after_get_all_vm_stats",
    "after_hostdev_list_by_caps",
    "before_network_setup", "after_network_setup",
    "after_network_setup_fail",
    "before_vdsm_start", "after_vdsm_stop",
)
NETWORK_HOOK_POINTS = ("before_network_setup", "after_network_setup",
                       "after_network_setup_fail")


def scripts(hooks_dir: str, point: str) -> list[str]:
    """Executable files of a hook point, in name order."""
    directory = os.path.join(hooks_dir, point)
    try:
        names = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    paths = [os.path.join(directory, n) for n in names]
    return [p for p in paths if os.path.isfile(p) and os.access(p, os.X_OK)]


def run(hooks_dir: str, point: str, xml: str,
        env: dict[str, str] | None = None,
        timeout: float = TIMEOUT) -> str:
    """Run a hook point's scripts on xml and return the xml they leave."""
    found = scripts(hooks_dir, point)
    if not found:
        return xml
    return _run_scripts(found, point, xml, "_hook_domxml", env, timeout)


def run_json(hooks_dir: str, point: str, data: Any,
             env: dict[str, str] | None = None, timeout: float = TIMEOUT,
             root_only: bool = False) -> Any:
    """Run a JSON hook point's scripts on data; return the data they leave.

    Raises HookError when a script fails or leaves something that is not
    JSON.
    """
    found = scripts(hooks_dir, point)
    if not found:
        return data
    if root_only:
        for script in found:
            _check_root_only(script, point)
    text = _run_scripts(found, point, json.dumps(data), "_hook_json", env,
                        timeout)
    try:
        return json.loads(text)
    except ValueError as e:
        raise exception.HookError(f"{point}: hooks left invalid JSON: {e}")


def filter_json(hooks_dir: str, point: str, data: Any) -> Any:
    """run_json for reporting points: on failure log, return data as is."""
    try:
        return run_json(hooks_dir, point, data)
    except exception.HookError as e:
        log.warning("FAIL hook=%s ignored error=%s", point, e)
        return data


def has_reporting_scripts(hooks_dir: str, name: str) -> bool:
    """Would ``reporting(hooks_dir, name, ...)`` run a script? Two
    directory listings: what a verb on the loop checks before it runs."""
    return bool(scripts(hooks_dir, f"before_{name}")
                or scripts(hooks_dir, f"after_{name}"))


def notify(hooks_dir: str, point: str) -> None:
    """Run a hook point that carries no data (before_get_caps ...).

    Failures are logged and ignored, as upstream.
    """
    filter_json(hooks_dir, point, {})


T = TypeVar("T")


def reporting(hooks_dir: str, name: str, produce: Callable[[], T]) -> T:
    """Run before_<name>, produce the data, pass it through after_<name>.

    For the reporting verbs (get_caps, get_stats, get_vm_stats,
    get_all_vm_stats); when no script is installed this costs two
    directory listings.
    """
    notify(hooks_dir, f"before_{name}")
    return filter_json(hooks_dir, f"after_{name}", produce())


def _check_root_only(script: str, point: str) -> None:
    st = os.stat(script)
    if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise exception.HookError(
            f"{point}/{os.path.basename(script)}: refused, a hook run as "
            "root must be owned by root and writable by root only")


def _run_scripts(found: list[str], point: str, payload: str, env_var: str,
                 env: dict[str, str] | None, timeout: float) -> str:
    fd, path = tempfile.mkstemp(prefix=f"vdsm-{point}-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(payload)
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env[env_var] = path
        for script in found:
            _run_one(script, point, full_env, timeout)
        with open(path) as f:
            return f.read()
    finally:
        os.unlink(path)


def _run_one(script: str, point: str, env: dict[str, str],
             timeout: float) -> None:
    log.info("RUN hook=%s script=%s", point, script)
    name = f"{point}/{os.path.basename(script)}"
    try:
        commands.run([script], env=env, timeout=timeout)
    except commands.CommandTimeout:
        raise exception.HookError(f"{name} timed out after {timeout}s") \
            from None
    except commands.CommandNotFound as e:
        raise exception.HookError(f"{name}: {e.reason}") from None
    except OSError as e:
        raise exception.HookError(f"{name}: {e}") from None
    except commands.CommandFailed as e:
        stderr = e.stderr.strip()
        log.warning("FAIL hook=%s script=%s rc=%s stderr=%r", point, script,
                    e.rc, stderr)
        raise exception.HookError(f"{name} exited {e.rc}: {stderr}") \
            from None


def installed(hooks_dir: str) -> dict[str, dict[str, dict[str, str]]]:
    """The installed hooks, as capabilities report them (upstream shape).

    ``{point: {script_name: {"checksum": sha256 hexdigest}}}``.
    """
    result: dict[str, dict[str, dict[str, str]]] = {}
    try:
        points = sorted(os.listdir(hooks_dir))
    except FileNotFoundError:
        return result
    for point in points:
        entries = {}
        for script in scripts(hooks_dir, point):
            with open(script, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            entries[os.path.basename(script)] = {"checksum": digest}
        if entries:
            result[point] = entries
    return result
