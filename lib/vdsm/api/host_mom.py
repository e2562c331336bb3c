"""Host verbs of the memory policy: Host.setMOMPolicyParameters.

The engine sends ``key_value_store`` {balloonEnabled, ksmEnabled,
ksmMergeAcrossNodes} (booleans) on every activation. Upstream hands the
variables to MOM, which fails (code 54) on a variable its policy does not
define or on a value it cannot use; here the three the engine sends are
the vocabulary, a boolean (or MOM's 1/0) each. The whole store is checked
before anything changes; variables not sent keep their value, as
upstream merges them into the ones it holds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from vdsm.api.registry import CallContext, verb
from vdsm.common import exception

# Policy variable -> field of vdsm.host.mempolicy.parameters.Parameters.
VARIABLES = {"balloonEnabled": "balloon_enabled",
             "ksmEnabled": "ksm_enabled",
             "ksmMergeAcrossNodes": "ksm_merge_across_nodes"}


@verb("Host.setMOMPolicyParameters")
def set_mom_policy_parameters(ctx: CallContext,
                              key_value_store: dict[str, Any]) -> None:
    changes = {VARIABLES.get(k, k): _flag(k, v)
               for k, v in key_value_store.items()}
    mom = ctx.services.mom
    try:
        mom.update(dataclasses.replace(mom.parameters, **changes))
    except OSError as e:
        raise exception.MOMPolicyUpdateFailed(
            f"cannot keep the policy parameters: {e}") from None


def _flag(name: str, value: Any) -> bool:
    if name not in VARIABLES:
        raise exception.MOMPolicyUpdateFailed(
            f"unknown policy variable {name!r} (known: "
            f"{', '.join(sorted(VARIABLES))})")
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise exception.MOMPolicyUpdateFailed(
        f"policy variable {name} must be a boolean, got {value!r}")
