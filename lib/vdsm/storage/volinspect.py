"""What qemu-img says about a volume: its image info and its measure.

Both read only. ``image_info`` is Volume.getQemuImageInfo: the image's
format, virtual size and, for qcow2, cluster size, compat level and
backing file, as qemu sees the file (not as the metadata says).
``measure`` is Volume.measure: what a copy of the volume into a format
needs, for the whole chain, the volume's own layer, or the layer with
its parent (upstream's baseID: only the parent is allowed).
"""

from __future__ import annotations

from dataclasses import dataclass

from vdsm.storage import constants as sc
from vdsm.storage import errors, qemuimg
from vdsm.storage.qemuimg import Measure
from vdsm.storage.volume import Volume


@dataclass(frozen=True)
class QemuImageInfo:
    format: str                 # "raw" or "qcow2"
    virtual_size: int
    cluster_size: int | None
    backing_file: str | None
    compat: str | None          # qcow2: "0.10" or "1.1"


def image_info(vol: Volume) -> QemuImageInfo:
    info = qemuimg.info(vol.path)
    data = info.get("format-specific", {}).get("data", {})
    return QemuImageInfo(
        format=info["format"], virtual_size=int(info["virtual-size"]),
        cluster_size=(int(info["cluster-size"])
                      if "cluster-size" in info else None),
        backing_file=info.get("backing-filename"),
        compat=data.get("compat") if info["format"] == "qcow2" else None)


def measure(vol: Volume, dst_format: int, backing: bool = True,
            base_id: str | None = None) -> Measure:
    """dst_format: the wire's volume format (4 COW, 5 RAW)."""
    if dst_format not in sc.FORMAT_NAMES:
        raise errors.InvalidParameter("bad dstVolFormat", value=dst_format)
    out_fmt = "raw" if dst_format == sc.RAW_FORMAT else "qcow2"
    fmt = vol.qemu_format()
    base = None
    if backing and base_id is not None:
        parent = vol.parent()
        if base_id != parent or parent == sc.BLANK_UUID:
            raise errors.InvalidParameter(
                "baseID must be the volume's parent", baseID=base_id,
                parent=parent)
        pvol = Volume(vol.dom, vol.img_uuid, parent)
        base = (pvol.path, pvol.qemu_format())
    return qemuimg.measure(vol.path, fmt, out_fmt, backing=backing,
                           base=base)
