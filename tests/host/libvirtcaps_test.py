from __future__ import annotations

import libvirt  # type: ignore[import-untyped]
import pytest

from vdsm.host import libvirtcaps

CAPS = """\
<capabilities>
  <host>
    <cpu>
      <arch>x86_64</arch>
      <counter name='tsc' frequency='2596122000' scaling='yes'/>
    </cpu>
  </host>
  <guest>
    <os_type>hvm</os_type>
    <arch name='i686'>
      <machine>pc-i440fx-6.0</machine>
    </arch>
  </guest>
  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'>
      <machine maxCpus='255'>pc-i440fx-7.2</machine>
      <machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>
      <machine canonical='pc-q35-7.2' maxCpus='288'>q35</machine>
      <machine maxCpus='288'>pc-q35-7.2</machine>
    </arch>
  </guest>
</capabilities>
"""

DOMCAPS = """\
<domainCapabilities>
  <cpu>
    <mode name='host-model' supported='yes'>
      <model fallback='forbid'>kvm64</model>
    </mode>
    <mode name='custom' supported='yes'>
      <model usable='no' vendor='unknown'>qemu64</model>
      <model usable='yes' vendor='unknown'>pentium3</model>
      <model usable='yes' vendor='AMD'>EPYC</model>
    </mode>
  </cpu>
</domainCapabilities>
"""


def test_parse_capabilities_host_arch_only():
    caps = libvirtcaps.parse_capabilities(CAPS, "x86_64")
    assert caps.emulated_machines == [
        "pc", "pc-i440fx-7.2", "pc-q35-7.2", "q35"]
    assert caps.tsc_frequency == "2596122000"
    assert caps.tsc_scaling is True


def test_parse_capabilities_other_arch():
    caps = libvirtcaps.parse_capabilities(CAPS, "i686")
    assert caps.emulated_machines == ["pc-i440fx-6.0"]


def test_parse_cpu_models():
    assert libvirtcaps.parse_cpu_models(DOMCAPS) == ["pentium3", "EPYC"]


def test_query_real(libvirtd):
    caps = libvirtcaps.query()
    assert any(m.startswith("pc-") for m in caps.emulated_machines)
    conn = libvirt.openReadOnly(libvirtcaps.URI)
    try:
        known = set(conn.getCPUModelNames(libvirtcaps.arch()))
        assert caps.libvirt_version == libvirtcaps._version_string(
            conn.getLibVersion())
    finally:
        conn.close()
    assert set(caps.cpu_models) <= known


def test_query_unreachable():
    uri = "qemu+unix:///system?socket=/nonexistent/libvirt-sock"
    with pytest.raises(libvirt.libvirtError):
        libvirtcaps.query(uri)


def test_version_string():
    assert libvirtcaps._version_string(9000000) == "9.0.0"
    assert libvirtcaps._version_string(10002003) == "10.2.3"
