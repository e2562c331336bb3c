"""mypy follows a verb into every subsystem: ``ctx.services`` is typed.

A verb module calling a misspelled method (``vms.craete``) must fail
``make mypy``, not a request at run time. The probes are type-checked
as if they were in api/, with the project's mypy settings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

HEADER = """\
from vdsm.api.registry import CallContext
from vdsm.api.storage_args import storage


def probe(ctx: CallContext) -> None:
"""

# (the call as a verb would write it, the same misspelled)
CALLS = [
    ('ctx.services.virt.vms.create("id", "<domain/>")',
     'ctx.services.virt.vms.craete("id", "<domain/>")'),
    ('ctx.services.virt.sampler.get("id")',
     'ctx.services.virt.sampler.gett("id")'),
    ("ctx.services.virt.host_counts().total",
     "ctx.services.virt.host_counts().totl"),
    ("ctx.services.host.capabilities(None)",
     "ctx.services.host.capabilitiez(None)"),
    ("ctx.services.network.setup_networks({}, {}, {})",
     "ctx.services.network.setup_netwroks({}, {}, {})"),
    ("ctx.services.storage.monitor.stats()",
     "ctx.services.storage.monitor.statz()"),
    ('storage(ctx).pools.spm_start("id")',
     'storage(ctx).pools.spm_strat("id")'),
    ('storage(ctx).images.volume("sd", "img", "vol")',
     'storage(ctx).images.volum("sd", "img", "vol")'),
    ('storage(ctx).domains.info("sd")', 'storage(ctx).domains.inof("sd")'),
    ('storage(ctx).repository.find_domain("sd")',
     'storage(ctx).repository.find_domian("sd")'),
    ('storage(ctx).tasks.get("id")', 'storage(ctx).tasks.gett("id")'),
    ('ctx.services.events.publish("x", {})',
     'ctx.services.events.publsh("x", {})'),
    ("ctx.services.ready", "ctx.services.redy"),
]


def mypy(tmp_path, lines: list[str]) -> tuple[int, str]:
    path = tmp_path / "probe.py"
    path.write_text(HEADER + "".join(f"    {line}\n" for line in lines))
    env = dict(os.environ, MYPYPATH=os.path.join(TOP, "lib"))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file",
         os.path.join(TOP, "pyproject.toml"),
         "--cache-dir", str(tmp_path / "cache"), str(path)],
        cwd=TOP, env=env, capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def test_correct_calls_pass(tmp_path):
    rc, out = mypy(tmp_path, [good for good, _ in CALLS])
    assert rc == 0, out


def test_misspelled_calls_fail(tmp_path):
    rc, out = mypy(tmp_path, [bad for _, bad in CALLS])
    assert rc == 1, out
    first = HEADER.count("\n") + 1
    flagged = {int(n) for n in re.findall(
        r"probe\.py:(\d+): error: .* has no attribute", out)}
    assert flagged == set(range(first, first + len(CALLS))), out
