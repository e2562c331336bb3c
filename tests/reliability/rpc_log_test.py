"""Issue 15 items 7 and 12: logs cannot be forged or hidden by a client,
and do not grow forever.

Item 7: ids, methods and flow ids chosen by a client are logged escaped;
a lone surrogate, a newline or a NUL neither hides the CALL line nor
writes a line of its own. Item 12: vdsmd follows logrotate (the shipped
static/etc/logrotate.d/vdsm, run by the real logrotate), caps its log at
[logging] max_size, and Host.setLogLevel changes levels at run time.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from fixtures.stomp_peer import REQUESTS, RawStomp
from vdsm import client

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
LOGROTATE_CONF = os.path.join(TOP, "static", "etc", "logrotate.d", "vdsm")


def log_bytes(daemon):
    with open(daemon.log_path, "rb") as f:
        return f.read()


def raw_call(peer, body):
    peer.send("SEND", {"destination": REQUESTS, "reply-to": "r"}, body)
    return peer.response()


def forged_lines(daemon, marker):
    """Lines that start with the forged text (written as a line)."""
    return [line for line in log_bytes(daemon).split(b"\n")
            if line.startswith(marker)]


@pytest.mark.parametrize("req_id, shown", [
    ("\ud800lone", "'\\ud800lone'"),
    ("1\nFORGED INFO vdsm.api CALL method=Host.destroy",
     "'1\\nFORGED INFO vdsm.api CALL method=Host.destroy'"),
    ("nul\x00byte", "'nul\\x00byte'"),
    ("line\u2028sep", "'line\\u2028sep'"),
], ids=["lone-surrogate", "newline", "nul", "line-separator"])
def test_client_id_logged_escaped(vdsmd, req_id, shown):
    # json.dumps writes the lone surrogate as the escape \ud800, as a
    # hostile client would.
    body = json.dumps({"jsonrpc": "2.0", "method": "Host.echo",
                       "params": {"message": "m"}, "id": req_id}).encode()
    with RawStomp(vdsmd) as peer:
        peer.connect()
        peer.send("SUBSCRIBE", {"destination": "r", "id": "1"})
        reply = raw_call(peer, body)
    assert reply["id"] == req_id
    data = log_bytes(vdsmd)
    assert b"\x00" not in data
    text = data.decode("utf-8")  # Strict: the file stays valid UTF-8.
    calls = [line for line in text.splitlines()
             if "CALL method=Host.echo" in line and f"id={shown} " in line]
    assert len(calls) == 1, text[-2000:]
    assert forged_lines(vdsmd, b"FORGED") == []


def test_client_method_and_flow_id_logged_escaped(vdsmd):
    body = json.dumps({"jsonrpc": "2.0", "method": "Host.x\nFORGED\x00",
                       "params": {}, "id": 7}).encode()
    with RawStomp(vdsmd) as peer:
        peer.connect()
        peer.send("SUBSCRIBE", {"destination": "r", "id": "1"})
        peer.send("SEND", {"destination": REQUESTS, "reply-to": "r",
                           "ovirtCorrelationId": "f\nFORGED flow"}, body)
        reply = peer.response()
    assert reply["error"]["code"] == -32601
    data = log_bytes(vdsmd)
    assert b"\x00" not in data
    assert forged_lines(vdsmd, b"FORGED") == []
    text = data.decode("utf-8")
    assert "method='Host.x\\nFORGED\\x00'" in text
    assert "flow_id='f\\nFORGED flow'" in text


def test_plain_values_logged_as_they_are(vdsmd, cli):
    cli.call("Host.echo", {"message": "x"}, flow_id="flow-1234")
    assert "method=Host.echo" in vdsmd.log()
    assert "flow_id=flow-1234" in vdsmd.log()


def run_logrotate(tmp_path, log_dir):
    with open(LOGROTATE_CONF) as f:
        conf = f.read().replace("/var/log/vdsm/", log_dir + "/")
    conf_path = tmp_path / "logrotate.conf"
    conf_path.write_text(conf)
    subprocess.run(["logrotate", "--force", "--state",
                    str(tmp_path / "state"), str(conf_path)], check=True)


def test_logrotate_and_reopen(vdsmd, cli, tmp_path):
    cli.Host.echo(message="before-rotation")
    run_logrotate(tmp_path, os.path.dirname(vdsmd.log_path))
    rotated = vdsmd.log_path + ".1.xz"
    assert os.path.exists(rotated)
    assert not os.path.exists(vdsmd.log_path)  # nocreate: vdsmd makes it
    cli.Host.echo(message="after-rotation")
    log = vdsmd.log()
    assert "after-rotation" in log
    assert "before-rotation" not in log
    unpacked = subprocess.run(["xz", "-dc", rotated], check=True,
                              capture_output=True).stdout
    assert b"before-rotation" in unpacked
    assert b"after-rotation" not in unpacked


def test_log_size_capped(vdsmd_factory):
    cap = 64 * 1024
    daemon = vdsmd_factory({"logging": {"max_size": str(cap)}})
    with daemon.client() as c:
        for i in range(100):
            c.Host.echo(message=f"{i:04d}" + "x" * 2000)
    old = daemon.log_path + ".old"
    assert os.path.exists(old)
    # Each file stops at the first line past the cap.
    assert os.path.getsize(daemon.log_path) < cap + 8192
    assert os.path.getsize(old) < cap + 8192
    assert "0099" in daemon.log()


def test_set_log_level(vdsmd, cli):
    cli.Host.setLogLevel(level="WARNING")
    cli.Host.echo(message="hidden-at-warning")
    assert "LOG_LEVEL logger=root level=WARNING" in vdsmd.log()
    assert "hidden-at-warning" not in vdsmd.log()
    cli.Host.setLogLevel(level="DEBUG")
    cli.Host.echo(message="shown-at-debug")
    assert "shown-at-debug" in vdsmd.log()

    cli.Host.setLogLevel(level="ERROR", name="vdsm.api.host")
    cli.Host.echo(message="echo-line-hidden")
    log = vdsmd.log()
    assert "ECHO message='echo-line-hidden'" not in log
    assert "LOG_LEVEL logger=vdsm.api.host level=ERROR" in log

    with pytest.raises(client.ServerError) as e:
        cli.Host.setLogLevel(level="LOUD")
    assert e.value.code == -32602
