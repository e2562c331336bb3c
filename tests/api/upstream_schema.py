"""Upstream Vdsm's params, as facts: the checker's reference.

Read from oVirt/vdsm ``lib/vdsm/api/vdsm-api.yml`` (commit 05073edc) for
every verb this project serves, and for the engine-called verbs issue 11
adds. Each param is ``(name, kind, default)``: ``kind`` is the JSON kind
upstream declares (``string int uint long boolean list object enum``; an
alias of string such as UUID is ``string``; an enum's value kind is not
recorded, upstream's enums name values the engine sends as numbers);
``default`` is ``REQUIRED`` or upstream's ``defaultvalue`` (``()`` written
as ``[]``).
"""

from __future__ import annotations

REQUIRED = object()
R = REQUIRED

S, INT, U, B = "string", "int", "uint", "boolean"
LIST, OBJ, ENUM = "list", "object", "enum"

# Params every VM verb starts with.
VM = ("vmID", S, R)
POOL = ("storagepoolID", S, R)
DOM = ("storagedomainID", S, R)
IMG = ("imageID", S, R)
VOL = ("volumeID", S, R)

UPSTREAM: dict[str, tuple[tuple, ...]] = {
    # Host
    "Host.ping2": (),
    "Host.echo": (("message", S, R),),
    "Host.setLogLevel": (("level", ENUM, R), ("name", S, "")),
    "Host.confirmConnectivity": (),
    "Host.getCapabilities": (),
    "Host.getStats": (),
    "Host.getHardwareInfo": (),
    "Host.hostdevListByCaps": (("caps", LIST, None),),
    "Host.getVMList": (("fullStatus", B, False), ("vmList", LIST, []),
                       ("onlyUUID", B, False)),
    "Host.getVMFullList": (("vmList", LIST, []),),
    "Host.getAllVmStats": (),
    "Host.dumpxmls": (("vmList", LIST, []),),
    "Host.getJobs": (("job_type", ENUM, None), ("job_ids", LIST, [])),
    "Host.getStorageDomains": (("storagepoolID", S, None),
                               ("domainClass", ENUM, None),
                               ("storageType", ENUM, None),
                               ("remotePath", S, None)),
    "Host.getConnectedStoragePools": (),
    "Host.getStorageRepoStats": (("domains", LIST, []),),
    "Host.getAllTasksStatuses": (),
    "Host.getAllTasksInfo": (),
    "Host.setupNetworks": (("networks", OBJ, R), ("bondings", OBJ, R),
                           ("options", OBJ, R)),
    "Host.setSafeNetworkConfig": (),
    "Host.getNetworkCapabilities": (),
    "Host.getNetworkStatistics": (),
    "Host.setMOMPolicyParameters": (("key_value_store", OBJ, R),),
    "Host.getDeviceList": (("storageType", ENUM, None),
                           ("guids", LIST, []), ("checkStatus", B, True),
                           ("refresh", B, True)),
    "Host.getDevicesVisibility": (("guidList", LIST, R),),
    "Host.registerSecrets": (("secrets", LIST, R), ("clear", B, False)),
    "Host.unregisterSecrets": (("uuids", LIST, R),),
    "Host.fenceNode": (("addr", S, R), ("port", INT, R), ("agent", S, R),
                       ("username", S, R), ("password", S, R),
                       ("action", ENUM, R), ("secure", B, False),
                       ("options", S, ""), ("policy", OBJ, None)),
    "Host.getLldp": (("filter", OBJ, R),),
    # VM
    "VM.create": (VM, ("vmParams", OBJ, R)),
    "VM.destroy": (VM, ("gracefulAttempts", U, 1)),
    "VM.shutdown": (VM, ("delay", INT, None), ("message", S, None),
                    ("reboot", B, False), ("timeout", INT, None),
                    ("force", B, False)),
    "VM.reset": (VM,),
    "VM.pause": (VM,),
    "VM.cont": (VM,),
    "VM.getStats": (VM,),
    "VM.getInfo": (VM,),
    "VM.setTicket": (VM, ("password", S, R), ("ttl", INT, R),
                     ("existingConnAction", ENUM, R), ("params", OBJ, R)),
    "VM.hotplugDisk": (VM, ("params", OBJ, R)),
    "VM.hotunplugDisk": (VM, ("params", OBJ, R)),
    "VM.hotplugNic": (VM, ("params", OBJ, R)),
    "VM.hotunplugNic": (VM, ("params", OBJ, R)),
    "VM.changeCD": (VM, ("driveSpec", OBJ, R)),
    "VM.updateDevice": (VM, ("params", OBJ, R)),
    "VM.getExternalData": (VM, ("kind", S, R), ("lastHash", S, None),
                           ("forceUpdate", B, True)),
    "VM.migrate": (VM, ("params", OBJ, R)),
    "VM.getMigrationStatus": (VM,),
    "VM.migrateCancel": (VM,),
    "VM.migrateChangeParams": (VM, ("params", OBJ, R)),
    "VM.migrationCreate": (VM, ("params", OBJ, R), ("incomingLimit", U, R)),
    "VM.snapshot": (VM, ("snapDrives", LIST, R), ("snapMemory", S, None),
                    ("frozen", B, False), ("jobUUID", S, None),
                    ("timeout", U, 30), ("freeze_timeout", U, 8)),
    "VM.diskSizeExtend": (VM, ("driveSpecs", OBJ, R), ("newSize", S, R)),
    "VM.merge": (VM, ("drive", OBJ, R), ("baseVolUUID", S, R),
                 ("topVolUUID", S, R), ("bandwidth", INT, 0),
                 ("jobUUID", S, None)),
    # StoragePool
    "StoragePool.connectStorageServer": (POOL, ("domainType", ENUM, R),
                                         ("connectionParams", LIST, R)),
    "StoragePool.disconnectStorageServer": (POOL, ("domainType", ENUM, R),
                                            ("connectionParams", LIST, R)),
    "StoragePool.create": (POOL, ("name", S, R), ("masterSdUUID", S, R),
                           ("masterVersion", INT, R), ("domainList", LIST, R),
                           ("lockRenewalIntervalSec", INT, R),
                           ("leaseTimeSec", INT, R),
                           ("ioOpTimeoutSec", INT, R),
                           ("leaseRetries", INT, R)),
    "StoragePool.connect": (POOL, ("hostID", INT, R), ("scsiKey", S, R),
                            ("masterSdUUID", S, R), ("masterVersion", INT, R),
                            ("domainDict", OBJ, None)),
    "StoragePool.disconnect": (POOL, ("hostID", INT, R), ("scsiKey", S, R),
                               ("remove", B, False)),
    "StoragePool.destroy": (POOL, ("hostID", INT, R), ("scsiKey", S, R)),
    "StoragePool.getInfo": (POOL,),
    "StoragePool.spmStart": (POOL, ("prevID", INT, R), ("prevLver", S, R),
                             ("enableScsiFencing", S, R),
                             ("maxHostID", INT, None),
                             ("domVersion", S, None)),
    "StoragePool.spmStop": (POOL,),
    "StoragePool.getSpmStatus": (POOL,),
    "StoragePool.refresh": (POOL, ("masterSdUUID", S, R),
                            ("masterVersion", INT, R)),
    "StoragePool.reconstructMaster": (
        POOL, ("hostId", INT, R), ("name", S, R), ("masterSdUUID", S, R),
        ("masterVersion", INT, R), ("domainDict", OBJ, R),
        ("lockRenewalIntervalSec", INT, R), ("leaseTimeSec", INT, R),
        ("ioOpTimeoutSec", INT, R), ("leaseRetries", INT, R)),
    "StoragePool.switchMaster": (POOL, ("oldMasterUUID", S, R),
                                 ("newMasterUUID", S, R),
                                 ("masterVersion", INT, R)),
    # StorageDomain
    "StorageDomain.create": (DOM, ("domainType", ENUM, R),
                             ("typeArgs", OBJ, R), ("name", S, R),
                             ("domainClass", ENUM, R), ("version", INT, None),
                             ("blockSize", INT, 512), ("maxHosts", INT, 2000)),
    "StorageDomain.getInfo": (DOM,),
    "StorageDomain.getStats": (DOM,),
    "StorageDomain.getImages": (DOM,),
    "StorageDomain.getVolumes": (DOM, POOL, IMG),
    "StorageDomain.format": (DOM, ("autoDetach", B, R)),
    "StorageDomain.attach": (DOM, POOL),
    "StorageDomain.detach": (DOM, POOL, ("masterSdUUID", S, None),
                             ("masterVersion", INT, 0), ("force", B, False)),
    "StorageDomain.activate": (DOM, POOL),
    "StorageDomain.deactivate": (DOM, POOL, ("masterSdUUID", S, R),
                                 ("masterVersion", INT, R)),
    # Volume
    "Volume.create": (VOL, POOL, DOM, IMG, ("size", S, R),
                      ("volFormat", ENUM, R), ("preallocate", ENUM, R),
                      ("diskType", ENUM, R), ("desc", S, R),
                      ("srcImgUUID", S, R), ("srcVolUUID", S, R),
                      ("initialSize", S, None), ("addBitmaps", B, False),
                      ("legal", B, True), ("sequence", INT, 0),
                      ("bitmap", S, None)),
    "Volume.getInfo": (VOL, POOL, DOM, IMG),
    "Volume.getSize": (VOL, POOL, DOM, IMG),
    "Volume.delete": (VOL, POOL, DOM, IMG, ("postZero", B, R),
                      ("force", B, R), ("discard", B, False)),
    "Volume.extendSize": (POOL, DOM, IMG, VOL, ("newSize", S, R)),
    "Volume.setDescription": (VOL, POOL, DOM, IMG, ("description", S, R)),
    "Volume.copy": (VOL, POOL, DOM, IMG, ("dstSdUUID", S, R),
                    ("dstImgUUID", S, R), ("dstVolUUID", S, R),
                    ("desc", S, R), ("volType", ENUM, R),
                    ("volFormat", ENUM, R), ("preallocate", ENUM, R),
                    ("postZero", B, R), ("force", B, R),
                    ("discard", B, False)),
    "Volume.setLegality": (VOL, POOL, DOM, IMG, ("legality", ENUM, R)),
    "Volume.getQemuImageInfo": (VOL, POOL, DOM, IMG),
    "Volume.measure": (VOL, POOL, DOM, IMG, ("dstVolFormat", ENUM, R),
                       ("backing_chain", B, True), ("baseID", S, None)),
    # Image
    "Image.delete": (IMG, POOL, DOM, ("postZero", B, R), ("force", B, R),
                     ("discard", B, False)),
    "Image.deleteVolumes": (IMG, POOL, DOM, ("volumeList", LIST, R),
                            ("postZero", B, False), ("force", B, False),
                            ("discard", B, False)),
    "Image.reconcileVolumeChain": (POOL, DOM, IMG, ("leafVolID", S, R)),
    "Image.prepare": (POOL, DOM, IMG, VOL, ("allowIllegal", B, False)),
    "Image.teardown": (POOL, DOM, IMG, ("volumeID", S, None)),
    "Image.move": (IMG, POOL, DOM, ("dstSdUUID", S, R),
                   ("operation", ENUM, R), ("postZero", B, R),
                   ("force", B, R), ("discard", B, False)),
    "Image.cloneStructure": (IMG, POOL, DOM, ("dstSdUUID", S, R)),
    "Image.syncData": (IMG, POOL, DOM, ("dstSdUUID", S, R),
                       ("syncType", ENUM, R)),
    # SDM and Task
    "SDM.copy_data": (("job_id", S, R), ("source", OBJ, R),
                      ("destination", OBJ, R), ("copy_bitmaps", B, False)),
    "SDM.update_volume": (("job_id", S, R), ("vol_info", OBJ, R),
                          ("vol_attr", OBJ, R)),
    "SDM.sparsify_volume": (("job_id", S, R), ("vol_info", OBJ, R)),
    "SDM.amend_volume": (("job_id", S, R), ("vol_info", OBJ, R),
                         ("qcow2_attr", OBJ, R)),
    "SDM.merge": (("job_id", S, R), ("subchain_info", OBJ, R),
                  ("merge_bitmaps", B, False)),
    "StoragePool.prepareMerge": (POOL, ("subchainInfo", OBJ, R)),
    "StoragePool.finalizeMerge": (POOL, ("subchainInfo", OBJ, R)),
    "Task.getStatus": (("taskID", S, R),),
    "Task.getInfo": (("taskID", S, R),),
    "Task.clear": (("taskID", S, R),),
    "Task.stop": (("taskID", S, R),),
}

# Verbs of ours upstream's schema does not have.
OURS_ONLY = {
    "Jobs.abort": "not in upstream's schema; the manual counterpart of "
                  "Host.getJobs for SDM jobs (vdsm-client)",
    "Jobs.delete": "not in upstream's schema; removes an ended SDM job "
                   "before its autodelete (vdsm-client)",
}
