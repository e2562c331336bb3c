"""The policy parameters' store: MOM's defaults, kept across restarts."""

from __future__ import annotations

from vdsm.host.mempolicy import parameters
from vdsm.host.mempolicy.parameters import Parameters


def test_defaults_are_moms():
    assert Parameters() == Parameters(balloon_enabled=False,
                                      ksm_enabled=True,
                                      ksm_merge_across_nodes=True)


def test_save_and_load(tmp_path):
    path = parameters.store_path(str(tmp_path))
    assert parameters.load(path) == Parameters()
    params = Parameters(balloon_enabled=True, ksm_enabled=False,
                        ksm_merge_across_nodes=False)
    parameters.save(path, params)
    assert parameters.load(path) == params


def test_bad_file_gives_defaults(tmp_path):
    path = tmp_path / "parameters.json"
    path.write_text("{not json")
    assert parameters.load(str(path)) == Parameters()
    path.write_text('{"ksm_enabled": "no", "balloon_enabled": true}')
    assert parameters.load(str(path)) == Parameters(balloon_enabled=True)
