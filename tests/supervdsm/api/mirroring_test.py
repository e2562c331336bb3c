"""mirroring.* privileged functions through a real supervdsmd, on a bridge
and a tap device of this host (removed after)."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from vdsm.supervdsm import errors

pytestmark = pytest.mark.root


def tc_json(*args: str) -> list:
    out = subprocess.run(["tc", "-j", *args], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out or "[]")


def mirrors(bridge: str, direction: str) -> set[str]:
    return {a["to_dev"] for f in tc_json("filter", "show", "dev", bridge,
                                         direction)
            for a in f.get("options", {}).get("actions", [])
            if a.get("kind") == "mirred"}


@pytest.fixture
def devices():
    tag = uuid.uuid4().hex[:6]
    bridge, tap = f"vm{tag}b", f"vm{tag}t"
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"],
                   check=True)
    subprocess.run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"],
                   check=True)
    try:
        yield bridge, tap
    finally:
        subprocess.run(["ip", "link", "del", bridge], check=False)
        subprocess.run(["ip", "link", "del", tap], check=False)


def test_set_and_unset(supervdsmd, devices):
    bridge, tap = devices
    cli = supervdsmd.client()
    cli.call("mirroring.set_port_mirroring", bridge, tap)
    cli.call("mirroring.set_port_mirroring", bridge, tap)   # idempotent
    assert mirrors(bridge, "ingress") == {tap}
    assert mirrors(bridge, "egress") == {tap}
    assert len([f for f in tc_json("filter", "show", "dev", bridge,
                                   "ingress")
                if f.get("options", {}).get("actions")]) == 2
    cli.call("mirroring.unset_port_mirroring", bridge, tap)
    assert mirrors(bridge, "ingress") == set()
    assert not any(q["kind"] == "clsact"
                   for q in tc_json("qdisc", "show", "dev", bridge))
    cli.call("mirroring.unset_port_mirroring", bridge, tap)  # idempotent


@pytest.mark.parametrize("args", [
    ["-h", None], [None, "-h"], ["no-such-dev0", None], [None, "nope0"],
    ["a" * 16, None],
])
def test_bad_devices_change_nothing(supervdsmd, devices, args):
    bridge, tap = devices
    args = [bridge if a is None and i == 0 else tap if a is None else a
            for i, a in enumerate(args)]
    with pytest.raises(errors.InvalidArguments):
        supervdsmd.client().call("mirroring.set_port_mirroring", *args)
    assert not any(q["kind"] == "clsact"
                   for q in tc_json("qdisc", "show", "dev", bridge))
