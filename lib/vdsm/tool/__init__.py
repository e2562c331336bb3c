"""vdsm-tool: host configuration verbs (configure, is-configured ...).

``vdsm.tool.main`` is the command line; ``vdsm.tool.configurator`` runs the
configure modules (``certificates``, ``vdsm-user``, ``libvirt``, ``sanlock``,
``lvm``), each a module of this package with ``is_configured(target)`` and
``configure(target, force)``. Every module works on a ``Target``: the host's
config and a root prefix (``--root DIR``), so tests run the modules against
a temporary tree holding copies of the real /etc files.
"""
