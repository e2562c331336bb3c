"""The systemd units in static/: ordering, users, no sudo anywhere."""

from __future__ import annotations

import configparser
import os
import re

TOP = os.path.join(os.path.dirname(__file__), "..", "..")
UNITS = os.path.join(TOP, "static", "usr", "lib", "systemd", "system")


def unit(name):
    p = configparser.ConfigParser(strict=False, interpolation=None)
    p.optionxform = str
    with open(os.path.join(UNITS, name)) as f:
        p.read_file(f)
    return p


def words(value):
    return value.split()


def test_vdsmd_runs_unprivileged_after_helpers():
    u = unit("vdsmd.service")
    assert u["Service"]["User"] == "vdsm"
    assert u["Service"]["Group"] == "kvm"
    after = words(u["Unit"]["After"])
    for dep in ("supervdsmd.service", "libvirtd.service", "sanlock.service"):
        assert dep in after
    assert "supervdsmd.service" in words(u["Unit"]["Requires"])


def test_supervdsmd_before_vdsmd():
    u = unit("supervdsmd.service")
    assert "vdsmd.service" in words(u["Unit"]["Before"])
    after = words(u["Unit"]["After"])
    assert "libvirtd.service" in after and "sanlock.service" in after
    assert u["Service"]["User"] == "root"


def test_no_sudo_anywhere():
    # Issue: vdsmd never calls sudo; root work goes through supervdsmd.
    pattern = re.compile(r"""["'\s/]sudo["'\s]""")
    offenders = []
    for top in ("lib", "vdsm", "static"):
        for dirpath, _, filenames in os.walk(os.path.join(TOP, top)):
            for name in filenames:
                if name.endswith((".pyc",)):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, errors="replace") as f:
                    for n, line in enumerate(f, 1):
                        code = line.split("#", 1)[0]
                        if pattern.search(code):
                            offenders.append(f"{path}:{n}: {line.strip()}")
    assert offenders == []
