"""The storage component: ``services.storage``, its parts built once.

``Storage`` holds the parts the API and virt call, each given only what
it uses:

* ``repository`` (repository.py): storage server connections, where
  domains are mounted, finding a domain by UUID;
* ``domains`` (domains.py): create, inspect, list and format domains;
* ``pools`` (hostpools.py): the connected pool, the SPM role, pool
  membership of domains;
* ``images`` (imageops.py): image and volume verbs, most as SPM tasks;
* ``disks`` (vmdisks.py): VM disks prepared at VM start;
* ``leases`` (leases.py): external (VM) leases in the domains' xleases
  volumes: ``lookup`` for lease devices, the Lease.* verbs;
* ``transfers`` (transfer.py): streams into and out of volumes (the
  engine's HTTP image upload and download), as SPM tasks;
* ``tasks`` / ``jobs``: SPM tasks and SDM jobs; ``monitor``: domain
  health (Host.getStorageRepoStats, Host.getStats).

``start()`` restores the saved storage server connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from vdsm.common.config import Config
from vdsm.common.keyedlock import KeyedLocks
from vdsm.storage import jobs as jobs_mod
from vdsm.storage.coldmerge import ColdMerges
from vdsm.storage.connection import Connections
from vdsm.storage.domains import Domains
from vdsm.storage.hostpools import HostPools
from vdsm.storage.imageops import ImageOps
from vdsm.storage.jobs import JobInfo, Jobs
from vdsm.storage.leases import Leases
from vdsm.storage.links import ImageLinks
from vdsm.storage.monitor import DomainMonitor
from vdsm.storage.mount import Mounter
from vdsm.storage.outofprocess import Registry
from vdsm.storage.repository import Repository
from vdsm.storage.tasks import Task, TaskManager
from vdsm.storage.transfer import ImageTransfers
from vdsm.storage.vmdisks import VmDisks
from vdsm.host import hardware
from vdsm.supervdsm import caller


@dataclass
class Storage:
    repository: Repository
    domains: Domains
    pools: HostPools
    images: ImageOps
    merges: ColdMerges         # cold merge (prepareMerge, SDM.merge, ...)
    disks: VmDisks
    tasks: TaskManager
    jobs: Jobs
    monitor: DomainMonitor
    links: ImageLinks          # the run links of prepared images
    transfers: ImageTransfers
    leases: Leases

    @classmethod
    def build(cls, config: Config, mounter: Mounter | None = None,
              on_job_change: Callable[[JobInfo], None] | None = None
              ) -> Storage:
        """on_job_change: called with a job's info when it starts, is
        stopped or ends (the daemon sends the |jobs|status| event)."""
        oop = Registry(config.getfloat("irs", "process_pool_timeout"))
        connections = Connections(
            config.get("irs", "repository"), config.get("vars", "lib_dir"),
            oop,
            mounter or Mounter(caller.over_socket(config)))
        repository = Repository(connections, oop)
        tasks = TaskManager({})
        monitor = DomainMonitor(
            repository.find_domain,
            config.getfloat("irs", "sd_health_check_delay"))
        links = ImageLinks(config.get("vars", "run_dir"))
        domain_locks = KeyedLocks()
        pools = HostPools(repository, tasks, monitor, links, domain_locks)
        images = ImageOps(repository, pools, tasks, links)
        if on_job_change is not None:
            notify = on_job_change

            def changed(task: Task) -> None:
                notify(jobs_mod.info(task))
            tasks.on_job_change = changed
        return cls(
            repository=repository,
            domains=Domains(repository, pools, monitor, links, domain_locks,
                            config.getint("sanlock", "io_timeout")),
            pools=pools, images=images,
            merges=ColdMerges(images, pools, tasks),
            disks=VmDisks(pools, images),
            tasks=tasks,
            jobs=Jobs(tasks, config.getfloat("jobs", "autodelete_delay")),
            monitor=monitor, links=links,
            transfers=ImageTransfers(pools, tasks),
            leases=Leases(repository, pools, tasks, _hardware_id))

    def start(self) -> None:
        self.repository.start()

    def stop(self) -> None:
        self.monitor.stop_all()
        self.repository.stop()


def _hardware_id() -> str | None:
    """This host's id, written into lease metadata it changes."""
    try:
        return hardware.host_uuid()
    except (OSError, ValueError):
        return None
