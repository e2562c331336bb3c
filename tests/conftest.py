"""Fixtures shared by all tests.

Fixture modules live in tests/fixtures/ and are listed here, one per line.
"""

pytest_plugins = [
    "fixtures.fdleak",
    "fixtures.libvirtd",
    "fixtures.vdsmd",
    "fixtures.virt",
    "fixtures.supervdsm",
    "fixtures.network",
    "fixtures.cluster",
]
