from __future__ import annotations

import os
import shutil

import libvirt  # type: ignore[import-untyped]
import pytest

from vdsm.host import osinfo, version

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-query") is None,
                                reason="no dpkg on this host")


def test_parse_os_release():
    fields = osinfo.parse_os_release(
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
        "# a comment\n"
        "ID=debian\n"
        "VERSION_ID='12'\n")
    assert fields == {"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)",
                      "ID": "debian", "VERSION_ID": "12"}


@pytest.mark.parametrize("ids,name", [
    ("ID=debian", "Debian"),
    ("ID=ubuntu\nID_LIKE=debian", "Debian"),
    ("ID=centos\nID_LIKE='rhel fedora'", "RHEL"),
    ("ID=fedora", "Fedora"),
    ("ID=arch", "unknown"),
])
def test_operating_system_names(tmp_path, ids, name):
    path = tmp_path / "os-release"
    path.write_text(f"{ids}\nVERSION_ID=1\nPRETTY_NAME=x\n")
    info = osinfo.operating_system(str(path))
    assert info["name"] == name
    assert info["version"] == "1"
    assert info["pretty_name"] == "x"


def test_operating_system_real():
    fields = osinfo.parse_os_release(osinfo.procfs.read(osinfo.OS_RELEASE))
    info = osinfo.operating_system()
    assert info["version"] == fields.get("VERSION_ID", "")
    assert info["pretty_name"] == fields.get("PRETTY_NAME", "")
    if fields["ID"] == "debian":
        assert info["name"] == "Debian"
        with open("/etc/debian_version") as f:
            point = f.read().strip().partition(".")[2]
        assert info["release"] == (point if point.isdigit() else "")


@pytest.mark.parametrize("text,ver,rel", [
    ("1:7.2+dfsg-7+deb12u18+b3", "7.2+dfsg", "7+deb12u18+b3"),
    ("9.0.0-4+deb12u2", "9.0.0", "4+deb12u2"),
    ("2.36-9+deb12u4-extra", "2.36-9+deb12u4", "extra"),
    ("1.2.3", "1.2.3", ""),
])
def test_split_debian_version(text, ver, rel):
    assert osinfo.split_debian_version(text) == {"version": ver,
                                                 "release": rel}


def test_kernel_package():
    assert osinfo.kernel_package("6.1.0-26-amd64") == {
        "version": "6.1.0", "release": "26-amd64"}
    assert osinfo.kernel_package(os.uname().release)["version"] in \
        os.uname().release


def test_parse_dpkg_query():
    out = ("librbd1\t16.2.15+ds-0+deb12u2\tinstalled\n"
           "old\t1.0-1\tconfig-files\n"
           "bad line\n")
    assert osinfo.parse_dpkg_query(out) == {
        "librbd1": "16.2.15+ds-0+deb12u2"}


@needs_dpkg
def test_packages_real(libvirtd):
    packages = osinfo.PackageCache().packages()
    assert packages["kernel"] == osinfo.kernel_package(os.uname().release)
    assert packages["vdsm"]["version"]
    conn = libvirt.openReadOnly("qemu:///system")
    try:
        number = conn.getLibVersion()
    finally:
        conn.close()
    lib = f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"
    # libvirt-daemon and the library libvirtd runs are the same release.
    assert packages["libvirt"]["version"].startswith(lib)


def test_packages_without_dpkg_database(tmp_path):
    cache = osinfo.PackageCache(status_file=str(tmp_path / "status"))
    packages = cache.packages()
    assert set(packages) == {"kernel", "vdsm"}
    assert packages["vdsm"] == {"version": version.SOFTWARE_VERSION,
                                "release": version.SOFTWARE_REVISION}


@needs_dpkg
def test_packages_follow_the_dpkg_database(tmp_path):
    status = tmp_path / "status"
    status.write_text("")
    cache = osinfo.PackageCache(status_file=str(status))
    first = cache.packages()
    # A missing database now means no dpkg data: the cache is not
    # served past a change of the file.
    status.unlink()
    assert set(cache.packages()) == {"kernel", "vdsm"}
    status.write_text("changed")
    assert cache.packages() == first
