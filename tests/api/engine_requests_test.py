"""Every request oVirt Engine sends, in its shape, passes our param check.

The table holds each engine request for the verbs in ENGINE.md (read from
the engine's broker: ``JsonRpcVdsServer``, ``JsonRpcIIrsServer``,
``HostSetupNetworksVDSCommand``): the method, the param names, values of
the JSON types the Java signatures produce (a Java ``String`` is a JSON
string even for numbers and flags, ``int`` a JSON int, ``Map`` an object,
arrays and lists a JSON array), optional params omitted as the engine's
``withOptionalParameter`` omits them (a shape per variant). Each is
checked with ``vdsm.api.schema.Schema`` in non-strict mode, as the daemon
runs it: nothing the engine sends may be refused. A verb of the table we
do not serve yet is skipped with the reason; the engine's other verbs are
listed in ``NOT_SERVED``, and the test fails when one of them becomes
served without its shape here.
"""

from __future__ import annotations

import uuid

import pytest

from vdsm.api.schema import Schema

SCHEMA = Schema(strict=False)


def u() -> str:
    return str(uuid.uuid4())


BLANK = "00000000-0000-0000-0000-000000000000"
VM_ID, SP, SD, SD2, IMG, VOL = u(), u(), u(), u(), u(), u()
POOL = {"storagepoolID": SP}
DOM = {"storagedomainID": SD}
PDIV = {"storagepoolID": SP, "storagedomainID": SD, "imageID": IMG,
        "volumeID": VOL}
# ConnectStorageServerVDSCommand: a Map<String, String> per connection.
NFS_CONN = {"id": u(), "connection": "nfs.example.com:/export/data",
            "iqn": "", "vfs_type": "", "mnt_options": "",
            "protocol_version": "auto", "password": "", "port": "",
            "portal": "", "user": "", "timeout": "600", "retrans": "6"}
DIV = {"endpoint_type": "div", "sd_id": SD, "img_id": IMG, "vol_id": VOL,
       "generation": 0, "prepared": False}

SHAPES: list[tuple[str, dict]] = [
    # (a) host install, activation, monitoring
    ("Host.ping2", {}),
    ("Host.confirmConnectivity", {}),
    ("Host.getCapabilities", {}),
    ("Host.getHardwareInfo", {}),
    ("Host.getStats", {}),
    ("Host.getAllVmStats", {}),
    ("Host.hostdevListByCaps", {}),
    ("Host.dumpxmls", {"vmList": [VM_ID]}),
    ("Host.dumpxmls", {}),
    ("Host.getVMList", {"onlyUUID": False}),
    ("Host.getVMFullList", {"vmList": [VM_ID]}),
    ("Host.getVMFullList", {}),
    ("Host.setMOMPolicyParameters", {"key_value_store": {
        "balloonEnabled": True, "ksmEnabled": False,
        "ksmMergeAcrossNodes": True}}),
    # (b) VMs
    ("VM.create", {"vmID": VM_ID, "vmParams": {
        "vmId": VM_ID, "xml": "<domain type='kvm'/>"}}),
    ("VM.destroy", {"vmID": VM_ID}),
    ("VM.shutdown", {"vmID": VM_ID, "delay": "30",
                     "message": "shutting down", "reboot": False}),
    ("VM.shutdown", {"vmID": VM_ID, "reboot": True}),
    ("VM.reset", {"vmID": VM_ID}),
    ("VM.cont", {"vmID": VM_ID}),
    ("VM.changeCD", {"vmID": VM_ID, "driveSpec": "/iso/cd.iso"}),
    ("VM.changeCD", {"vmID": VM_ID, "driveSpec": {
        "device": "cdrom", "path": "/iso/cd.iso"}}),
    ("VM.hotplugDisk", {"vmID": VM_ID, "params": {
        "vmId": VM_ID, "xml": "<hotplug/>"}}),
    ("VM.hotunplugDisk", {"vmID": VM_ID, "params": {
        "vmId": VM_ID, "xml": "<hotunplug/>"}}),
    ("VM.hotplugNic", {"vmID": VM_ID, "params": {
        "vmId": VM_ID, "xml": "<hotplug/>"}}),
    ("VM.hotunplugNic", {"vmID": VM_ID, "params": {
        "vmId": VM_ID, "xml": "<hotunplug/>"}}),
    # SetVmTicketVDSCommand: a graphics device update.
    ("VM.updateDevice", {"vmID": VM_ID, "params": {
        "deviceType": "graphics", "graphicsType": "spice",
        "password": "s3cret", "ttl": 120,
        "existingConnAction": "disconnect", "disconnectAction": "LOCK_SCREEN",
        "params": {"userName": "admin", "userId": u()}}}),
    ("VM.updateDevice", {"vmID": VM_ID, "params": {
        "deviceType": "interface", "alias": "ua-nic0", "linkActive": True,
        "network": "ovirtmgmt", "portMirroring": []}}),
    # SetVmTicketVDSCommand (4.5): delay and the FIPS/VNC user params.
    ("VM.updateDevice", {"vmID": VM_ID, "params": {
        "deviceType": "graphics", "graphicsType": "vnc",
        "password": "s3cret", "ttl": 120, "disconnectAction": "SHUTDOWN",
        "consoleDisconnectActionDelay": 5,
        "params": {"userName": "admin", "userId": u(), "fips": "false",
                   "vncUsername": "vnc-" + VM_ID}}}),
    # UpdateVmInterfaceVDSCommand: the <hotplug> document; the legacy
    # struct sends linkActive as String.valueOf(boolean).
    ("VM.updateDevice", {"vmID": VM_ID, "params": {
        "deviceType": "interface", "xml": "<hotplug/>"}}),
    ("VM.updateDevice", {"vmID": VM_ID, "params": {
        "deviceType": "interface", "alias": "ua-nic0",
        "linkActive": "false", "network": "ovirtmgmt"}}),
    ("VM.getExternalData", {"vmID": VM_ID, "kind": "tpm",
                            "forceUpdate": False}),
    # (c) storage
    ("StoragePool.connectStorageServer", {
        "storagepoolID": BLANK, "domainType": 1,
        "connectionParams": [NFS_CONN]}),
    ("StoragePool.disconnectStorageServer", {
        "storagepoolID": SP, "domainType": 1,
        "connectionParams": [NFS_CONN]}),
    ("StorageDomain.create", {**DOM, "domainType": 1,
                              "typeArgs": "nfs.example.com:/export/data",
                              "name": "data1", "domainClass": 1,
                              "version": "5", "blockSize": 512,
                              "maxHosts": 250}),
    ("StorageDomain.create", {**DOM, "domainType": 4,
                              "typeArgs": "/data/local", "name": "local",
                              "domainClass": 1, "maxHosts": 250}),
    ("StorageDomain.format", {**DOM, "autoDetach": False}),
    ("StorageDomain.getStats", DOM),
    ("StorageDomain.getInfo", DOM),
    ("StorageDomain.getImages", DOM),
    ("StorageDomain.getVolumes", {**DOM, **POOL, "imageID": IMG}),
    ("StorageDomain.activate", {**DOM, **POOL}),
    ("StorageDomain.attach", {**DOM, **POOL}),
    ("StorageDomain.deactivate", {**DOM, **POOL, "masterSdUUID": SD2,
                                  "masterVersion": 2}),
    ("StorageDomain.detach", {**DOM, **POOL, "masterSdUUID": SD2,
                              "masterVersion": 2}),
    # forcedDetachStorageDomain, cleanStorageDomainMetaData
    ("StorageDomain.detach", {**DOM, **POOL, "force": True}),
    ("Host.getStorageDomains", {"storagepoolID": SP, "domainClass": 1,
                                "storageType": "NFS",
                                "remotePath": "nfs.example.com:/data"}),
    # withParameter(..., null) sends JSON null.
    ("Host.getStorageDomains", {"storagepoolID": None, "domainClass": 0,
                                "storageType": None, "remotePath": None}),
    ("StoragePool.create", {**POOL, "name": "Default",
                            "masterSdUUID": SD, "masterVersion": 1,
                            "domainList": [SD, SD2],
                            "lockRenewalIntervalSec": 5,
                            "leaseTimeSec": 60, "ioOpTimeoutSec": 10,
                            "leaseRetries": 3}),
    ("StoragePool.connect", {**POOL, "hostID": 1, "scsiKey": SP,
                             "masterSdUUID": SD, "masterVersion": 1,
                             "domainDict": {SD: "active",
                                            SD2: "attached"}}),
    ("StoragePool.connect", {**POOL, "hostID": 1, "scsiKey": None,
                             "masterSdUUID": SD, "masterVersion": 1}),
    ("StoragePool.disconnect", {**POOL, "hostID": 1, "scsiKey": SP}),
    ("StoragePool.destroy", {**POOL, "hostID": 1, "scsiKey": SP}),
    ("StoragePool.getInfo", POOL),
    ("StoragePool.getSpmStatus", POOL),
    ("StoragePool.spmStart", {**POOL, "prevID": -1, "prevLver": "-1",
                              "enableScsiFencing": "false",
                              "maxHostID": 250}),
    ("StoragePool.spmStart", {**POOL, "prevID": 2, "prevLver": "7",
                              "enableScsiFencing": "true",
                              "maxHostID": 250, "domVersion": "5"}),
    ("StoragePool.spmStop", POOL),
    ("StoragePool.reconstructMaster", {
        **POOL, "hostId": 1, "name": "dc", "masterSdUUID": SD2,
        "masterVersion": 2, "domainDict": {SD: "attached", SD2: "active"},
        "lockRenewalIntervalSec": 5, "leaseTimeSec": 60,
        "ioOpTimeoutSec": 10, "leaseRetries": 3}),
    ("StoragePool.switchMaster", {**POOL, "oldMasterUUID": SD,
                                  "newMasterUUID": SD2, "masterVersion": 2}),
    ("Task.getStatus", {"taskID": u()}),
    ("Task.stop", {"taskID": u()}),
    ("Task.clear", {"taskID": u()}),
    ("Host.getAllTasksStatuses", {}),
    ("Host.getAllTasksInfo", {}),
    ("Host.getJobs", {"job_type": "storage", "job_ids": [u()]}),
    ("Host.getJobs", {}),
    ("Volume.create", {**PDIV, "size": "1073741824", "volFormat": 4,
                       "preallocate": 2, "diskType": "DATA", "desc": "",
                       "srcImgUUID": BLANK, "srcVolUUID": BLANK,
                       "sequence": 1}),
    ("Volume.create", {**PDIV, "size": "134217728", "volFormat": 5,
                       "preallocate": 1, "diskType": "OVFS",
                       "desc": "OVF_STORE", "srcImgUUID": BLANK,
                       "srcVolUUID": BLANK, "sequence": 0,
                       "initialSize": "134217728", "addBitmaps": False,
                       "legal": True, "bitmap": u()}),
    ("Volume.create", {**PDIV, "size": "1073741824", "volFormat": 4,
                       "preallocate": 2, "diskType": "DATA",
                       "desc": "snapshot", "srcImgUUID": IMG,
                       "srcVolUUID": u(), "sequence": 2,
                       "addBitmaps": True, "legal": False}),
    ("Volume.extendSize", {**PDIV, "newSize": "2147483648"}),
    ("Volume.getInfo", PDIV),
    ("Volume.setDescription", {**PDIV, "description": "{\"Updated\":true}"}),
    # CopyImageVDSCommand (JsonRpcIIrsServer.copyImage): ints, and the
    # booleans as strings.
    ("Volume.copy", {**PDIV, "dstSdUUID": SD2, "dstImgUUID": u(),
                     "dstVolUUID": u(), "desc": "template", "volType": 6,
                     "volFormat": 4, "preallocate": 2, "postZero": "false",
                     "discard": False, "force": "false"}),
    ("Volume.copy", {**PDIV, "dstSdUUID": SD, "dstImgUUID": u(),
                     "dstVolUUID": u(), "desc": "", "volType": 8,
                     "volFormat": 5, "preallocate": 1, "postZero": "false",
                     "force": "true"}),
    ("Volume.setLegality", {**PDIV, "legality": "LEGAL"}),
    ("Volume.getQemuImageInfo", PDIV),
    ("Volume.measure", {**PDIV, "dstVolFormat": 4, "backing_chain": True}),
    ("Image.delete", {"imageID": IMG, **POOL, **DOM, "postZero": "false",
                      "force": "false"}),
    ("Image.delete", {"imageID": IMG, **POOL, **DOM, "postZero": "true",
                      "discard": True, "force": "false"}),
    ("Image.move", {"imageID": IMG, **POOL, **DOM, "dstSdUUID": SD2,
                    "operation": 2, "postZero": "false",
                    "force": "false"}),
    ("Image.move", {"imageID": IMG, **POOL, **DOM, "dstSdUUID": SD2,
                    "operation": 1, "postZero": "false", "discard": False,
                    "force": "false"}),
    # CloneImageGroupStructure, SyncImageGroupData (live storage
    # migration).
    ("Image.cloneStructure", {"imageID": IMG, **POOL, **DOM,
                              "dstSdUUID": SD2}),
    ("Image.syncData", {"imageID": IMG, **POOL, **DOM, "dstSdUUID": SD2,
                        "syncType": "INTERNAL"}),
    ("Image.prepare", {**PDIV, "allowIllegal": False}),
    # TeardownImageVDSCommand sends leafVolID (upstream ignores it).
    ("Image.teardown", {"storagepoolID": SP, "storagedomainID": SD,
                        "imageID": IMG, "leafVolID": VOL}),
    ("SDM.copy_data", {"source": DIV, "destination": {**DIV, "vol_id": u()},
                       "job_id": u(), "copy_bitmaps": False,
                       "legal": True}),
    # UpdateVolume, SparsifyImage, AmendVolume: vol_info as the engine's
    # VdsmImageLocationInfo (generation only when it knows one).
    ("SDM.update_volume", {"job_id": u(), "vol_info": {
        "sd_id": SD, "img_id": IMG, "vol_id": VOL, "generation": 3},
        "vol_attr": {"legality": "LEGAL", "generation": 4}}),
    ("SDM.update_volume", {"job_id": u(), "vol_info": {
        "sd_id": SD, "img_id": IMG, "vol_id": VOL},
        "vol_attr": {"description": "{}"}}),
    ("SDM.sparsify_volume", {"job_id": u(), "vol_info": {
        "sd_id": SD, "img_id": IMG, "vol_id": VOL, "generation": 0}}),
    ("SDM.amend_volume", {"job_id": u(), "vol_info": {
        "sd_id": SD, "img_id": IMG, "vol_id": VOL, "generation": 1},
        "qcow2_attr": {"compat": "1.1"}}),
    # (d) network: HostSetupNetworksVDSCommand's maps (bridged, stp,
    # vlan, connectivityCheck and remove as strings; mtu an int).
    ("Host.setupNetworks", {
        "networks": {
            "ovirtmgmt": {"nic": "eth0", "mtu": 1500, "bridged": "true",
                          "STP": "no", "bootproto": "dhcp",
                          "dhcpv6": False, "ipv6autoconf": True,
                          "defaultRoute": True, "switch": "legacy"},
            "storage": {"bonding": "bond0", "vlan": "100", "mtu": 9000,
                        "bridged": "false", "ipaddr": "192.0.2.10",
                        "netmask": "255.255.255.0", "gateway": "192.0.2.1",
                        "switch": "legacy", "nameservers": ["192.0.2.53"]},
            "old": {"remove": "true"}},
        "bondings": {"bond0": {"nics": ["eth1", "eth2"], "switch": "legacy",
                               "options": "mode=4 miimon=100"},
                     "bond9": {"remove": "true"}},
        "options": {"connectivityCheck": "true", "commitOnSuccess": True,
                    "connectivityTimeout": 120}}),
    ("Host.setupNetworks", {
        "networks": {}, "bondings": {},
        "options": {"connectivityCheck": "false",
                    "commitOnSuccess": False}}),
    ("Host.setSafeNetworkConfig", {}),
    # (c) verbs issue 11 adds
    ("Host.getDeviceList", {"storageType": 3, "guids": [u()],
                            "checkStatus": False}),
    ("Host.getDeviceList", {"storageType": 3, "checkStatus": True}),
    ("Host.getDevicesVisibility", {"guidList": ["36001405abcdef"]}),
    ("Host.registerSecrets", {"secrets": [
        {"uuid": u(), "usageType": "ceph", "usageID": "ovirt/" + u(),
         "password": "c2VjcmV0", "description": "cinder"}],
        "clear": False}),
    ("Host.unregisterSecrets", {"uuids": [u()]}),
    ("Host.fenceNode", {"addr": "192.0.2.99", "port": "623",
                        "agent": "ipmilan", "username": "admin",
                        "password": "x", "action": "status",
                        "secure": "false", "options": "lanplus=1"}),
    ("Host.fenceNode", {"addr": "192.0.2.99", "port": "",
                        "agent": "ipmilan", "username": "admin",
                        "password": "x", "action": "on",
                        "policy": {"storageDomainHostIdMap": {SD: 1}}}),
    ("Host.getLldp", {"filter": {"devices": ["eth0"]}}),
    # MigrateBrokerVDSCommand: the engine's booleans as strings, the
    # schedule as lists of steps.
    ("VM.migrate", {"vmID": VM_ID, "params": {
        "vmId": VM_ID, "src": "192.0.2.1", "dst": "192.0.2.2:54321",
        "method": "online", "tunneled": "false", "dstqemu": "192.0.2.2",
        "abortOnError": "true", "compressed": "false",
        "autoConverge": "true", "maxBandwidth": 52,
        "enableGuestEvents": True, "encrypted": False,
        "outgoingLimit": 2, "incomingLimit": 2,
        "consoleAddress": "192.0.2.2",
        "convergenceSchedule": {
            "init": [{"name": "setDowntime", "params": ["100"]}],
            "stalling": [
                {"limit": 1, "action": {"name": "setDowntime",
                                        "params": ["150"]}},
                {"limit": -1, "action": {"name": "abort",
                                         "params": []}}]}}}),
    ("VM.migrate", {"vmID": VM_ID, "params": {
        "vmId": VM_ID, "src": "192.0.2.1", "dst": "192.0.2.2:54321",
        "method": "online", "tunneled": "false", "abortOnError": "true"}}),
    # MigrateStatusVDSCommand, CancelMigrateVDSCommand.
    ("VM.getMigrationStatus", {"vmID": VM_ID}),
    ("VM.migrateCancel", {"vmID": VM_ID}),
    # SnapshotVDSCommand (4.4+): asynchronous with jobUUID.
    ("VM.snapshot", {"vmID": VM_ID, "snapDrives": [{
        "domainID": SD, "imageID": u(), "volumeID": u(),
        "baseVolumeID": u()}], "frozen": False, "jobUUID": u(),
        "freeze_timeout": 8}),
    # MergeVDSCommand: every param a String but the drive map.
    ("VM.diskSizeExtend", {"vmID": VM_ID, "driveSpecs": {
        "poolID": SP, "domainID": SD, "imageID": IMG, "volumeID": u()},
        "newSize": "2147483648"}),
    ("VM.merge", {"vmID": VM_ID, "drive": {
        "poolID": SP, "domainID": SD, "imageID": IMG, "volumeID": u()},
        "baseVolUUID": u(), "topVolUUID": u(), "bandwidth": "0",
        "jobUUID": u()}),
    # PrepareMerge/ColdMerge/FinalizeMergeVDSCommand (the subchain map of
    # prepareSubchainInfoForVdsCommand: base_generation only when known).
    ("StoragePool.prepareMerge", {**POOL, "subchainInfo": {
        "sd_id": SD, "img_id": IMG, "base_id": u(), "top_id": u()}}),
    ("SDM.merge", {"job_id": u(), "subchain_info": {
        "sd_id": SD, "img_id": IMG, "base_id": u(), "top_id": u(),
        "base_generation": 0}, "merge_bitmaps": False}),
    ("StoragePool.finalizeMerge", {**POOL, "subchainInfo": {
        "sd_id": SD, "img_id": IMG, "base_id": u(), "top_id": u(),
        "base_generation": 1}}),
    # ReconcileVolumeChainVDSCommand, DestroyImageVDSCommand.
    ("Image.reconcileVolumeChain", {**POOL, **DOM, "imageID": IMG,
                                    "leafVolID": u()}),
    ("Image.deleteVolumes", {"imageID": IMG, **POOL, **DOM,
                             "volumeList": [u(), u()], "postZero": "false",
                             "discard": False, "force": "false"}),
]

# Engine verbs (ENGINE.md, live ones) with no shape above: not served yet.
NOT_SERVED = (
    "Host.add_image_ticket", "Host.extend_image_ticket",
    "Host.get_image_ticket", "Host.remove_image_ticket",
    "Host.abortV2VJob", "Host.convertExternalVm",
    "Host.convertExternalVmFromOva", "Host.deleteV2VJob",
    "Host.getConvertedVm", "Host.getExternalVMNames", "Host.getExternalVMs",
    "Host.getExternalVmFromOva", "Host.hostdevChangeNumvfs",
    "Host.setHaMaintenanceMode",
    "ISCSIConnection.discoverSendTargets",
    "Image.download", "Image.upload",
    "LVMVolumeGroup.create", "LVMVolumeGroup.getInfo",
    "Lease.create", "Lease.delete", "Lease.fence", "Lease.info",
    "Lease.status",
    "ManagedVolume.attach_volume", "ManagedVolume.detach_volume",
    "NBD.start_server", "NBD.stop_server",
    "SDM.add_bitmap", "SDM.clear_bitmaps",
    "SDM.move_domain_device", "SDM.reduce_domain", "SDM.remove_bitmap",
    "StorageDomain.extend", "StorageDomain.getFileStats",
    "StorageDomain.resizePV", "StorageDomain.setDescription",
    "StoragePool.getBackedUpVmsInfo",
    "StoragePool.reduceVolume", "StoragePool.removeVM",
    "StoragePool.updateVMs",
    "StoragePool.upgrade",
    "Task.revert",
    "Volume.refresh", "Volume.verify_untrusted",
    "VM.backup_info", "VM.delete_checkpoints", "VM.desktopLogin",
    "VM.diskReplicateFinish", "VM.diskReplicateStart",
    "VM.freeze", "VM.hibernate", "VM.hotplugLease",
    "VM.hotplugMemory", "VM.hotunplugLease", "VM.hotunplugMemory",
    "VM.list_checkpoints",
    "VM.redefine_checkpoints", "VM.screenshot", "VM.seal",
    "VM.setDestroyOnReboot", "VM.setNumberOfCpus",
    "VM.start_backup", "VM.stop_backup", "VM.thaw", "VM.updateVmPolicy",
)


def _id(shape: tuple[str, dict]) -> str:
    return shape[0]


@pytest.mark.parametrize("method,params", SHAPES,
                         ids=[_id(s) for s in SHAPES])
def test_engine_request_passes(method, params):
    if method not in SCHEMA.verbs:
        pytest.skip(f"{method}: not served yet (issue 11)")
    checked = SCHEMA.check_params(method, params)
    # Every param the engine sends and we declare arrives as sent (an
    # object may gain the defaults of fields it left out).
    for name, value in params.items():
        if name not in checked or value is None:
            continue
        if isinstance(value, dict):
            assert {k: checked[name].get(k) for k in value} == value, name
        else:
            assert checked[name] == value, name


def test_not_served_verbs_have_no_handler_yet():
    """An engine verb that becomes served needs its shapes in SHAPES."""
    now_served = sorted(v for v in NOT_SERVED if v in SCHEMA.verbs)
    assert now_served == []


def test_every_served_engine_verb_has_a_shape():
    shaped = {m for m, _ in SHAPES}
    # Ours that the engine never calls (ENGINE.md's summary).
    never_called = {"Host.echo", "Host.getConnectedStoragePools",
                    "Host.getStorageRepoStats", "Host.getNetworkCapabilities",
                    "Host.getNetworkStatistics", "VM.getStats", "VM.getInfo",
                    "VM.pause", "VM.setTicket", "Task.getInfo",
                    "Volume.delete", "Volume.getSize", "Jobs.abort",
                    "Jobs.delete", "Host.setLogLevel", "StoragePool.refresh",
                    # vdsm to vdsm (the migration source), not the engine.
                    "VM.migrationCreate", "VM.migrateChangeParams"}
    missing = sorted(set(SCHEMA.verbs) - shaped - never_called)
    assert missing == []
