"""Privileged modules of supervdsmd, one per concern.

Each module holds small, specific ``@privileged`` functions (see
``vdsm.supervdsm.allowlist``) and is listed in ``allowlist.MODULES``.
Paths given by callers are resolved with ``vdsm.supervdsm.paths`` (never
as strings after checking); helper commands run with
``vdsm.supervdsm.runtime.run``.
"""
