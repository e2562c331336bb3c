"""End-to-end: a real vdsmd process over real TLS."""

from __future__ import annotations

import json
import ssl
import time

import pytest

from fixtures.stomp_peer import RawStomp
from vdsm import client, pki


@pytest.fixture
def raw(vdsmd):
    peers = []

    def make(**kwargs):
        peer = RawStomp(vdsmd, **kwargs)
        peers.append(peer)
        return peer
    yield make
    for peer in peers:
        peer.close()


def test_ping(cli):
    assert cli.Host.ping2() is True
    assert cli.Host.echo(message="hello") == "hello"


def test_logs_start_and_ready(vdsmd):
    log = vdsmd.log()
    assert "Starting (version=" in log
    assert "pid=" in log
    assert "Ready for requests" in log


def test_client_without_certificate_refused(vdsmd):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(vdsmd.pki.ca_cert)
    with pytest.raises((ssl.SSLError, client.Error, ConnectionError)):
        with vdsmd.client(ssl_context=ctx, connect_timeout=5) as c:
            c.Host.ping2(_timeout=5)


def test_client_of_other_ca_refused(vdsmd, tmp_path):
    other = pki.Paths(str(tmp_path))
    pki.create(other, hostname="localhost")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(vdsmd.pki.ca_cert)
    ctx.load_cert_chain(other.cert, other.key)
    with pytest.raises((ssl.SSLError, client.Error, ConnectionError)):
        with vdsmd.client(ssl_context=ctx, connect_timeout=5) as c:
            c.Host.ping2(_timeout=5)


def test_plaintext_to_tls_port_dropped(vdsmd, raw, cli):
    peer = raw(tls=False)
    peer.send("CONNECT", {"accept-version": "1.2"})
    assert peer.closed_within(10)
    assert cli.Host.ping2() is True


def test_plain_tcp_when_ssl_off(vdsmd_factory):
    daemon = vdsmd_factory({"vars": {"ssl": "false"}})
    with daemon.client() as c:
        assert c.Host.ping2() is True


def test_wrong_param_type_names_field(cli):
    with pytest.raises(client.ServerError) as e:
        cli.Host.echo(message=42)
    assert e.value.code == -32602
    assert "message" in e.value.message


def test_missing_param_names_field(cli):
    with pytest.raises(client.ServerError) as e:
        cli.Host.echo()
    assert e.value.code == -32602
    assert "message" in e.value.message


def test_unknown_method(cli):
    with pytest.raises(client.ServerError) as e:
        cli.call("Host.noSuchVerb")
    assert e.value.code == -32601


def test_invalid_json(raw):
    peer = raw()
    peer.connect()
    peer.send("SUBSCRIBE", {"destination": "r", "id": "1"})
    peer.send("SEND", {"destination": "jms.topic.vdsm_requests",
                       "reply-to": "r"}, b"{this is not json")
    resp = peer.response()
    assert resp["error"]["code"] == -32700
    assert resp["id"] is None


def test_subscribe_before_connect(raw):
    peer = raw()
    peer.send("SUBSCRIBE", {"destination": "r", "id": "1"})
    peer.connect()
    peer.request("Host.ping2", {})
    assert peer.response() == {"jsonrpc": "2.0", "id": "1", "result": True}


def test_batch_and_notification(raw):
    peer = raw()
    peer.connect()
    peer.send("SUBSCRIBE", {"destination": "r", "id": "1"})
    body = json.dumps([
        {"jsonrpc": "2.0", "method": "Host.echo", "params": {"message": "a"},
         "id": 1},
        {"jsonrpc": "2.0", "method": "Host.echo", "params": ["b"], "id": 2},
        {"jsonrpc": "2.0", "method": "Host.ping2"},
    ]).encode()
    peer.send("SEND", {"destination": "jms.topic.vdsm_requests",
                       "reply-to": "r"}, body)
    resp = peer.response()
    assert sorted((r["id"], r["result"]) for r in resp) == [(1, "a"),
                                                             (2, "b")]


def test_response_headers(raw):
    peer = raw()
    peer.connect()
    peer.send("SUBSCRIBE", {"destination": "r", "id": "sub-7"})
    peer.request("Host.ping2", {})
    frame = peer.expect("MESSAGE")
    assert frame.headers["destination"] == "r"
    assert frame.headers["subscription"] == "sub-7"
    assert frame.headers["content-type"] == "application/json"
    assert int(frame.headers["content-length"]) == len(frame.body)


def test_duplicate_subscription_id(raw):
    peer = raw()
    peer.connect()
    peer.send("SUBSCRIBE", {"destination": "a", "id": "1"})
    peer.send("SUBSCRIBE", {"destination": "b", "id": "1"})
    assert b"already in use" in peer.expect("ERROR").body


def test_connect_needs_version_12(raw):
    peer = raw()
    peer.send("CONNECT", {"accept-version": "1.0"})
    assert b"1.2" in peer.expect("ERROR").body
    assert peer.closed_within(5)


def test_disconnect_receipt(raw):
    peer = raw()
    peer.connect()
    peer.send("DISCONNECT", {"receipt": "77"})
    assert peer.expect("RECEIPT").headers["receipt-id"] == "77"
    assert peer.closed_within(5)


def test_flow_id_logged(vdsmd, cli):
    cli.call("Host.ping2", flow_id="flow-1234")
    assert "method=Host.ping2" in vdsmd.log()
    assert "flow_id=flow-1234" in vdsmd.log()


def test_server_sends_heartbeats(vdsmd):
    with vdsmd.client(heartbeat=(0, 1000)) as c:
        assert c.server_heartbeat == (1000, 0)
        time.sleep(2.5)
        assert c.heartbeats_received >= 1
        assert c.Host.ping2() is True


def test_client_heartbeats_keep_connection(vdsmd):
    with vdsmd.client(heartbeat=(1000, 0)) as c:
        assert c.server_heartbeat == (0, 1000)
        time.sleep(3.5)
        assert c.Host.ping2() is True


def test_silent_client_with_heartbeat_dropped(vdsmd, raw):
    peer = raw()
    peer.connect(heartbeat="1000,0")
    assert peer.closed_within(10)
    assert "reason=heart-beat timeout" in vdsmd.log()


def test_heartbeat_clamped_to_one_second(raw):
    peer = raw()
    connected = peer.connect(heartbeat="10,20")
    assert connected.headers["heart-beat"] == "1000,1000"


def test_oversized_frame_dropped(vdsmd_factory):
    daemon = vdsmd_factory({"vars": {"max_frame_size": "65536"}})
    with daemon.client() as good:
        big = RawStomp(daemon)
        try:
            big.connect()
            big.send("SEND", {"destination": "jms.topic.vdsm_requests"},
                     b"x" * 100_000)
            assert big.closed_within(10)
        finally:
            big.close()
        assert good.Host.ping2() is True
    drops = [line for line in daemon.log().splitlines()
             if "DROP connection=" in line and "over 65536" in line]
    assert len(drops) == 1, drops


def test_silent_connection_dropped(vdsmd_factory):
    daemon = vdsmd_factory({"vars": {"connection_idle_timeout": "1"}})
    with daemon.client() as good:
        silent = RawStomp(daemon)
        try:
            assert silent.closed_within(10)
        finally:
            silent.close()
        assert good.Host.ping2() is True
    drops = [line for line in daemon.log().splitlines()
             if "reason=no request" in line]
    assert len(drops) == 1, drops


def test_unknown_protocol_dropped(vdsmd, raw, cli):
    peer = raw()
    peer.sock.sendall(b"HELLO WORLD\r\n")
    assert peer.closed_within(10)
    assert "reason=unknown protocol" in vdsmd.log()
    assert cli.Host.ping2() is True


def test_many_concurrent_calls(cli):
    futures = [cli.call_async("Host.echo", {"message": str(i)})
               for i in range(200)]
    assert [f.result(30) for f in futures] == [str(i) for i in range(200)]


def test_sigterm_clean_exit(vdsmd):
    assert vdsmd.stop() == 0
    assert "Stopped" in vdsmd.log()


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"jsonrpc": "2.0", "method": "Host.echo", "params": {"message": ' +
    b"[" * 50_000 + b"]" * 50_000 + b'}, "id": 1}',
    b'{"jsonrpc": "2.0", "method": 5, "id": 1}',
    b'{"jsonrpc": "2.0", "method": "Host.echo", "params": 5, "id": 1}',
    b"\xff\xfe\x00garbage",
    b"null",
], ids=["deep-array", "deep-param", "method-int", "params-int",
        "not-utf8", "null"])
def test_garbage_answered_daemon_survives(vdsmd, raw, cli, body):
    peer = raw()
    peer.connect()
    peer.send("SUBSCRIBE", {"destination": "r", "id": "1"})
    peer.send("SEND", {"destination": "jms.topic.vdsm_requests",
                       "reply-to": "r"}, body)
    assert "error" in peer.response()
    assert cli.Host.ping2() is True
