"""VM.getExternalData: a VM's TPM or NVRAM data (vdsm.virt.externaldata)
as upstream's VmDataMap."""

from __future__ import annotations

from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.virt.errors import ExternalDataFailed
from vdsm.virt.externaldata import Kind


@verb("VM.getExternalData")
def get_external_data(ctx: CallContext, vmID: str, kind: str,
                      lastHash: str | None, forceUpdate: bool
                      ) -> dict[str, Any]:
    vm = ctx.services.virt.vms.get(vmID)
    try:
        data_kind = Kind(kind)
    except ValueError:
        raise ExternalDataFailed(f"unknown kind {kind!r} (tpm, nvram)")
    data = ctx.services.virt.external.get(vm, data_kind, lastHash,
                                          forceUpdate)
    result: dict[str, Any] = {"hash": data.hash or ""}
    if data.content is not None:
        result["_X_data"] = data.content
    return result
