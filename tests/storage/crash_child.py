"""A storage service in a process of its own, for kill -9 tests.

    python -m storage.crash_child ROOT create SP SD IMG VOL SIZE
    python -m storage.crash_child ROOT copy SP SD SRC_IMG SRC_VOL \
        DST_IMG DST_VOL
    python -m storage.crash_child ROOT volcopy SP SD SRC_IMG SRC_VOL \
        DST_IMG DST_VOL           (Volume.copy into a new image)
    python -m storage.crash_child ROOT clone SP SD IMG DST_SD
    python -m storage.crash_child ROOT sync SP SD IMG DST_SD SYNC_TYPE

Connects the pool saved under ROOT (the LOCALFS connection restored from
ROOT's lib_dir), becomes SPM, starts the operation, prints "STARTED
<task>" and waits for it. The test kills it with SIGKILL mid-way.
"""

from __future__ import annotations

import sys
import time

from storage.storagefixtures import make_config

from vdsm.storage import constants as sc
from vdsm.storage.component import Storage
from vdsm.storage.imageclone import SyncType
from vdsm.storage.volume import VolumeRef, VolumeSpec
from vdsm.storage.volumecopy import CopyRequest


def main() -> None:
    root, op, sp, sd = sys.argv[1:5]
    rest = sys.argv[5:]
    svc = Storage.build(make_config(root))
    svc.start()
    svc.pools.connect(sp, 1, sd, 1)
    task = svc.pools.spm_start(sp)
    while svc.tasks.get(task).state != "finished":
        time.sleep(0.05)
    if op == "create":
        img, vol, size = rest
        task = svc.images.create_volume(sd, sp, VolumeSpec(
            img, vol, int(size), sc.RAW_FORMAT, sc.PREALLOCATED))
    elif op == "clone":
        img, dst_sd = rest
        task = svc.images.clone_structure(sp, sd, img, dst_sd)
    elif op == "sync":
        img, dst_sd, sync = rest
        task = svc.images.sync_data(sp, sd, img, dst_sd, SyncType(sync))
    elif op == "volcopy":
        src_img, src_vol, dst_img, dst_vol = rest
        task = svc.images.copy_volume(sp, VolumeRef(sd, src_img, src_vol),
                                      sd, CopyRequest(
                                          dst_img, dst_vol, "copy",
                                          sc.COW_FORMAT, sc.SPARSE,
                                          shared=True, force=False))
    else:
        src_img, src_vol, dst_img, dst_vol = rest
        task = svc.images.copy_data(
            "11111111-2222-3333-4444-555555555555",
            VolumeRef(sd, src_img, src_vol),
            VolumeRef(sd, dst_img, dst_vol))
    print("STARTED", task, flush=True)
    while svc.tasks.get(task).state != "finished":
        time.sleep(0.05)
    print("FINISHED", svc.tasks.get(task).status(), flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    main()
