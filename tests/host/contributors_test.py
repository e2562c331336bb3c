from __future__ import annotations

import types

import pytest

from vdsm.host import contributors


def test_ensure_creates_lists_once():
    services = types.SimpleNamespace()
    contributors.ensure(services)
    caps = services.capabilities_contributors
    contributors.ensure(services)
    assert services.capabilities_contributors is caps
    assert services.stats_contributors == []


def test_add_before_host_component():
    services = types.SimpleNamespace()

    def func():
        return {}
    contributors.add_stats(services, func)
    contributors.add_capabilities(services, func)
    contributors.ensure(services)       # the host component, later
    assert services.stats_contributors == [func]
    assert services.capabilities_contributors == [func]


def test_merge():
    result = {"nics": {"eth0": 1}, "additionalFeatures": ["a"],
              "vmCount": 0, "keep": "x"}
    contributors.collect(result, [
        lambda: {"nics": {"eth1": 2}},
        lambda: {"additionalFeatures": ["b"], "vmCount": 3},
        lambda: {"new": True, "nics": {"eth0": 5}},
    ])
    assert result == {"nics": {"eth0": 5, "eth1": 2},
                      "additionalFeatures": ["a", "b"],
                      "vmCount": 3, "keep": "x", "new": True}


def test_contributor_error_fails_the_call():
    def broken():
        raise RuntimeError("storage monitor gone")
    with pytest.raises(RuntimeError):
        contributors.collect({}, [broken])


def test_strip_private():
    assert contributors.strip_private({"_memResident": 1, "a": 2}) == \
        {"a": 2}
