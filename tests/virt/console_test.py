"""Console tickets (VM.updateDevice graphics, as the engine opens a console)
and the console client (libvirt graphics events) on a booted guest."""

from __future__ import annotations

import datetime
import socket
import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest

from fixtures.virt import StatusEvents, code_of, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.root]


def live_graphics(vm_id: str) -> ET.Element:
    conn = libvirt.open("qemu:///system")
    try:
        xml = conn.lookupByUUIDString(vm_id).XMLDesc(
            libvirt.VIR_DOMAIN_XML_SECURE)
    finally:
        conn.close()
    graphics = ET.fromstring(xml).find("devices/graphics")
    assert graphics is not None
    return graphics


def booted(cli, guests) -> tuple[str, StatusEvents]:
    events = StatusEvents(cli.subscribe())
    vm_id = str(uuid.uuid4())
    cli.VM.create(vmID=vm_id, vmParams={"xml": guests.xml(vm_id)})
    events.wait(vm_id, "Up")
    guests.wait_ready(vm_id)
    return vm_id, events


def engine_ticket(vm_id: str, secret: str, **extra) -> dict:
    """SetVmTicketVDSCommand's params (ovirt-engine 4.5)."""
    params = {"deviceType": "graphics", "graphicsType": "vnc",
              "password": secret, "ttl": 120,
              "disconnectAction": "LOCK_SCREEN",
              "consoleDisconnectActionDelay": 0,
              "params": {"userName": "admin@internal",
                         "userId": str(uuid.uuid4()), "fips": "false",
                         "vncUsername": f"vnc-{vm_id}"}}
    params.update(extra)
    return params


def test_engine_console_open_sets_the_live_ticket(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        vm_id, _ = booted(cli, guests)
        # Started with an expired random password: locked.
        assert not vnc_auth(vm_id, live_graphics(vm_id).get("passwd"))
        before = datetime.datetime.now(datetime.timezone.utc)
        info = cli.VM.updateDevice(vmID=vm_id,
                                   params=engine_ticket(vm_id, "t1cket"))
        after = datetime.datetime.now(datetime.timezone.utc)
        assert info["vmId"] == vm_id and info["status"] == "Up"

        graphics = live_graphics(vm_id)
        assert graphics.get("passwd") == "t1cket"
        # qemu has it: a VNC client logs in with it, not with another.
        assert vnc_auth(vm_id, "t1cket")
        assert not vnc_auth(vm_id, "wrong")
        valid_to = datetime.datetime.strptime(
            graphics.get("passwdValidTo"), "%Y-%m-%dT%H:%M:%S").replace(
                tzinfo=datetime.timezone.utc)
        # libvirt keeps whole seconds, in UTC.
        assert before + datetime.timedelta(seconds=119) <= valid_to
        assert valid_to <= after + datetime.timedelta(seconds=120)

        # ttl 0: no expiry (the attribute goes).
        cli.VM.updateDevice(vmID=vm_id, params=engine_ticket(
            vm_id, "forever", ttl=0))
        graphics = live_graphics(vm_id)
        assert graphics.get("passwd") == "forever"
        assert graphics.get("passwdValidTo") is None
        assert vnc_auth(vm_id, "forever")

        # The expiry is qemu's: a 2 s ticket stops working.
        cli.VM.updateDevice(vmID=vm_id, params=engine_ticket(
            vm_id, "brief", ttl=2))
        wait_for(lambda: not vnc_auth(vm_id, "brief"), 30,
                 "the ticket expires")

        # VM.setTicket sets the first display's ticket the same way.
        assert cli.VM.setTicket(vmID=vm_id, password="legacy", ttl=60,
                                existingConnAction="keep",
                                params={}) is True
        assert live_graphics(vm_id).get("passwd") == "legacy"


def test_bad_updates_change_nothing(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        vm_id, _ = booted(cli, guests)
        cli.VM.updateDevice(vmID=vm_id, params=engine_ticket(vm_id, "keep"))
        kept = live_graphics(vm_id).attrib

        def ticket(**extra):
            return engine_ticket(vm_id, "changed", **extra)

        cases = [
            # Upstream's codes: 1 no such VM, 44 not implemented,
            # 56 no such device, 11 missing parameter, 18 ticket error,
            # -32602 a value the schema refuses.
            (str(uuid.uuid4()), ticket(), 1),
            (vm_id, ticket(deviceType="disk"), 44),
            (vm_id, ticket(xml="<graphics type='vnc'/>"), 44),
            (vm_id, ticket(graphicsType="spice"), 56),
            (vm_id, ticket(graphicsType="rdp"), -32602),
            (vm_id, ticket(existingConnAction="explode"), -32602),
            (vm_id, ticket(disconnectAction="SELF_DESTRUCT"), -32602),
            (vm_id, ticket(ttl="soon"), -32602),
            (vm_id, ticket(password=None), 11),
            (vm_id, ticket(params={"fips": "maybe"}), 11),
            (vm_id, ticket(params={"fips": "true", "vncUsername": "u"}), 18),
            (vm_id, ticket(vmId=str(uuid.uuid4())), 1000),
        ]
        for target, params, code in cases:
            params = {k: v for k, v in params.items() if v is not None}
            assert code_of(cli.VM.updateDevice, vmID=target,
                           params=params) == code, params
            assert live_graphics(vm_id).attrib == kept, params


def connect_vnc(vm_id: str) -> socket.socket:
    port = int(live_graphics(vm_id).get("port"))
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert sock.recv(12).startswith(b"RFB ")
    return sock


def vnc_auth(vm_id: str, password: str) -> bool:
    """Log in to the VNC server as a VNC client does (RFB 3.8, VNC
    authentication: the challenge DES-encrypted with the password)."""
    from cryptography.hazmat.primitives.ciphers import (Cipher, algorithms,
                                                        modes)
    with connect_vnc(vm_id) as sock:
        sock.sendall(b"RFB 003.008\n")
        count = sock.recv(1)[0]
        types = sock.recv(count)
        assert 2 in types, types          # VNC authentication offered
        sock.sendall(bytes([2]))
        challenge = b""
        while len(challenge) < 16:
            challenge += sock.recv(16 - len(challenge))
        # The key: the password's first 8 bytes, each bit-reversed.
        key = bytes(int(f"{b:08b}"[::-1], 2)
                    for b in password.encode()[:8].ljust(8, b"\0"))
        des = Cipher(algorithms.TripleDES(key), modes.ECB()).encryptor()
        sock.sendall(des.update(challenge) + des.finalize())
        return sock.recv(4) == b"\0\0\0\0"


def client_ip(cli, vm_id: str) -> str:
    return cli.VM.getStats(vmID=vm_id)[0]["clientIp"]


def test_console_client_from_graphics_events(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        vm_id, events = booted(cli, guests)
        assert client_ip(cli, vm_id) == ""
        cli.VM.updateDevice(vmID=vm_id, params=engine_ticket(
            vm_id, "s3cret", disconnectAction="NONE"))

        sock = connect_vnc(vm_id)
        wait_for(lambda: client_ip(cli, vm_id) == "127.0.0.1", 30,
                 "clientIp of the VNC client")
        sock.close()
        wait_for(lambda: client_ip(cli, vm_id) == "", 30,
                 "clientIp cleared on disconnect")
        assert cli.VM.getStats(vmID=vm_id)[0]["status"] == "Up"

        # SHUTDOWN on disconnect: the guest gets the ACPI button once the
        # client has been gone for the debounce time.
        cli.VM.updateDevice(vmID=vm_id, params=engine_ticket(
            vm_id, "s3cret", disconnectAction="SHUTDOWN"))
        sock = connect_vnc(vm_id)
        wait_for(lambda: client_ip(cli, vm_id) == "127.0.0.1", 30,
                 "clientIp of the second client")
        sock.close()
        down = events.wait(vm_id, "Down", timeout=120)
        assert down["exitCode"] == 0
        assert events.statuses(vm_id)[-2:] == ["Powering down", "Down"]


def test_ticket_for_the_display_of_that_type(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = str(uuid.uuid4())
        cli.VM.create(vmID=vm_id, vmParams={"xml": guests.xml(
            vm_id, devices="<graphics type='spice' autoport='yes' "
                           "listen='127.0.0.1'/>")})
        events.wait(vm_id, "Up")
        vnc_before = live_graphics(vm_id).get("passwd")
        cli.VM.updateDevice(vmID=vm_id, params=engine_ticket(
            vm_id, "sp1ce", graphicsType="spice",
            existingConnAction="keep"))
        conn = libvirt.open("qemu:///system")
        try:
            root = ET.fromstring(conn.lookupByUUIDString(vm_id).XMLDesc(
                libvirt.VIR_DOMAIN_XML_SECURE))
        finally:
            conn.close()
        displays = {g.get("type"): g for g in root.findall(
            "devices/graphics")}
        assert displays["spice"].get("passwd") == "sp1ce"
        assert displays["spice"].get("passwdValidTo")
        assert displays["vnc"].get("passwd") == vnc_before != "sp1ce"


def test_no_display_no_ticket(virt_vdsmd, guests):
    with virt_vdsmd.client() as cli:
        events = StatusEvents(cli.subscribe())
        vm_id = str(uuid.uuid4())
        xml = guests.xml(vm_id)
        xml = xml.replace(xml[xml.index("<graphics"):xml.index(
            "/>", xml.index("<graphics")) + 2], "")
        cli.VM.create(vmID=vm_id, vmParams={"xml": xml})
        events.wait(vm_id, "Up")
        # Upstream's codes: 18 from setTicket, 56 from updateDevice.
        assert code_of(cli.VM.setTicket, vmID=vm_id, password="x", ttl=10,
                       existingConnAction="keep", params={}) == 18
        assert code_of(cli.VM.updateDevice, vmID=vm_id,
                       params=engine_ticket(vm_id, "x")) == 56
