"""Vdsm: the host agent of a KVM virtualization cluster."""

__version__ = "4.60.0"
