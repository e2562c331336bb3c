"""oVirt Engine adds this host and brings it Up, as the engine's code does.

The order and shapes are the engine's (../shared/ENGINE.md, read from
``NetworkConfigurator``, ``HostSetupNetworksVDSCommand``,
``InitVdsOnUpCommand``, ``ConnectStorageServerVDSCommand``,
``IrsProxy``'s SPM election and ``AsyncTaskManager``): Host.ping2,
getCapabilities, the management network by setupNetworks with
commitOnSuccess while Host.confirmConnectivity is polled, getCapabilities
again, getHardwareInfo, the |net|host_conn| refresh, the storage of a new
data center (connectStorageServer, StorageDomain.create,
StoragePool.create), then the activation (StoragePool.connect, getStats
until the domain reports healthy, setMOMPolicyParameters,
hostdevListByCaps) and the SPM election (getSpmStatus, spmStart, Task
polling, getSpmStatus, Task.clear, getAllTasksStatuses, getInfo), and the
first OVF_STORE update (the volume, then the HTTP PUT on the API port and
its task; the GET that reads it back). Every reply goes through the
engine's readers (readers.py).

Real parts: vdsmd over TLS, supervdsmd, a network namespace with veth
NICs, a LOCALFS domain on a loop file system, sanlock, libvirtd.
"""

from __future__ import annotations

import http.client
import io
import ssl
import tarfile
import threading
import time
import uuid

import pytest

from engine import readers
from engine.datacenter import (BLANK, HOST_ID, LOCALFS, connection,
                               create_pool, new_id, remove, wait_task)

pytestmark = pytest.mark.root


def caps_step(engine) -> dict:
    """GetCapabilitiesVDSCommand, then GetHardwareInfo on success."""
    caps = engine.rpc("Host.getCapabilities")
    readers.capabilities(caps)
    readers.hardware_info(engine.rpc("Host.getHardwareInfo"))
    return caps


def setup_management_network(engine) -> None:
    """HostSetupNetworksVDSCommand for ovirtmgmt (bridged, static, the
    default route), while the engine polls Host.confirmConnectivity."""
    # createNetworkAttributes: no bootproto for a static address,
    # the IPv6 flags always, STP in capitals (VdsProperties.STP).
    networks = {"ovirtmgmt": {
        "nic": "eth0", "mtu": 1500, "bridged": "true", "STP": "no",
        "ipaddr": "192.0.2.10", "netmask": "255.255.255.0",
        "gateway": "192.0.2.254", "dhcpv6": False, "ipv6autoconf": False,
        "defaultRoute": True, "switch": "legacy"}}
    options = {"connectivityCheck": "true", "connectivityTimeout": 10,
               "commitOnSuccess": True}
    done = threading.Event()
    confirmed = []

    def poll() -> None:
        while not done.is_set():
            try:
                engine.rpc("Host.confirmConnectivity", timeout=2)
                confirmed.append(True)
            except Exception:
                pass  # The engine's PollVDSCommand retries.
            time.sleep(0.2)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        result = engine.rpc("Host.setupNetworks", networks=networks,
                             bondings={}, options=options)
    finally:
        done.set()
        poller.join()
    # withResponseKey("status"): a Status.
    readers.status(result)
    assert result["code"] == 0, result
    assert confirmed


def wait_domain_healthy(engine, sd: str, timeout: float = 30) -> dict:
    """InitVdsOnUp: every active data domain reported in getStats, with
    code 0 and a recent check (else STORAGE_DOMAIN_UNREACHABLE)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = engine.rpc("Host.getStats")
        readers.host_stats(stats)
        dom = stats.get("storageDomains", {}).get(sd)
        if dom is not None and dom["code"] == 0 and dom.get("acquired") \
                and float(dom["lastCheck"]) < 30 \
                and float(dom["delay"]) < 5:
            return stats
        assert time.monotonic() < deadline, stats.get("storageDomains")
        time.sleep(0.3)


def http_request(daemon, method: str, headers: dict[str, str],
                 body: bytes) -> tuple[int, dict[str, str], bytes]:
    """HttpImageTaskVDSCommand: HTTPS to the API port with the engine's
    certificate, connection: close, the four id headers."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(daemon.pki.ca_cert)
    ctx.load_cert_chain(daemon.pki.cert, daemon.pki.key)
    conn = http.client.HTTPSConnection("127.0.0.1", daemon.port,
                                       timeout=30, context=ctx)
    try:
        conn.putrequest(method, "/", skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def ovf_tar(vm_id: str) -> bytes:
    """What OvfDataUpdater streams: a tar of info.json and one OVF."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in (("info.json", '{"Last Updated": "now"}'),
                           (f"{vm_id}.ovf", "<ovf:Envelope/>")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def upload_ovf_store(daemon, engine, sp: str, sd: str) -> None:
    """The hourly OVF_STORE update of a new domain: the OVF_STORE volume
    (Volume.create, an SPM task), then UploadStreamVDSCommand's PUT,
    its Task-Id polled through getAllTasksStatuses and cleared, then
    Volume.setDescription."""
    img, vol = new_id(), new_id()
    pdiv = {"storagepoolID": sp, "storagedomainID": sd, "imageID": img,
            "volumeID": vol}
    task_id = engine.rpc("Volume.create", **pdiv, size="134217728",
                         volFormat=5, preallocate=2, diskType="OVFS",
                         desc="OVF_STORE", srcImgUUID=BLANK,
                         srcVolUUID=BLANK, sequence=0, addBitmaps=False,
                         legal=True)
    assert wait_task(engine, task_id)["taskResult"] == "success"
    engine.rpc("Task.clear", taskID=task_id)

    data = ovf_tar(new_id())
    status, headers, body = http_request(daemon, "PUT", {
        "connection": "close", "Storage-Pool-Id": sp,
        "Storage-Domain-Id": sd, "Image-Id": img, "Volume-Id": vol,
        "Content-Type": "application/octet-stream",
        "Content-Length": str(len(data))}, data)
    assert status == 200, body
    task_id = headers["Task-Id"]
    uuid.UUID(task_id)  # Guid.createGuidFromString
    deadline = time.monotonic() + 60
    while True:
        tasks = engine.rpc("Host.getAllTasksStatuses")
        readers.all_tasks_statuses(tasks)
        if tasks[task_id]["taskState"] == "finished":
            break
        assert time.monotonic() < deadline, tasks
        time.sleep(0.2)
    assert tasks[task_id]["taskResult"] == "success", tasks[task_id]
    engine.rpc("Task.clear", taskID=task_id)
    engine.rpc("Volume.setDescription", **pdiv, description=(
        '{"Updated":true,"Size":%d,"Disk Description":"OVF_STORE"}'
        % len(data)))
    # RetrieveImageData reads it back (the engine's import of OVFs).
    status, headers, body = http_request(daemon, "GET", {
        "connection": "close", "Storage-Pool-Id": sp,
        "Storage-Domain-Id": sd, "Image-Id": img, "Volume-Id": vol,
        "Range": f"bytes=0-{len(data) - 1}"}, b"")
    assert status == 206 and body == data
    assert wait_task(engine, headers["Task-Id"])["taskResult"] == \
        "success"
    engine.rpc("Task.clear", taskID=headers["Task-Id"])


def test_add_host_and_activate(engine_host, engine, netns, env):
    # NetworkConfigurator.awaitVdsmResponse, then the first refresh.
    assert engine.rpc("Host.ping2") is True
    caps = caps_step(engine)
    assert "ovirtmgmt" not in caps.get("networks", {})
    assert "iSCSI" in caps["HBAInventory"] and "FC" in caps["HBAInventory"]

    setup_management_network(engine)
    caps = caps_step(engine)
    mgmt = caps["networks"]["ovirtmgmt"]
    assert caps["bridges"]["ovirtmgmt"]["addr"] == "192.0.2.10"
    assert mgmt["gateway"] == "192.0.2.254"
    # commitOnSuccess: the running config is the safe one already.
    assert readers.boolean(engine.rpc("Host.getStats"),
                           "netConfigDirty") is False

    # HostConnectionRefresher: a change made outside setupNetworks is an
    # event, and the engine refreshes capabilities and hardware info.
    netns.ip("link", "add", "name", "outside0", "type", "bridge")
    method, params = engine.event("|net|host_conn|")
    assert readers.java_type(params["notify_time"]) in ("Integer", "Long")
    caps_step(engine)

    # The data center's first storage (from the same host).
    path = env.dir()
    conn = connection(path)
    statuses = engine.rpc("StoragePool.connectStorageServer",
                           storagepoolID=BLANK, domainType=LOCALFS,
                           connectionParams=[conn])
    readers.connection_statuses(statuses)
    assert [s["status"] for s in statuses] == [0]
    version = str(max(caps["domain_versions"]))
    sp, sd = create_pool(engine, path, version)

    # InitVdsOnUpCommand.
    statuses = engine.rpc("StoragePool.connectStorageServer",
                           storagepoolID=sp, domainType=LOCALFS,
                           connectionParams=[conn])
    readers.connection_statuses(statuses)
    engine.rpc("StoragePool.connect", storagepoolID=sp, hostID=HOST_ID,
                scsiKey=sp, masterSdUUID=sd, masterVersion=1,
                domainDict={sd: "active"})
    try:
        wait_domain_healthy(engine, sd)
        engine.rpc("Host.setMOMPolicyParameters", key_value_store={
            "balloonEnabled": False, "ksmEnabled": True,
            "ksmMergeAcrossNodes": True})
        devices = engine.rpc("Host.hostdevListByCaps")
        readers.host_devices(devices)
        assert "computer" in devices

        # IrsProxy: no SPM in the data center, this host contends.
        spm = engine.rpc("StoragePool.getSpmStatus", storagepoolID=sp)
        readers.spm_status(spm)
        assert spm["spmStatus"] == "Free"
        task_id = engine.rpc("StoragePool.spmStart", storagepoolID=sp,
                              prevID=-1, prevLver="-1",
                              enableScsiFencing="false", maxHostID=250,
                              domVersion=version)
        assert readers.java_type(task_id) == "String"
        status = wait_task(engine, task_id)
        assert status["taskResult"] == "success", status
        spm = engine.rpc("StoragePool.getSpmStatus", storagepoolID=sp)
        readers.spm_status(spm)
        assert (spm["spmStatus"], int(str(spm["spmId"]))) == ("SPM",
                                                               HOST_ID)
        engine.rpc("Task.clear", taskID=task_id)
        tasks = engine.rpc("Host.getAllTasksStatuses")
        readers.all_tasks_statuses(tasks)
        assert task_id not in tasks
        # Every 10 s on the SPM: getSpmStatus, then getInfo.
        info = engine.rpc("StoragePool.getInfo", storagepoolID=sp)
        readers.storage_pool_info(info)
        assert info["info"]["master_uuid"] == sd
        assert info["info"]["type"] == "LOCALFS"
        readers.host_stats(engine.rpc("Host.getStats"))
        upload_ovf_store(engine_host, engine, sp, sd)
    finally:
        remove(engine, sp)
