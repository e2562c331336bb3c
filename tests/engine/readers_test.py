"""The engine's reader rules, on the values that broke it before."""

from __future__ import annotations

import pytest

from engine import readers
from engine.readers import EngineReadError


@pytest.mark.parametrize("value,read", [(12.5, 12.5), ("12.50", 12.5),
                                        ("2147483650", 2147483650.0)])
def test_double_reader_takes_floats_and_strings(value, read):
    assert readers.double({"k": value}, "k") == read


@pytest.mark.parametrize("value", [12, 2**31 + 5, True, None, [1]])
def test_double_reader_loses_the_rest(value):
    # statusTime as a JSON int read as null: the monitoring cycle broke.
    with pytest.raises(EngineReadError):
        readers.double({"k": value}, "k")


@pytest.mark.parametrize("value,read", [(7, 7), ("7", 7), ("7.9", 7)])
def test_integer_reader(value, read):
    assert readers.integer({"k": value}, "k") == read


@pytest.mark.parametrize("value", [7.0, 2**31, True, "x", ""])
def test_integer_reader_throws_or_loses(value):
    with pytest.raises(EngineReadError):
        readers.integer({"k": value}, "k")


def test_casts():
    assert readers.cast_int({"code": 0}, "code") == 0
    with pytest.raises(EngineReadError):
        readers.cast_int({"code": "0"}, "code")
    with pytest.raises(EngineReadError):
        readers.boolean({"valid": "true"}, "valid", cast=True)
    assert readers.boolean({"dirty": "true"}, "dirty") is True
    with pytest.raises(EngineReadError):
        readers.string({"hash": 5}, "hash")


def test_capabilities_need_hba_inventory():
    caps = {"cpuCores": "2", "memSize": "1024", "cpuSpeed": "2400.000",
            "cpuFlags": "fpu", "software_version": "4.50"}
    with pytest.raises(EngineReadError, match="HBAInventory"):
        readers.capabilities(caps)
    readers.capabilities(dict(caps, HBAInventory={"iSCSI": [], "FC": []}))


def test_vm_stats_need_a_string_status_time():
    vm = {"vmId": "x", "status": "Up", "statusTime": "2147483700"}
    readers.vm_stats(vm)
    with pytest.raises(EngineReadError, match="statusTime"):
        readers.vm_stats(dict(vm, statusTime=2147483700))


def test_storage_domain_entry_types():
    dom = {"code": 0, "lastCheck": "1.2", "delay": "0.001", "valid": True,
           "acquired": True, "actual": True}
    readers.storage_domain(dom, "")
    with pytest.raises(EngineReadError):
        readers.storage_domain(dict(dom, lastCheck=1.2), "")
    with pytest.raises(EngineReadError):
        readers.storage_domain(dict(dom, acquired="true"), "")


def test_vm_status_event_notify_time():
    readers.vm_status_event({"notify_time": 2**31 + 10,
                             "x": {"status": "Powering up"}})
    with pytest.raises(EngineReadError):
        readers.vm_status_event({"notify_time": "1", "x": {}})
    with pytest.raises(EngineReadError):
        readers.vm_status_event({"notify_time": 1,
                                 "x": {"status": "Booting"}})
