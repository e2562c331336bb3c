"""Documents nested 200,000 deep: a clean error, no traceback, no crash.

Python parses them, but serialising or copying the tree recursed past the
interpreter's limit (RecursionError: VM.create answered -32603 with a
traceback in vdsm.log) or overflowed the C stack (``copy.deepcopy`` of
the tree kills the process). Against a real vdsmd with a real libvirtd,
and a real supervdsmd whose JSON decoder had the same problem.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import uuid

import pytest

from vdsm import client

pytestmark = pytest.mark.root

DEPTH = 200_000


def deep_domain(vm_id: str) -> str:
    return (f"<domain type='kvm'><name>deep</name><uuid>{vm_id}</uuid>"
            f"<memory unit='MiB'>32</memory><metadata>"
            + "<x>" * DEPTH + "</x>" * DEPTH +
            "</metadata></domain>")


def test_vm_create_deep_xml_is_code_9(virt_vdsmd):
    vm_id = str(uuid.uuid4())
    with virt_vdsmd.client() as cli:
        with pytest.raises(client.ServerError) as e:
            cli.VM.create(vmID=vm_id, vmParams={"vmId": vm_id,
                                                "xml": deep_domain(vm_id)})
        assert e.value.code == 9                # upstream's createErr
        assert "nested deeper than" in str(e.value)
        # (libvirtd is shared: other tests' guests may be listed)
        assert vm_id not in [v["vmId"] for v in cli.Host.getVMList()]
        assert cli.Host.ping2() is True
    assert virt_vdsmd.proc.poll() is None
    assert "Traceback" not in virt_vdsmd.log()
    assert "RecursionError" not in virt_vdsmd.log()


def test_supervdsm_deep_json_is_a_protocol_error(supervdsmd):
    body = ('{"id": 1, "method": "fs.mkdir", "args": '
            + "[" * DEPTH + "]" * DEPTH + "}").encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(supervdsmd.socket)
        s.sendall(struct.pack("!I", len(body)) + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    (size,) = struct.unpack("!I", data[:4])
    reply = json.loads(data[4:4 + size])
    assert reply["error"]["class"] == "ProtocolError"
    assert "nested too deep" in reply["error"]["message"]
    log = supervdsmd.log()
    assert "Traceback" not in log and "CRASH" not in log
    path = os.path.join(supervdsmd.repository, "still-serving")
    assert supervdsmd.client().call("fs.mkdir", path) is True
