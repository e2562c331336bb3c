"""Privileged LLDP queries: lldpad answers root only.

``lldp_tlvs(devices)`` asks the running lldpad (Debian's ``lldpad``,
through ``lldptool``) which of ``devices`` receive LLDP and returns, for
each device with LLDP enabled, the text of ``lldptool get-tlv -n`` (the
neighbour's TLVs); None for a device where LLDP is disabled. Raises
CommandFailed when lldpad does not answer. vdsmd parses the text
(``vdsm.host.lldp``): this side only runs the tool.
"""

from __future__ import annotations

import os
import re

from vdsm.common.commands import CommandFailed
from vdsm.supervdsm import runtime
from vdsm.supervdsm.allowlist import privileged
from vdsm.supervdsm.errors import InvalidArguments

LLDPTOOL = "lldptool"
# Never a leading '-': lldptool would take it for an option.
_DEVICE = re.compile(r"^(?!-)[A-Za-z0-9_.:@-]{1,15}$")


@privileged
def lldp_tlvs(devices: list[str]) -> dict[str, str | None]:
    for dev in devices:
        if not _DEVICE.match(dev) or not os.path.isdir(
                f"/sys/class/net/{dev}"):
            raise InvalidArguments(f"no network device {dev!r}")
    runtime.run([LLDPTOOL, "-ping"])
    result: dict[str, str | None] = {}
    for dev in devices:
        if _enabled(dev):
            result[dev] = runtime.run([LLDPTOOL, "get-tlv", "-n", "-i", dev])
        else:
            result[dev] = None
    return result


def _enabled(dev: str) -> bool:
    try:
        out = runtime.run([LLDPTOOL, "get-lldp", "-i", dev, "adminStatus"])
    except CommandFailed:
        # lldpad does not manage this device (down, or not an Ethernet
        # port it watches).
        return False
    key, _, value = out.strip().partition("=")
    return key == "adminStatus" and value not in ("", "disabled")
