"""Cold merge verbs: StoragePool.prepareMerge, SDM.merge and
StoragePool.finalizeMerge read the engine's subchain into a typed
Subchain and call services.storage.merges (storage/coldmerge.py)."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.api.storage_args import storage, to_int, uuid
from vdsm.storage import errors
from vdsm.storage.coldmerge import Subchain


def subchain(value: Any) -> Subchain:
    """A SubchainInfo dict: the ids checked (1000 naming the field)."""
    if not isinstance(value, dict):
        raise errors.InvalidParameter("subchain info is not an object")
    try:
        gen = value.get("base_generation")
        return Subchain(
            sd_id=uuid(value["sd_id"], "sd_id"),
            img_id=uuid(value["img_id"], "img_id"),
            top_id=uuid(value["top_id"], "top_id"),
            base_id=uuid(value["base_id"], "base_id"),
            base_generation=None if gen is None else to_int(
                gen, "base_generation"))
    except KeyError as e:
        raise errors.InvalidParameter(f"subchain info lacks {e}") from None


@verb("StoragePool.prepareMerge")
def prepare_merge(ctx: CallContext, storagepoolID: str,
                  subchainInfo: Any) -> str:
    return storage(ctx).merges.prepare(uuid(storagepoolID, "spUUID"),
                                       subchain(subchainInfo))


@verb("SDM.merge")
def merge(ctx: CallContext, job_id: str, subchain_info: Any,
          merge_bitmaps: bool = False) -> None:
    storage(ctx).merges.merge(job_id, subchain(subchain_info))


@verb("StoragePool.finalizeMerge")
def finalize_merge(ctx: CallContext, storagepoolID: str,
                   subchainInfo: Any) -> str:
    return storage(ctx).merges.finalize(uuid(storagepoolID, "spUUID"),
                                        subchain(subchainInfo))
