"""Run-time links to prepared images, as upstream lays them out.

``Image.prepare`` answers with paths under ``<run_dir>/storage/<sdUUID>/
<imgUUID>/<volUUID>``: the image link points at the image directory on
the domain's mount, so a path handed to libvirt does not name the mount
(which differs between hosts and between connections of one domain).

The links live on the host's own tmpfs, never on a domain mount, so they
are made in-process: no helper, and a hung mount cannot block them.
A link is replaced atomically (a new link renamed over the old one).
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid

from vdsm.storage import constants as sc

log = logging.getLogger("vdsm.storage.links")


class ImageLinks:
    def __init__(self, run_dir: str) -> None:
        self.root = os.path.join(run_dir, "storage")

    def image_path(self, sd_uuid: str, img_uuid: str) -> str:
        return os.path.join(self.root, sc.check_uuid(sd_uuid, "sd_uuid"),
                            sc.check_uuid(img_uuid, "img_uuid"))

    def link(self, sd_uuid: str, img_uuid: str, target: str) -> str:
        """Point the image's link at target; return the link's path."""
        path = self.image_path(sd_uuid, img_uuid)
        try:
            if os.readlink(path) == target:
                return path
        except OSError:
            pass
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        # Unique: two VMs sharing a disk may prepare it at the same time.
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        os.symlink(target, tmp)
        os.replace(tmp, path)
        log.info("LINK sd=%s img=%s target=%s", sd_uuid, img_uuid, target)
        return path

    def unlink(self, sd_uuid: str, img_uuid: str) -> None:
        try:
            os.unlink(self.image_path(sd_uuid, img_uuid))
        except FileNotFoundError:
            pass

    def unlink_domain(self, sd_uuid: str) -> None:
        """Drop every image link of a domain (it left this host)."""
        shutil.rmtree(os.path.join(self.root,
                                   sc.check_uuid(sd_uuid, "sd_uuid")),
                      ignore_errors=True)
