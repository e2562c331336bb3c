"""The VM's display: console tickets, the connected client, disconnect
actions.

A console open is a ticket: a password for the VNC or SPICE server, valid
for ``ttl`` seconds. ``set_ticket`` writes it into the live graphics
device with ``virDomainUpdateDeviceFlags`` (``passwd``, ``passwdValidTo``
in UTC, ``connected`` for SPICE), so qemu checks it and libvirt shows it
in the live XML. Every input is checked before libvirt is called: a bad
request changes nothing, the previous password stays in effect.

libvirt's graphics events (``VIR_DOMAIN_EVENT_ID_GRAPHICS``) tell who is
connected: CONNECT and INITIALIZE set the client address (``clientIp`` in
the VM stats), DISCONNECT of that same client clears it. Once the client
has been gone for ``DEBOUNCE`` seconds (a SPICE client drops and reopens
channels while it connects), the disconnect action given with the last
ticket runs, after its delay: SHUTDOWN and REBOOT press the ACPI button
(the VM is forced off after the shutdown timeout); LOCK_SCREEN and LOGOUT
need a guest agent with desktop commands, which qemu-ga is not, so they
are only logged; NONE does nothing.
"""

from __future__ import annotations

import datetime
import enum
import logging
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libvirt

from vdsm.common import exception
from vdsm.virt import domxml
from vdsm.virt.errors import TicketError, UpdateDeviceFailed

if TYPE_CHECKING:
    from vdsm.virt.vm import Vm

log = logging.getLogger("vdsm.virt.graphics")

DEBOUNCE = 2.0
TYPES = ("vnc", "spice")


class ConnAction(enum.Enum):
    """What happens to a connected client when the password changes."""
    DISCONNECT = "disconnect"
    KEEP = "keep"
    FAIL = "fail"


class DisconnectAction(enum.Enum):
    """What happens to the guest once its console client is gone."""
    NONE = "NONE"
    LOCK_SCREEN = "LOCK_SCREEN"
    LOGOUT = "LOGOUT"
    REBOOT = "REBOOT"
    SHUTDOWN = "SHUTDOWN"


@dataclass(frozen=True)
class Ticket:
    password: str
    ttl: int                              # seconds; 0 or less: no expiry
    graphics_type: str | None = None      # vnc/spice; None: the first one
    connected: ConnAction | None = None   # None: libvirt's default
    disconnect_action: DisconnectAction = DisconnectAction.LOCK_SCREEN
    disconnect_delay_min: int = 0
    hook_params: dict[str, str] = field(default_factory=dict)


@dataclass
class Console:
    """The display client of one VM, as libvirt's events report it."""
    client_ip: str = ""
    client_port: str = ""
    disconnect_action: DisconnectAction = DisconnectAction.LOCK_SCREEN
    disconnect_delay_min: int = 0
    # Bumped on every connect: a pending disconnect action whose
    # generation is stale does not run.
    generation: int = 0


def set_ticket(vm: Vm, ticket: Ticket, missing: type[exception.VdsmError]
               = UpdateDeviceFailed) -> None:
    """Set the display password of the running VM.

    missing: the error when the VM has no such graphics device (upstream:
    56 from VM.updateDevice, 18 from VM.setTicket).
    """
    if ticket.graphics_type is not None \
            and ticket.graphics_type not in TYPES:
        raise exception.InvalidParameter(
            f"graphicsType {ticket.graphics_type!r} is not vnc or spice")
    if ticket.disconnect_delay_min < 0:
        raise exception.InvalidParameter(
            f"consoleDisconnectActionDelay {ticket.disconnect_delay_min} "
            "is negative")
    with vm.lock:
        dom = vm.require_running()
        try:
            root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE))
        except libvirt.libvirtError as e:
            raise vm._translate(e, TicketError)
        graphics = find(root, ticket.graphics_type)
        if graphics is None:
            raise missing(f"vmId={vm.id} has no "
                          f"{ticket.graphics_type or 'graphics'} device")
        graphics.set("passwd", ticket.password)
        if ticket.ttl > 0:
            valid_to = (datetime.datetime.now(datetime.timezone.utc)
                        + datetime.timedelta(seconds=ticket.ttl))
            graphics.set("passwdValidTo",
                         valid_to.strftime("%Y-%m-%dT%H:%M:%S"))
        elif "passwdValidTo" in graphics.attrib:
            del graphics.attrib["passwdValidTo"]
        if ticket.connected is not None and graphics.get("type") == "spice":
            # VNC knows only "keep"; libvirt refuses the others.
            graphics.set("connected", ticket.connected.value)
        xml = vm.hook("before_vm_set_ticket", domxml.to_string(graphics))
        try:
            dom.updateDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        except libvirt.libvirtError as e:
            raise vm._translate(e, TicketError)
        vm.console.disconnect_action = ticket.disconnect_action
        vm.console.disconnect_delay_min = ticket.disconnect_delay_min
        log.info("SETTICKET vm=%s type=%s ttl=%s disconnect=%s", vm.id,
                 graphics.get("type"), ticket.ttl,
                 ticket.disconnect_action.value)
        try:
            vm.hook("after_vm_set_ticket", xml)
        except exception.HookError as e:
            log.warning("FAIL hook=after_vm_set_ticket vm=%s error=%s",
                        vm.id, str(e))


def find(root: ET.Element, graphics_type: str | None) -> ET.Element | None:
    """The graphics device of that type (libvirt allows one per type)."""
    for dev in root.findall("devices/graphics"):
        if graphics_type is None or dev.get("type") == graphics_type:
            return dev
    return None


# libvirt graphics events.

def on_event(vm: Vm, phase: int, remote: dict[str, str],
             shutdown_timeout: float) -> None:
    """A graphics event of the VM (on the manager's dispatch thread)."""
    ip = remote.get("node", "")
    port = remote.get("service", "")
    console = vm.console
    if phase in (libvirt.VIR_DOMAIN_EVENT_GRAPHICS_CONNECT,
                 libvirt.VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE):
        if ip:
            console.client_ip = ip
            console.client_port = port
            console.generation += 1
            log.info("CONSOLE CONNECT vm=%s client=%s:%s", vm.id, ip, port)
    elif phase == libvirt.VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT:
        if console.client_ip != ip:
            log.debug("CONSOLE ignore disconnect vm=%s client=%s (now %s)",
                      vm.id, ip, console.client_ip)
            return
        if console.client_port and console.client_port != port:
            log.debug("CONSOLE ignore disconnect vm=%s port=%s (now %s)",
                      vm.id, port, console.client_port)
            return
        console.client_ip = ""
        console.client_port = ""
        log.info("CONSOLE DISCONNECT vm=%s client=%s:%s", vm.id, ip, port)
        _schedule(vm, console.generation, DEBOUNCE
                  + 60 * console.disconnect_delay_min, shutdown_timeout)


def _schedule(vm: Vm, generation: int, delay: float,
              shutdown_timeout: float) -> None:
    timer = threading.Timer(delay, _disconnect_action,
                            (vm, generation, shutdown_timeout))
    timer.daemon = True
    timer.name = f"virt/console/{vm.id}"
    timer.start()


def _disconnect_action(vm: Vm, generation: int,
                       shutdown_timeout: float) -> None:
    console = vm.console
    if console.client_ip or console.generation != generation \
            or vm.removed.is_set():
        return
    action = console.disconnect_action
    log.info("CONSOLE ACTION vm=%s action=%s", vm.id, action.value)
    try:
        if action == DisconnectAction.SHUTDOWN:
            vm.shutdown(shutdown_timeout, reboot=False)
        elif action == DisconnectAction.REBOOT:
            vm.shutdown(shutdown_timeout, reboot=True)
        elif action in (DisconnectAction.LOCK_SCREEN,
                        DisconnectAction.LOGOUT):
            log.info("CONSOLE ACTION vm=%s action=%s skipped: needs a "
                     "guest agent with desktop commands", vm.id,
                     action.value)
    except exception.VdsmError as e:
        log.warning("FAIL console action vm=%s action=%s error=%s", vm.id,
                    action.value, str(e))
