"""Test helpers: network namespaces with veth pairs as NICs.

Every test works in a namespace it made (``vdsmtest-<random>``) and
deletes it at the end, even on failure; the machine's own interfaces are
never touched. A "NIC" is one end of a veth pair whose peer lives in the
same namespace (named ``<nic>p``).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid


def have_root() -> bool:
    return os.geteuid() == 0


def ip(netns: str, *args: str, check: bool = True) -> str:
    cmd = ["ip", "-n", netns, *args]
    return subprocess.run(cmd, check=check, capture_output=True,
                          text=True).stdout


def kernel_has(kind: str) -> bool:
    """Can this kernel make a link of this kind? (vlan, bond ...)"""
    ns = f"vdsmprobe-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        extra = ["link", "lo", "type", "vlan", "id", "5"] \
            if kind == "vlan" else ["type", kind]
        if kind == "vlan":
            subprocess.run(["ip", "-n", ns, "link", "add", "d0", "type",
                            "veth", "peer", "name", "d1"], check=True)
            extra = ["link", "d0", "type", "vlan", "id", "5"]
        proc = subprocess.run(["ip", "-n", ns, "link", "add", "name", "p0",
                               *extra], capture_output=True)
        return proc.returncode == 0
    finally:
        subprocess.run(["ip", "netns", "del", ns])


class Namespace:
    def __init__(self) -> None:
        self.name = f"vdsmtest-{uuid.uuid4().hex[:8]}"

    def create(self) -> Namespace:
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        ip(self.name, "link", "set", "lo", "up")
        return self

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name],
                       capture_output=True)
        resolv = f"/etc/netns/{self.name}"
        if os.path.isdir(resolv):
            for f in os.listdir(resolv):
                os.unlink(os.path.join(resolv, f))
            os.rmdir(resolv)

    def add_nics(self, *names: str) -> None:
        lines = []
        for name in names:
            lines.append(f"link add {name} type veth peer name {name}p")
            lines.append(f"link set {name}p up")
            lines.append(f"link set {name} up")
        self.batch(lines)

    def batch(self, lines: list[str]) -> None:
        subprocess.run(["ip", "-n", self.name, "-batch", "-"],
                       input="\n".join(lines) + "\n", text=True, check=True,
                       capture_output=True)

    def ip(self, *args: str, check: bool = True) -> str:
        return ip(self.name, *args, check=check)

    def link(self, name: str) -> dict | None:
        out = self.ip("-j", "-d", "addr", "show", "dev", name, check=False)
        return json.loads(out)[0] if out.strip() else None

    def addrs(self, name: str) -> set[str]:
        link = self.link(name)
        assert link is not None, f"no link {name}"
        return {f"{a['local']}/{a['prefixlen']}"
                for a in link.get("addr_info", [])
                if a.get("scope") == "global"}

    def state_text(self) -> str:
        """Everything a change could touch, for before/after comparisons:
        per link its kind, master, MTU, admin state, VLAN/bond data and
        global addresses; the routes. Leaves out what the kernel changes
        by itself (carrier, bridge port state, timers, link-local)."""
        lines = []
        for link in json.loads(self.ip("-j", "-d", "addr", "show")):
            info = link.get("linkinfo") or {}
            data = info.get("info_data") or {}
            addrs = sorted(f"{a['local']}/{a['prefixlen']}"
                           for a in link.get("addr_info", [])
                           if a.get("scope") == "global")
            lines.append(" ".join(map(str, [
                link["ifname"], info.get("info_kind"), link.get("master"),
                link["mtu"], "UP" in link.get("flags", []),
                data.get("id"), data.get("mode"), data.get("stp_state"),
                addrs])))
        for family in ("-4", "-6"):
            for route in json.loads(self.ip(family, "-j", "route", "show")):
                if not route["dst"].startswith("fe80"):
                    lines.append(" ".join(f"{k}={route[k]}" for k in sorted(
                        route) if k not in ("flags", "pref")))
        return "\n".join(sorted(lines)) + "\n"
