"""The storage subsystem's front: one object the API verbs call.

``StorageService`` owns the parts (connections, out-of-process helpers,
connected pools, tasks, domain monitor) and finds domains on the
connected mounts. Image and volume operations live in ``images.py``
(``ImageService``), reached as ``service.images``.

Lock order: the service lock, then a pool's lock; never the reverse.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from vdsm.common.config import Config
from vdsm.common.keyedlock import KeyedLocks
from vdsm.common.exception import VdsmError
from vdsm.storage import connection as conn_mod
from vdsm.storage import constants as sc
from vdsm.storage import domain as dom_mod
from vdsm.storage import errors
from vdsm.storage import pool as pool_mod
from vdsm.storage.connection import Connections
from vdsm.storage.domain import DomainSpec, FileDomain
from vdsm.storage.image import Drive
from vdsm.storage.monitor import DomainMonitor
from vdsm.storage.mount import Mounter
from vdsm.storage.outofprocess import Registry
from vdsm.storage.pool import Pool
from vdsm.storage.jobs import Jobs
from vdsm.storage.links import ImageLinks
from vdsm.storage.metadata import MetadataSealBroken
from vdsm.storage.tasks import TaskManager
from vdsm.supervdsm import client as supervdsm_client

log = logging.getLogger("vdsm.storage.service")

# Seconds StorageDomain.format waits for a domain's tree to be removed.
FORMAT_TIMEOUT = 60.0


class StorageService:
    def __init__(self, config: Config, mounter: Mounter | None = None
                 ) -> None:
        self.config = config
        self.repository = config.get("irs", "repository")
        self.oop = Registry(config.getfloat("irs", "process_pool_timeout"))
        self.connections = Connections(
            self.repository, config.get("vars", "lib_dir"), self.oop,
            mounter or Mounter(lambda: supervdsm_client.get_proxy(config)))
        self.sanlock_io_timeout = config.getint("sanlock", "io_timeout")
        self.rollbacks: dict[str, Any] = {}
        self.tasks = TaskManager(self.rollbacks)
        self.jobs = Jobs(self.tasks,
                         config.getfloat("jobs", "autodelete_delay"))
        self.monitor = DomainMonitor(
            self.find_domain, config.getfloat("irs", "sd_health_check_delay"))
        self._lock = threading.RLock()
        # Verbs that change what a domain is or where it belongs (create,
        # format, pool create, attach, detach, activate, deactivate) hold
        # its lock: a format cannot remove a domain an attach is writing.
        self._domain_locks = KeyedLocks()
        self._pools: dict[str, Pool] = {}
        self._domain_paths: dict[str, str] = {}
        from vdsm.storage.images import ImageService
        self.images = ImageService(self)
        self.links = ImageLinks(config.get("vars", "run_dir"))

    def start(self) -> None:
        self.connections.restore()
        for mount_path in self._mounts():
            self._sweep(mount_path)

    def _sweep(self, mount_path: str) -> None:
        """Remove format leftovers on a mount, in the background (a big
        or slow tree must not hold up the verb or the start)."""
        def run() -> None:
            try:
                dom_mod.sweep(self.oop.get(mount_path), mount_path,
                              max(self.oop.timeout, FORMAT_TIMEOUT))
            except VdsmError as e:     # storage shutting down
                log.info("SWEEP path=%s skipped=%s", mount_path, e)
        threading.Thread(target=run, name="storage/sweep",
                         daemon=True).start()

    def stop(self) -> None:
        self.monitor.stop_all()
        self.oop.close()

    # Connections.

    def connect_storage_server(self, dom_type: int,
                               con_list: list[dict]) -> list[tuple[str, int]]:
        return [(str(p.get("id", "")), self._each(dom_type, p, True))
                for p in con_list]

    def disconnect_storage_server(self, dom_type: int, con_list: list[dict]
                                  ) -> list[tuple[str, int]]:
        return [(str(p.get("id", "")), self._each(dom_type, p, False))
                for p in con_list]

    def _each(self, dom_type: int, params: dict, connect: bool) -> int:
        try:
            conn = conn_mod.from_wire(dom_type, params)
            if connect:
                self.connections.connect(conn)
                self._sweep(self.connections.local_path(conn))
                return 0
            self.connections.disconnect(conn)
            prefix = self.connections.local_path(conn) + "/"
            with self._lock:
                self._domain_paths = {
                    sd: p for sd, p in self._domain_paths.items()
                    if not p.startswith(prefix)}
            return 0
        except VdsmError as e:
            log.info("CONNECTION connection=%s connect=%s error=%s",
                     params.get("connection"), connect, e)
            return e.code

    # Domains.

    def _mounts(self) -> list[str]:
        mnt = self.connections.mnt_dir
        try:
            return [os.path.join(mnt, n) for n in sorted(os.listdir(mnt))]
        except FileNotFoundError:
            return []

    def find_domain(self, sd_uuid: str) -> FileDomain:
        sd_uuid = sc.check_uuid(sd_uuid, "sdUUID")
        with self._lock:
            path = self._domain_paths.get(sd_uuid)
        if path is not None:
            return FileDomain(sd_uuid, path, self.oop.get(
                os.path.dirname(path)))
        for mount_path in self._mounts():
            io = self.oop.get(mount_path)
            candidate = os.path.join(mount_path, sd_uuid)
            try:
                found = io.call("exists", path=os.path.join(
                    candidate, sc.DOM_MD, "metadata"))
            except errors.StorageError as e:
                log.warning("SCAN mount=%s error=%s", mount_path, e)
                continue
            if found:
                with self._lock:
                    self._domain_paths[sd_uuid] = candidate
                return FileDomain(sd_uuid, candidate, io)
        raise errors.StorageDomainDoesNotExist(sd=sd_uuid)

    def domain_exists(self, sd_uuid: str) -> bool:
        try:
            self.find_domain(sd_uuid)
            return True
        except errors.StorageDomainDoesNotExist:
            return False

    def create_domain(self, spec: DomainSpec) -> None:
        sc.check_uuid(spec.sd_uuid, "sdUUID")
        if spec.dom_type not in sc.FILE_DOMAIN_TYPES:
            raise errors.InvalidParameter("unsupported domain type",
                                          value=spec.dom_type)
        if spec.dom_class not in sc.DOMAIN_CLASS_NAMES:
            raise errors.InvalidParameter("bad domClass",
                                          value=spec.dom_class)
        if spec.version not in sc.DOMAIN_VERSIONS:
            raise errors.InvalidParameter("unsupported domain version",
                                          value=spec.version)
        if not spec.name or "\n" in spec.name or len(spec.name) > 50:
            raise errors.InvalidParameter("bad domain name")
        name = spec.remote_path.replace("_", "__").replace("/", "_")
        mount_path = os.path.join(self.connections.mnt_dir, name)
        # "", "." and ".." name no mount but mnt/ itself or its parent.
        if name in ("", ".", "..") or "\0" in name \
                or not os.path.exists(mount_path):
            raise errors.StorageDomainFSNotMounted(path=spec.remote_path)
        with self._domain_locks.hold(spec.sd_uuid):
            if self.domain_exists(spec.sd_uuid):
                raise errors.StorageDomainAlreadyExists(sd=spec.sd_uuid)
            dom_mod.create(spec, mount_path, self.oop.get(mount_path),
                           self.sanlock_io_timeout)

    def domain_info(self, sd_uuid: str) -> dict[str, Any]:
        return self.find_domain(sd_uuid).info()

    def domain_stats(self, sd_uuid: str) -> dict[str, Any]:
        dom = self.find_domain(sd_uuid)
        space = dom.space()
        mon = self.monitor.stats().get(sd_uuid)
        return {"disktotal": space["total"], "diskfree": space["free"],
                "mdavalid": True, "mdathreshold": True,
                "mdasize": 0, "mdafree": 0,
                "valid": mon["valid"] if mon else True}

    def domain_images(self, sd_uuid: str) -> list[str]:
        return self.find_domain(sd_uuid).images()

    def domain_volumes(self, sd_uuid: str, img_uuid: str) -> list[str]:
        """Volumes of one image (none if unknown); blank: of all images."""
        dom = self.find_domain(sd_uuid)
        img_uuid = sc.check_uuid(img_uuid, "imgUUID")
        return dom.volumes(None if img_uuid == sc.BLANK_UUID else img_uuid)

    def format_domain(self, sd_uuid: str, auto_detach: bool = False) -> None:
        """Remove a domain that is in no connected pool, for good.

        Refused with 392 while the domain is a member of a pool this host
        is connected to, with 391 while its metadata names a pool (unless
        auto_detach); a domain whose metadata cannot be read is formatted
        all the same, as upstream allows.
        """
        sd_uuid = sc.check_uuid(sd_uuid, "sdUUID")
        with self._domain_locks.hold(sd_uuid):
            self._format_domain(sd_uuid, auto_detach)

    def _format_domain(self, sd_uuid: str, auto_detach: bool) -> None:
        with self._lock:
            pools = list(self._pools.values())
        for pool in pools:
            if sd_uuid in pool.domains():
                raise errors.CannotFormatStorageDomainInConnectedPool(
                    sd=sd_uuid, pool=pool.sp_uuid)
        dom = self.find_domain(sd_uuid)
        try:
            owner = dom.metadata().get("POOL_UUID", "")
        except MetadataSealBroken as e:
            log.warning("FORMAT sd=%s bad_metadata=%s", sd_uuid, e)
            owner = ""
        if owner and not auto_detach:
            raise errors.CannotFormatAttachedStorageDomain(sd=sd_uuid,
                                                           pool=owner)
        self.monitor.stop(sd_uuid)
        dom_mod.remove(dom, max(self.oop.timeout, FORMAT_TIMEOUT))
        self.links.unlink_domain(sd_uuid)
        with self._lock:
            self._domain_paths.pop(sd_uuid, None)

    def list_domains(self, sp_uuid: str | None = None,
                     dom_class: int | None = None,
                     dom_type: int | None = None) -> list[str]:
        out = []
        for mount_path in self._mounts():
            try:
                names = self.oop.get(mount_path).call("listdir",
                                                      path=mount_path)
            except (OSError, errors.StorageError):
                continue
            for name in names:
                try:
                    info = self.find_domain(name).info()
                except (VdsmError, OSError):
                    continue
                if sp_uuid and sp_uuid not in info["pool"]:
                    continue
                if dom_class and info["class"] != \
                        sc.DOMAIN_CLASS_NAMES.get(dom_class):
                    continue
                if dom_type and info["type"] != \
                        sc.DOMAIN_TYPE_NAMES.get(dom_type):
                    continue
                out.append(name)
        return out

    # Pools.

    def pool(self, sp_uuid: str) -> Pool:
        sp_uuid = sc.check_uuid(sp_uuid, "spUUID")
        with self._lock:
            pool = self._pools.get(sp_uuid)
        if pool is None:
            raise errors.StoragePoolUnknown(pool=sp_uuid)
        return pool

    def spm_pool(self, sp_uuid: str) -> Pool:
        pool = self.pool(sp_uuid)
        pool.require_spm()
        return pool

    def connected_pools(self) -> list[str]:
        with self._lock:
            return list(self._pools)

    def create_pool(self, sp_uuid: str, name: str, master_uuid: str,
                    master_version: int, domains: list[str]) -> None:
        sc.check_uuid(sp_uuid, "spUUID")
        for sd in domains + [master_uuid]:
            sc.check_uuid(sd, "sdUUID")
        # Upstream's limit: the name goes into every domain's metadata.
        if not name or len(name) > 50 or any(c in name for c in "\n,\0"):
            raise errors.InvalidParameter("bad pool name: 1-50 chars, no "
                                          "newline, comma or NUL")
        if master_version < 0:
            raise errors.InvalidParameter("negative masterVersion",
                                          value=master_version)
        with self._domain_locks.hold(master_uuid, *domains):
            pool_mod.create(self.find_domain, sp_uuid, name, master_uuid,
                            master_version, domains)

    def connect_pool(self, sp_uuid: str, host_id: int, master_uuid: str,
                     master_version: int) -> None:
        sp_uuid = sc.check_uuid(sp_uuid, "spUUID")
        master_uuid = sc.check_uuid(master_uuid, "msdUUID")
        with self._lock:
            if sp_uuid in self._pools:
                return
            if self._pools:
                raise errors.StoragePoolConnectionError(
                    "connected to another pool", pool=list(self._pools)[0])
            pool = Pool.connect(self.find_domain, self.tasks, sp_uuid,
                                host_id, master_uuid, master_version)
            self._pools[sp_uuid] = pool
        for sd, status in pool.domains().items():
            if status == sc.DOM_ACTIVE:
                self._activate_locally(pool, sd)

    def _activate_locally(self, pool: Pool, sd_uuid: str) -> None:
        if sd_uuid != pool.master.sd_uuid:
            try:
                self.find_domain(sd_uuid).acquire_host_id(pool.host_id,
                                                          wait=False)
            except VdsmError as e:
                log.warning("HOST_ID sd=%s error=%s", sd_uuid, e)
        self.monitor.start(sd_uuid, pool.host_id)

    def disconnect_pool(self, sp_uuid: str, host_id: int) -> None:
        pool = self.pool(sp_uuid)
        self._disconnect(pool, list(pool.domains()))

    def destroy_pool(self, sp_uuid: str, host_id: int) -> None:
        """Detach all domains, stop being SPM, disconnect (SPM only).

        Afterwards the domains are free: they may be formatted or put in
        another pool.
        """
        pool = self.pool(sp_uuid)
        if host_id != pool.host_id:
            raise errors.HostIdMismatch(pool=pool.sp_uuid, given=host_id,
                                        connected=pool.host_id)
        members = list(pool.domains())
        pool.destroy()
        self._disconnect(pool, members)

    def _disconnect(self, pool: Pool, members: list[str]) -> None:
        pool.disconnect()
        for sd in members:
            self.monitor.stop(sd)
            if sd != pool.master.sd_uuid:
                try:
                    self.find_domain(sd).release_host_id(pool.host_id,
                                                         wait=False)
                except VdsmError:
                    pass
        with self._lock:
            self._pools.pop(pool.sp_uuid, None)

    def pool_info(self, sp_uuid: str) -> dict[str, Any]:
        pool = self.pool(sp_uuid)
        md = pool.metadata()
        doms = pool.domains()
        dominfo = {}
        for sd, status in doms.items():
            entry: dict[str, Any] = {"status": status, "alerts": []}
            try:
                dom = self.find_domain(sd)
                space = dom.space()
                entry.update(diskfree=space["free"],
                             disktotal=space["total"],
                             version=int(dom.metadata().get("VERSION", 0)))
            except (VdsmError, OSError):
                entry["status"] = "Unknown" if status == sc.DOM_ACTIVE \
                    else status
            dominfo[sd] = entry
        spm = pool.spm_status()
        return {"info": {"name": md.get("POOL_DESCRIPTION", ""),
                         "master_uuid": pool.master.sd_uuid,
                         "master_ver": int(md.get("MASTER_VERSION", 0)),
                         "spm_id": spm["id"], "lver": spm["lver"],
                         "domains": md.get("POOL_DOMAINS", ""),
                         "pool_status": "connected",
                         "type": md.get("TYPE", ""), "isoprefix": "",
                         "version": md.get("VERSION", "")},
                "dominfo": dominfo}

    def spm_start(self, sp_uuid: str) -> str:
        pool = self.pool(sp_uuid)
        return self.tasks.start("StoragePool.spmStart",
                                lambda task: pool.spm_start())

    def spm_stop(self, sp_uuid: str) -> None:
        self.pool(sp_uuid).spm_stop()

    def spm_status(self, sp_uuid: str) -> dict[str, Any]:
        return self.pool(sp_uuid).spm_status()

    def attach_domain(self, sd_uuid: str, sp_uuid: str) -> None:
        sd_uuid = sc.check_uuid(sd_uuid, "sdUUID")
        with self._domain_locks.hold(sd_uuid):
            self.spm_pool(sp_uuid).attach(sd_uuid)

    def detach_domain(self, sd_uuid: str, sp_uuid: str) -> None:
        sd_uuid = sc.check_uuid(sd_uuid, "sdUUID")
        with self._domain_locks.hold(sd_uuid):
            self.spm_pool(sp_uuid).detach(sd_uuid)
            self.links.unlink_domain(sd_uuid)

    def activate_domain(self, sd_uuid: str, sp_uuid: str) -> None:
        sd_uuid = sc.check_uuid(sd_uuid, "sdUUID")
        with self._domain_locks.hold(sd_uuid):
            pool = self.spm_pool(sp_uuid)
            pool.activate(sd_uuid)
            self._activate_locally(pool, sd_uuid)

    def deactivate_domain(self, sd_uuid: str, sp_uuid: str) -> None:
        sd_uuid = sc.check_uuid(sd_uuid, "sdUUID")
        with self._domain_locks.hold(sd_uuid):
            pool = self.spm_pool(sp_uuid)
            pool.deactivate(sd_uuid)
            self.monitor.stop(sd_uuid)
            self.links.unlink_domain(sd_uuid)
            try:
                self.find_domain(sd_uuid).release_host_id(pool.host_id,
                                                          wait=False)
            except VdsmError as e:
                log.warning("HOST_ID sd=%s error=%s", sd_uuid, e)

    # Disks of VMs (called by virt at VM start and destroy).

    def prepare_image(self, pool_id: str, sd_id: str, img_id: str,
                      vol_id: str) -> Drive:
        """Prepare a VM disk; the Drive has path, format and chain.

        pool_id is checked when this host is connected to a pool (the
        domain must be one of its active domains); a host without a pool
        may still run VMs from connected domains.
        """
        if self.connected_pools():
            self.pool(pool_id).domain(sc.check_uuid(sd_id, "domainID"))
        return self.images.prepare(sd_id, img_id, vol_id)

    def teardown_image(self, pool_id: str, sd_id: str, img_id: str,
                       vol_id: str | None = None) -> None:
        self.images.teardown(sd_id, img_id, vol_id)

    # Monitoring.

    def repo_stats(self) -> dict[str, dict[str, Any]]:
        return self.monitor.stats()
