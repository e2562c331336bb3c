"""Image.cloneStructure and Image.syncData: an image copied between two
domains of a pool in two steps, as oVirt's live storage migration does.

``clone_structure`` makes, on the destination domain, the image's chain
of empty volumes: the same UUIDs, parents, capacities, formats,
allocations, disk types and descriptions. The volumes are made ILLEGAL
and turned LEGAL together once the whole chain exists, each one's removal
recorded as the task's rollback first: a failure or a vdsmd killed midway
leaves no part of the chain (task recovery removes what was made).

Meanwhile the engine has the running VM mirror its active layer onto the
new leaf (VM.diskReplicateStart), then ``sync_data`` copies the data of
the other volumes (syncType INTERNAL; LEAF copies only the leaf, ALL every
volume): each layer on its own (qemu-img convert over the destination's
parent, only the layer's own clusters written), the destination volume
ILLEGAL while its data moves and LEGAL after. Both chains must have the
same volumes (260 otherwise). A sync cut short leaves the volume it was
copying ILLEGAL, never legal with half its data.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from typing import Callable

from vdsm.storage import constants as sc
from vdsm.storage import errors
from vdsm.storage import imagedir as img_mod
from vdsm.storage import volume as vol_mod
from vdsm.storage.domain import FileDomain
from vdsm.storage.qemuimg import OnStart
from vdsm.storage.volume import Volume, VolumeSpec

log = logging.getLogger("vdsm.storage.imageclone")


class SyncType(enum.Enum):
    """Which volumes Image.syncData copies (upstream's names)."""

    INTERNAL = "INTERNAL"    # all but the leaf
    LEAF = "LEAF"            # the leaf only
    ALL = "ALL"


def check_domains(src: FileDomain, dst: FileDomain) -> None:
    if src.sd_uuid == dst.sd_uuid:
        raise errors.InvalidParameter(
            "source and destination are the same domain", sd=src.sd_uuid)


def structure(src: FileDomain, dst: FileDomain,
              img_uuid: str) -> list[VolumeSpec]:
    """The specs of the empty chain to make on dst (base first); refuse
    bad input before any change."""
    check_domains(src, dst)
    chain = img_mod.chain(src, img_uuid, img_mod.leaf(src, img_uuid))
    if dst.io.call("exists", path=dst.image_dir(img_uuid)):
        raise errors.VolumeAlreadyExists("image exists on destination",
                                         img=img_uuid, sd=dst.sd_uuid)
    specs = [dataclasses.replace(img_mod.clone_spec(v), legal=False)
             for v in chain]
    total = sum(s.size for s in specs if s.prealloc == sc.PREALLOCATED)
    if total and total > dst.space().free:
        raise errors.VolumeCreationError("not enough free space",
                                         size=total, free=dst.space().free)
    return specs


def clone_structure(dst: FileDomain, specs: list[VolumeSpec],
                    add_rollback: Callable[[str, str], None],
                    on_start: OnStart | None = None) -> list[Volume]:
    """add_rollback(img, vol) records a volume's removal before it is
    made; the chain becomes LEGAL only once all of it exists."""
    made = []
    for spec in specs:
        add_rollback(spec.img_uuid, spec.vol_uuid)
        made.append(vol_mod.create(dst, spec, on_start=on_start))
    for vol in made:
        vol.update(LEGALITY=sc.LEGAL)
    log.info("CLONE_STRUCTURE img=%s sd=%s chain=%s", specs[0].img_uuid,
             dst.sd_uuid, [s.vol_uuid for s in specs])
    return made


def sync_chains(src: FileDomain, dst: FileDomain, img_uuid: str,
                sync: SyncType) -> list[tuple[Volume, Volume]]:
    """The (source, destination) volume pairs to copy; 260 when the
    destination's chain is not the source's."""
    check_domains(src, dst)
    src_chain = img_mod.chain(src, img_uuid, img_mod.leaf(src, img_uuid))
    try:
        dst_chain = img_mod.chain(dst, img_uuid, img_mod.leaf(dst, img_uuid))
    except errors.ImageDoesNotExistInDomain:
        raise errors.DestImageActionError(
            "no such image on the destination", img=img_uuid,
            sd=dst.sd_uuid) from None
    if sync is SyncType.INTERNAL:
        src_chain, dst_chain = src_chain[:-1], dst_chain[:-1]
    elif sync is SyncType.LEAF:
        src_chain, dst_chain = src_chain[-1:], dst_chain[-1:]
    if [v.vol_uuid for v in src_chain] != [v.vol_uuid for v in dst_chain]:
        raise errors.DestImageActionError(
            "the destination chain is not the source's", img=img_uuid,
            src=[v.vol_uuid for v in src_chain],
            dst=[v.vol_uuid for v in dst_chain])
    for vol in src_chain:
        if not vol.is_legal():
            raise errors.ImageIsNotLegalChain(img=img_uuid,
                                              vol=vol.vol_uuid)
    return list(zip(src_chain, dst_chain))


def sync_data(pairs: list[tuple[Volume, Volume]],
              check_stopped: Callable[[], None],
              on_start: OnStart | None = None) -> None:
    for src, dst in pairs:
        img_mod.copy_volume(src, dst, on_start=on_start)
        check_stopped()
    if pairs:
        log.info("SYNC_DATA img=%s sd=%s->%s volumes=%s",
                 pairs[0][0].img_uuid, pairs[0][0].dom.sd_uuid,
                 pairs[0][1].dom.sd_uuid, [s.vol_uuid for s, _ in pairs])
