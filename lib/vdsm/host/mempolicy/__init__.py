"""The host memory policy: KSM and guest balloons, as upstream's MOM does.

Upstream Vdsm runs MOM (a separate daemon, not packaged for Debian) with
the policy files vdsm ships (``mom.d/02-balloon.policy``,
``03-ksm.policy``) and forwards ``Host.setMOMPolicyParameters`` to it.
This package is our own small version of that policy loop, inside vdsmd:

- ``parameters``: the policy variables the engine sets (balloonEnabled,
  ksmEnabled, ksmMergeAcrossNodes), kept across restarts.
- ``ksm``: from host memory and the KSM state in sysfs, what KSM should
  do (run / stop / unmerge, pages_to_scan, sleep_millisecs,
  merge_across_nodes). Pure functions over typed values.
- ``balloon``: from host free memory and a guest's balloon and memory
  stats, the guest's new balloon target, if any. Pure functions.
- ``guests``: the running VMs' balloon views (from the virt sampler's
  last libvirt stats) and setting a target through the VM.
- ``component``: the loop, every ``[mom] policy_interval`` seconds; KSM
  is written through supervdsm (``vdsm.supervdsm.api.ksm``).
"""
