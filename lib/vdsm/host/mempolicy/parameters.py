"""The policy variables Host.setMOMPolicyParameters sets, and their store.

Defaults are MOM's (``00-defines.policy``): KSM enabled, merging across
NUMA nodes, ballooning disabled. Upstream keeps the variables in MOM, a
daemon of its own that outlives a vdsmd restart, and the engine sends
them again only when the host is activated; so ours are written to
``<lib_dir>/mom/parameters.json`` and read back at start, or a vdsmd
restart would silently drop the engine's choice until the next
activation.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass

log = logging.getLogger("vdsm.host.mempolicy")


@dataclass(frozen=True)
class Parameters:
    balloon_enabled: bool = False
    ksm_enabled: bool = True
    ksm_merge_across_nodes: bool = True


def store_path(lib_dir: str) -> str:
    return os.path.join(lib_dir, "mom", "parameters.json")


def load(path: str) -> Parameters:
    """The stored parameters; the defaults when none or unreadable."""
    try:
        with open(path) as f:
            raw = json.load(f)
    except FileNotFoundError:
        return Parameters()
    except (OSError, ValueError) as e:
        log.warning("IGNORE parameters path=%s error=%s", path, e)
        return Parameters()
    fields = {f.name for f in dataclasses.fields(Parameters)}
    values = {k: v for k, v in raw.items()
              if k in fields and isinstance(v, bool)} \
        if isinstance(raw, dict) else {}
    return Parameters(**values)


def save(path: str, params: Parameters) -> None:
    """Write atomically: a crash leaves the old or the new file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(dataclasses.asdict(params), f, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
