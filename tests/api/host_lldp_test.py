"""Host.getLldp against a real vdsmd that has no supervdsmd to ask (as on
a host where LLDP is not set up): every NIC reads disabled and the reason
is logged. tests/host/lldp_test.py runs a real lldpad."""

from __future__ import annotations

import os

import pytest

from vdsm.client import ServerError
from vdsm.host import lldp


def test_no_daemon_every_nic_disabled(vdsmd):
    with vdsmd.client() as cli:
        result = cli.Host.getLldp(filter={})
    assert set(result) == set(lldp.nics())
    for info in result.values():
        assert info == {"enabled": False, "tlvs": []}
    if result:
        assert "NO lldp devices=" in vdsmd.log()


def test_named_device(vdsmd):
    name = sorted(os.listdir("/sys/class/net"))[0]
    with vdsmd.client() as cli:
        result = cli.Host.getLldp(filter={"devices": [name]})
    assert result == {name: {"enabled": False, "tlvs": []}}


@pytest.mark.parametrize("devices", [["no-such-nic0"], ["../lo"], "lo"])
def test_bad_devices(vdsmd, devices):
    with vdsmd.client() as cli:
        with pytest.raises(ServerError) as e:
            cli.Host.getLldp(filter={"devices": devices})
    assert e.value.code == 1000
