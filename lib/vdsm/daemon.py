"""vdsmd: the daemon's life, from configuration to clean shutdown.

Start: config, logging, the schema and the verbs, the executor, the TLS
listener. The API is served at once and answers code 99 while the
components start (VM recovery, storage connections); then "Ready".
SIGTERM or SIGINT: stop listening, stop components in reverse order, exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from typing import Any

import vdsm
from vdsm import hooks, pki
from vdsm.api import migration_wire, registry, storage_wire, vm_wire
from vdsm.api.dispatcher import Dispatcher
from vdsm.api.image_transfer import ImageTransferHandler
from vdsm.api.schema import Schema
from vdsm.common import log as vdsm_log
from vdsm.common import privilege
from vdsm.common.config import Config
from vdsm.common.executor import Executor
from vdsm.components import Component
from vdsm.host.component import HostService
from vdsm.host.mempolicy import component as mempolicy
from vdsm.host.mempolicy.guests import Guests
from vdsm.network.component import NetworkService
from vdsm.rpc import server as rpc_server
from vdsm.rpc.broker import Broker
from vdsm.rpc.events import EventPublisher
from vdsm.services import EventSink, Services
from vdsm.storage.component import Storage
from vdsm.virt.component import VirtService

log = logging.getLogger("vdsm.daemon")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vdsmd", description="Vdsm host agent: the Vdsm API over "
        "STOMP/JSON-RPC on TLS.")
    parser.add_argument("--config", action="append", default=[],
                        metavar="FILE",
                        help="ini file over the defaults (repeatable); "
                        "default /etc/vdsm/vdsm.conf when it exists")
    return parser.parse_args(argv)


def create_components(config: Config, events: EventSink
                      ) -> tuple[Services, list[Component]]:
    """Every subsystem, each given only what it uses; in start order."""
    host = HostService(config)
    storage = Storage.build(
        config, on_job_change=lambda job: events.publish(
            f"|jobs|status|{job.id}", storage_wire.job_info(job)))
    network = NetworkService(config, events)
    virt = VirtService(
        config, vm_wire.status_publisher(events), storage.disks,
        on_migration=lambda vm_id, state: events.publish(
            f"|virt|VM_migration_status|{vm_id}",
            {vm_id: migration_wire.event(state)}))
    mom = mempolicy.MemoryPolicy(
        config, Guests(virt.vms, virt.sampler,
                       config.getint("mom", "sample_history")),
        mempolicy.privileged(config))
    services = Services(config=config, events=events, host=host, virt=virt,
                        storage=storage, network=network, mom=mom)
    return services, [host, storage, network, virt, mom]


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._components: list[Component] = []
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(rpc_server.handle_loop_exception)
        hooks_dir = self.config.get("vars", "hooks_dir")
        await loop.run_in_executor(None, hooks.notify, hooks_dir,
                                   "before_vdsm_start")
        schema = Schema(strict=self.config.getboolean("vars",
                                                      "strict_schema"))
        broker = Broker()
        events = EventPublisher(loop, broker, schema.vet_event)
        services, self._components = create_components(self.config, events)
        verbs = registry.load_api_modules()
        executor = Executor("rpc", self.config.getint("vars", "rpc_workers"),
                            self.config.getint("vars", "rpc_queue_size"),
                            self.config.getfloat("vars", "rpc_call_timeout"))
        executor.start()
        dispatcher = Dispatcher(services, schema, verbs, executor,
                                registry.ON_LOOP)
        server = rpc_server.Server(
            self.config, dispatcher, broker, self._ssl_context(),
            http_handler=ImageTransferHandler(services, executor))
        await server.start()
        self._write_port(server.port)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        threading.Thread(target=self._start_components, args=(services,),
                         name="recovery", daemon=True).start()
        await self._stopping.wait()
        log.info("Stopping (pid=%d)", os.getpid())
        await server.stop()
        await loop.run_in_executor(None, self._stop_components)
        executor.stop()
        await loop.run_in_executor(None, hooks.notify, hooks_dir,
                                   "after_vdsm_stop")
        log.info("Stopped")

    def _ssl_context(self) -> Any:
        if not self.config.getboolean("vars", "ssl"):
            return None
        paths = pki.Paths(self.config.get("pki", "pki_dir"))
        return rpc_server.server_ssl_context(
            paths, self.config.get("vars", "ssl_protocol"))

    def _write_port(self, port: int) -> None:
        run_dir = self.config.get("vars", "run_dir")
        os.makedirs(run_dir, exist_ok=True)
        path = os.path.join(run_dir, "vdsmd.port")
        with open(path + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.rename(path + ".tmp", path)

    def _start_components(self, services: Services) -> None:
        for component in self._components:
            try:
                component.start()
            except Exception:
                log.exception("FAIL component=%r start", component)
        services.ready = True
        log.info("Ready for requests")

    def _stop_components(self) -> None:
        for component in reversed(self._components):
            try:
                component.stop()
            except Exception:
                log.exception("FAIL component=%r stop", component)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    paths = args.config
    if not paths and os.path.exists("/etc/vdsm/vdsm.conf"):
        paths = ["/etc/vdsm/vdsm.conf"]
    config = Config(paths)
    if os.geteuid() == 0 and config.getboolean("vars", "drop_privileges"):
        try:
            privilege.drop_to(config.get("vars", "user"),
                              config.get("vars", "group"))
        except privilege.PrivilegeError as e:
            print(f"vdsmd: {e}", file=sys.stderr)
            return 1
    vdsm_log.setup(config.get("logging", "log_file"),
                   config.get("logging", "log_level"),
                   config.getint("logging", "max_size"))
    log.info("Starting (version=%s pid=%d uid=%d config=%s)",
             vdsm.__version__, os.getpid(), os.geteuid(),
             ",".join(paths) or "defaults")
    try:
        asyncio.run(Daemon(config).run())
    except Exception:
        log.exception("FAIL vdsmd crashed")
        return 1
    return 0
