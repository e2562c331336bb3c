"""The host's operating system, kernel and installed software versions.

Package versions come from dpkg on Debian (``dpkg-query``); the result is
kept until /var/lib/dpkg/status changes, so repeated capability queries
cost no subprocess. A host without dpkg reports only the kernel and vdsm.
"""

from __future__ import annotations

import logging
import os
import platform
import threading

from vdsm.common import commands
from vdsm.host import procfs, version

log = logging.getLogger("vdsm.host.osinfo")

OS_RELEASE = "/etc/os-release"
DPKG_STATUS = "/var/lib/dpkg/status"

# Upstream's os names (the OSName enum) by os-release ID.
_OS_NAMES = {
    "debian": "Debian", "ubuntu": "Debian", "fedora": "Fedora",
    "rhel": "RHEL", "centos": "RHEL", "rocky": "RHEL", "almalinux": "RHEL",
}

# Wire name in packages2 -> Debian packages that provide it, best first.
_QEMU_SYSTEM = {"x86_64": "qemu-system-x86", "ppc64le": "qemu-system-ppc",
                "aarch64": "qemu-system-arm", "s390x": "qemu-system-s390x"}
PACKAGES: dict[str, list[str]] = {
    "libvirt": ["libvirt-daemon", "libvirt0"],
    "qemu-kvm": [_QEMU_SYSTEM.get(platform.machine(), "qemu-system"),
                 "qemu-kvm"],
    "qemu-img": ["qemu-utils"],
    "spice-server": ["libspice-server1"],
    "librbd1": ["librbd1"],
    "vdsm": ["vdsm"],
}


def operating_system(os_release: str = OS_RELEASE) -> dict[str, str]:
    """{name, version, release, pretty_name} as upstream's OsVersion."""
    fields = parse_os_release(procfs.read(os_release))
    ids = [fields.get("ID", "")] + fields.get("ID_LIKE", "").split()
    name = next((_OS_NAMES[i] for i in ids if i in _OS_NAMES), "unknown")
    release = ""
    if fields.get("ID") == "debian":
        release = _debian_point_release()
    return {"name": name,
            "version": fields.get("VERSION_ID", ""),
            "release": release,
            "pretty_name": fields.get("PRETTY_NAME", "")}


def parse_os_release(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            fields[key.strip()] = value.strip().strip("\"'")
    return fields


def _debian_point_release() -> str:
    # /etc/debian_version is "12.11" on a stable point release.
    try:
        text = procfs.read("/etc/debian_version").strip()
    except OSError:
        return ""
    _, _, point = text.partition(".")
    return point if point.isdigit() else ""


def kernel_release() -> str:
    return os.uname().release


def kernel_package(release: str) -> dict[str, str]:
    """Split ``6.1.0-26-amd64`` into version 6.1.0 and release 26-amd64."""
    ver, _, rel = release.partition("-")
    return {"version": ver, "release": rel}


def split_debian_version(text: str) -> dict[str, str]:
    """``1:7.2+dfsg-7+deb12u18`` -> version 7.2+dfsg, release 7+deb12u18."""
    _, _, text = text.rpartition(":")
    ver, sep, rel = text.rpartition("-")
    if not sep:
        return {"version": text, "release": ""}
    return {"version": ver, "release": rel}


def parse_dpkg_query(text: str) -> dict[str, str]:
    """Lines of ``package<TAB>version<TAB>status`` -> {package: version}."""
    installed = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2] == "installed" and parts[1]:
            installed[parts[0]] = parts[1]
    return installed


class PackageCache:
    """packages2, re-read only when the dpkg database changes."""

    def __init__(self, status_file: str = DPKG_STATUS) -> None:
        self._status_file = status_file
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._installed: dict[str, str] = {}

    def packages(self) -> dict[str, dict[str, str]]:
        result = {"kernel": kernel_package(kernel_release())}
        installed = self._dpkg_versions()
        for wire_name, candidates in PACKAGES.items():
            found = next((installed[p] for p in candidates
                          if p in installed), None)
            if found is not None:
                result[wire_name] = split_debian_version(found)
        # vdsm running from a source tree is not a package: report ours.
        result.setdefault("vdsm", {"version": version.SOFTWARE_VERSION,
                                   "release": version.SOFTWARE_REVISION})
        return result

    def _dpkg_versions(self) -> dict[str, str]:
        try:
            mtime = os.stat(self._status_file).st_mtime
        except FileNotFoundError:
            return {}
        with self._lock:
            if mtime != self._mtime:
                self._installed = _query_dpkg(
                    [p for ps in PACKAGES.values() for p in ps])
                self._mtime = mtime
            return dict(self._installed)


def _query_dpkg(packages: list[str]) -> dict[str, str]:
    fmt = "${Package}\\t${Version}\\t${db:Status-Status}\\n"
    try:
        # Exit code 1 only says some packages are unknown: still parse.
        out = commands.run(["dpkg-query", "-W", "-f", fmt, *packages],
                           timeout=30, check=False).stdout
    except (OSError, commands.CommandError) as e:
        log.warning("FAIL query=dpkg reason=%s", e)
        return {}
    return parse_dpkg_query(out)
