"""Host.fenceNode end to end: a real vdsmd runs Debian's real fence agent
fence_redfish (fence-agents), as upstream calls agents (options on stdin).

What is mocked is only the fenced host's power management DEVICE, which
cannot exist here: a small Redfish service over HTTPS in this process
(the resources fence_redfish reads: the ComputerSystem's PowerState and
its #ComputerSystem.Reset action), with basic auth.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import ssl
import threading

import pytest

from vdsm.client import ServerError

AGENT = "/usr/sbin/fence_redfish"
SYSTEM = "/redfish/v1/Systems/1"
USER, PASSWORD = "admin", "s3cret pass"

pytestmark = pytest.mark.skipif(not os.path.exists(AGENT),
                                reason="fence-agents is not installed")


class Device:
    def __init__(self) -> None:
        self.power = "On"
        self.resets: list[str] = []


def _handler(device: Device):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _authorized(self) -> bool:
            want = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.headers.get("Authorization") == f"Basic {want}":
                return True
            self._reply(401, {"error": "unauthorized"})
            return False

        def _reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if not self._authorized():
                return
            if self.path == SYSTEM:
                self._reply(200, {"PowerState": device.power, "Actions": {
                    "#ComputerSystem.Reset": {
                        "target": SYSTEM + "/Actions/ComputerSystem.Reset"}
                }})
            else:
                self._reply(404, {})

        def do_POST(self):
            body = json.loads(self.rfile.read(
                int(self.headers["Content-Length"])))
            if not self._authorized():
                return
            reset = body["ResetType"]
            device.resets.append(reset)
            device.power = "Off" if reset == "ForceOff" else "On"
            self.send_response(204)
            self.end_headers()
    return Handler


@pytest.fixture
def redfish(host_pki):
    device = Device()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             _handler(device))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(host_pki.cert, host_pki.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield device, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _fence(cli, port, action, password=PASSWORD, **extra):
    # As the engine sends it: port and secure as strings, the agent's
    # own options as key=value lines.
    return cli.Host.fenceNode(
        addr="127.0.0.1", port="", agent="redfish", username=USER,
        password=password, action=action, secure="true",
        options=f"ipport={port}\nssl_insecure=1\nsystems_uri={SYSTEM}",
        **extra)


def test_status_off_on(vdsmd, redfish):
    device, port = redfish
    with vdsmd.client() as cli:
        assert _fence(cli, port, "status") == {"power": "on"}
        assert _fence(cli, port, "off") == {"power": "unknown",
                                            "operationStatus": "initiated"}
        assert device.resets == ["ForceOff"]
        assert _fence(cli, port, "status") == {"power": "off"}
        assert _fence(cli, port, "on")["operationStatus"] == "initiated"
        assert device.power == "On"
    # The password travels on the agent's stdin only, never in the log.
    assert PASSWORD not in vdsmd.log()


def test_reboot_with_policy_of_unjoined_domain(vdsmd, redfish):
    # This host has not joined the domain's lockspace, so it cannot see
    # the fenced host alive there: the action goes ahead.
    device, port = redfish
    with vdsmd.client() as cli:
        result = _fence(cli, port, "reboot", policy={
            "storageDomainHostIdMap": {
                "11111111-2222-3333-4444-555555555555": 2}})
    assert result == {"power": "unknown", "operationStatus": "initiated"}
    # The agent reboots as off then on (fencing's default method).
    assert device.resets == ["ForceOff", "On"]


def test_refused_by_device(vdsmd, redfish):
    device, port = redfish
    with vdsmd.client() as cli:
        with pytest.raises(ServerError) as e:
            _fence(cli, port, "off", password="wrong")
    assert e.value.code == 1
    assert device.resets == []


def test_unsupported_agent(vdsmd):
    with vdsmd.client() as cli:
        for agent in ("nosuchagent", "../../bin/true"):
            with pytest.raises(ServerError) as e:
                cli.Host.fenceNode(addr="127.0.0.1", port="", agent=agent,
                                   username=USER, password=PASSWORD,
                                   action="status")
            assert e.value.code == 43


def test_bad_params(vdsmd):
    with vdsmd.client() as cli:
        for bad in ({"action": "explode"}, {"port": "six"},
                    {"secure": "maybe"}):
            params = {"addr": "127.0.0.1", "port": "", "agent": "redfish",
                      "username": USER, "password": PASSWORD,
                      "action": "status", **bad}
            with pytest.raises(ServerError) as e:
                cli.Host.fenceNode(**params)
            assert e.value.code in (-32602, 1000)
