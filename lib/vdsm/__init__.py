"""Vdsm: the host agent of a KVM virtualization cluster."""

__version__ = "4.50.0"
