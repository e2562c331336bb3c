"""Privileged KSM knobs (/sys/kernel/mm/ksm), for the host memory policy.

vdsmd's policy loop (``vdsm.host.mempolicy``) decides; these functions
only write one knob each, with the kernel's own ranges checked first:
``run`` 0 (stop), 1 (run) or 2 (unmerge every shared page);
``pages_to_scan`` and ``sleep_millisecs`` below 2**32;
``merge_across_nodes`` a boolean. The kernel refuses a
merge_across_nodes change while pages are shared (EBUSY): the policy
unmerges first (run=2) and changes it on a later run.
"""

from __future__ import annotations

import errno
import logging
import os
from typing import Literal

from vdsm.common import exception
from vdsm.supervdsm.allowlist import privileged
from vdsm.supervdsm.errors import InvalidArguments

log = logging.getLogger("supervdsm.ksm")

KSM_DIR = "/sys/kernel/mm/ksm"
LIMIT = 2 ** 32


@privileged
def set_run(mode: Literal[0, 1, 2]) -> None:
    _write("run", mode)


@privileged
def set_scan(pages_to_scan: int, sleep_millisecs: int) -> None:
    """pages_to_scan pages per scan, sleep_millisecs between scans."""
    for name, value in (("pages_to_scan", pages_to_scan),
                        ("sleep_millisecs", sleep_millisecs)):
        if not 0 <= value < LIMIT:
            raise InvalidArguments(f"{name} {value} is not within "
                                   f"0..{LIMIT - 1}")
    _write("pages_to_scan", pages_to_scan)
    _write("sleep_millisecs", sleep_millisecs)


@privileged
def set_merge_across_nodes(merge: bool) -> None:
    try:
        _write("merge_across_nodes", int(merge))
    except OSError as e:
        if e.errno == errno.EBUSY:
            raise exception.GeneralError(
                "merge_across_nodes cannot change while KSM shares "
                "pages: unmerge them first (run=2)") from None
        raise


def _write(name: str, value: int) -> None:
    path = os.path.join(KSM_DIR, name)
    if not os.path.exists(path):
        raise exception.GeneralError(f"{path} does not exist: no KSM")
    with open(path, "w") as f:
        f.write(str(value))
    log.info("SET ksm %s=%d", name, value)
