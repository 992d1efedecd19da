"""RRMPolicyRatio: per-slice radio resource quotas (TS 28.541 v18.6.0 NR NRM; Rel-16 stage 2 clause 4.3.36).

An ``RRMPolicyRatio`` MOI under an ``NRCellDU`` (or a gNB function) gives a list of members (PLMN, S-NSSAI) a
share of one resource type, in integer percent, split into three categories (TS 28.541 clause 4.3.36.1):

* dedicated ``[0, rRMPolicyDedicatedRatio]``: reserved for the members, never used by others;
* prioritized ``[rRMPolicyDedicatedRatio, rRMPolicyMinRatio]``: guaranteed when needed, lent out when idle;
* shared ``[rRMPolicyMinRatio, rRMPolicyMaxRatio]``: not guaranteed, shared with other member lists.

Rules: each ratio is an integer in 0..100 (OpenAPI ``minimum 0, maximum 100``); dedicated <= min <= max, which
the category definitions imply (the stage-2 text lists no formal constraint); and, over all policies of the
same resource type contained by one managed entity, the min ratios and the dedicated ratios each sum to at most
100 while the max ratios may sum to more (:func:`check_cell_policies`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, ClassVar, Self

from pydantic import Field, model_validator

from netslice.errors import InvalidAllocationError
from netslice.orchestration.nrm.common import (
    ManagedObject,
    NrmModel,
    PlmnId,
    ResourceType,
    Snssai,
    require_unique,
)

#: One quota: integer percent 0..100 (strict: ``40.0``, ``"40"`` and ``true`` are rejected).
Ratio = Annotated[int, Field(strict=True, ge=0, le=100)]
#: Tolerance (in percent) when rounding shares down to integer percent, so that 0.29 maps to 29, not 28.
_ROUND_EPS = 1e-9


class RRMPolicyMember(NrmModel):
    """One member of an RRM policy: a PLMN and an S-NSSAI (TS 28.541 ``RrmPolicyMember``)."""

    plmn_id: PlmnId = Field(alias="plmnId")
    snssai: Snssai


class RRMPolicyRatioAttributes(NrmModel):
    """Attributes of an RRMPolicyRatio (TS 28.541 v18.6.0 ``RRMPolicyRatio-Single.attributes``).

    Defaults are those of the OpenAPI: max 100, min 0, dedicated 0 (best effort up to the whole resource).
    ``rRMPolicyMemberList`` holds at least one member and no duplicates (YANG ``min-elements 1``, keyed list).
    """

    resource_type: ResourceType = Field(alias="resourceType")
    rrm_policy_member_list: list[RRMPolicyMember] = Field(alias="rRMPolicyMemberList", min_length=1)
    rrm_policy_max_ratio: Ratio = Field(default=100, alias="rRMPolicyMaxRatio", description="%")
    rrm_policy_min_ratio: Ratio = Field(default=0, alias="rRMPolicyMinRatio", description="%")
    rrm_policy_dedicated_ratio: Ratio = Field(default=0, alias="rRMPolicyDedicatedRatio", description="%")

    @model_validator(mode="after")
    def _check_ratios(self) -> Self:
        require_unique(self.rrm_policy_member_list, "rRMPolicyMemberList", "members")
        d, m, big_m = self.rrm_policy_dedicated_ratio, self.rrm_policy_min_ratio, self.rrm_policy_max_ratio
        if d > m:
            raise ValueError(
                f"rRMPolicyDedicatedRatio: must be <= rRMPolicyMinRatio, got {d} > {m} "
                "(TS 28.541 clause 4.3.36.1: dedicated resources are part of the guaranteed minimum)"
            )
        if m > big_m:
            raise ValueError(
                f"rRMPolicyMinRatio: must be <= rRMPolicyMaxRatio, got {m} > {big_m} "
                "(TS 28.541 clause 4.3.36.1: the guaranteed minimum is part of the maximum)"
            )
        return self

    @property
    def dedicated(self) -> int:
        """Dedicated quota, % (never shared)."""
        return self.rrm_policy_dedicated_ratio

    @property
    def prioritized(self) -> int:
        """Prioritized quota ``min - dedicated``, % (guaranteed when needed, lent out when idle)."""
        return self.rrm_policy_min_ratio - self.rrm_policy_dedicated_ratio

    @property
    def shared(self) -> int:
        """Shared quota ``max - min``, % (not guaranteed)."""
        return self.rrm_policy_max_ratio - self.rrm_policy_min_ratio


class RRMPolicyRatio(ManagedObject):
    """An RRMPolicyRatio MOI (TS 28.541 v18.6.0 NR NRM), ProvMnS ``Resource`` form ``{id, attributes}``.

    It is name-contained by NRCellDU, NRCellCU, GNBDUFunction, GNBCUUPFunction or GNBCUCPFunction, e.g.
    ``.../GNBDUFunction=1/NRCellDU=1/RRMPolicyRatio=rrm-embb``.
    """

    OBJECT_CLASS: ClassVar[str] = "RRMPolicyRatio"

    attributes: RRMPolicyRatioAttributes


def check_cell_policies(policies: Sequence[RRMPolicyRatio]) -> None:
    """Check the RRMPolicyRatio MOIs contained by one managed entity (typically one NRCellDU).

    Rules, per ``resourceType`` (TS 28.541 clause 4.3.36.1): the ``rRMPolicyMinRatio`` values sum to at most
    100 and the ``rRMPolicyDedicatedRatio`` values sum to at most 100 (the ``rRMPolicyMaxRatio`` values may sum
    to more). For validated policies (dedicated <= min) the dedicated rule follows from the min rule; it is
    checked anyway for policies built without validation. Also, the ids are unique (RDNs under one parent,
    TS 32.300), and a member (PLMN, S-NSSAI) is in at most one policy per resource type (netslice rule:
    otherwise its quota would be ambiguous).

    Args:
        policies: The policies of one cell (or gNB function), any resource types, any order.

    Raises:
        InvalidAllocationError: A rule is broken; the message names the rule, the resource type and the ids.
    """
    try:
        require_unique([p.id for p in policies], "RRMPolicyRatio.id", "policy ids within one cell")
    except ValueError as err:
        raise InvalidAllocationError(str(err)) from None
    by_type: dict[ResourceType, list[RRMPolicyRatio]] = {}
    for policy in policies:
        by_type.setdefault(policy.attributes.resource_type, []).append(policy)
    for resource_type, group in by_type.items():
        for name, values in (
            ("rRMPolicyMinRatio", {p.id: p.attributes.rrm_policy_min_ratio for p in group}),
            ("rRMPolicyDedicatedRatio", {p.id: p.attributes.rrm_policy_dedicated_ratio for p in group}),
        ):
            total = sum(values.values())
            if total > 100:
                detail = ", ".join(f"{pid}={v}" for pid, v in values.items())
                raise InvalidAllocationError(
                    f"RRMPolicyRatio[resourceType={resource_type.value}].{name}: must sum to <= 100 over the "
                    f"policies of one cell (TS 28.541 clause 4.3.36.1), got {total} ({detail})"
                )
        owner: dict[RRMPolicyMember, str] = {}
        for policy in group:
            for member in policy.attributes.rrm_policy_member_list:
                if member in owner:
                    raise InvalidAllocationError(
                        f"RRMPolicyRatio[resourceType={resource_type.value}].rRMPolicyMemberList: member "
                        f"(plmnId {member.plmn_id.key}, snssai {member.snssai.key}) is in both {owner[member]!r} "
                        f"and {policy.id!r}; a member may be in one policy per resource type"
                    )
                owner[member] = policy.id


def ratio_to_share(policy: RRMPolicyRatio | RRMPolicyRatioAttributes) -> tuple[float, float, float]:
    """The policy's quotas as fractions of the resource: ``(dedicated, min, max)``.

    ``min`` is the guaranteed share (dedicated + prioritized), ``max`` the cap (guaranteed + shared).

    Args:
        policy: An RRMPolicyRatio MOI or its attributes.

    Returns:
        ``(rRMPolicyDedicatedRatio, rRMPolicyMinRatio, rRMPolicyMaxRatio) / 100``.
    """
    attrs = policy.attributes if isinstance(policy, RRMPolicyRatio) else policy
    return (
        attrs.rrm_policy_dedicated_ratio / 100,
        attrs.rrm_policy_min_ratio / 100,
        attrs.rrm_policy_max_ratio / 100,
    )


def share_to_ratio(
    dedicated: float,
    minimum: float,
    maximum: float,
    *,
    policy_id: str,
    resource_type: ResourceType,
    members: Sequence[RRMPolicyMember],
) -> RRMPolicyRatio:
    """Build an RRMPolicyRatio from share fractions; the inverse of :func:`ratio_to_share`.

    Fractions are rounded *down* to integer percent (with a 1e-9 % tolerance for float error, so 0.29 gives
    29). Rounding down keeps dedicated <= min <= max, and keeps a cell feasible: if the min (dedicated)
    fractions of a cell's policies sum to at most 1, their percentages sum to at most 100.

    Args:
        dedicated: Dedicated share in [0, 1].
        minimum: Guaranteed (min) share in [dedicated, maximum].
        maximum: Maximum share in [minimum, 1].
        policy_id: The MOI id (RDN value), e.g. ``"rrm-embb"``.
        resource_type: The resource the policy applies to.
        members: The (PLMN, S-NSSAI) members, at least one, no duplicates.

    Returns:
        The policy MOI.

    Raises:
        InvalidAllocationError: A share is not finite, outside [0, 1], or the shares are not ordered
            dedicated <= minimum <= maximum.
        pydantic.ValidationError: ``policy_id`` or ``members`` break a model rule.
    """
    shares = {"dedicated": dedicated, "minimum": minimum, "maximum": maximum}
    for name, value in shares.items():
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise InvalidAllocationError(
                f"RRMPolicyRatio share {name}: must be a finite fraction in [0, 1], got {value}"
            )
    if not dedicated <= minimum <= maximum:
        raise InvalidAllocationError(
            "RRMPolicyRatio shares: must satisfy dedicated <= minimum <= maximum, "
            f"got {dedicated}, {minimum}, {maximum}"
        )
    d, m, big_m = (math.floor(shares[name] * 100 + _ROUND_EPS) for name in ("dedicated", "minimum", "maximum"))
    # Validate by 3GPP names so that errors name the attributes as every other NRM error does.
    return RRMPolicyRatio.model_validate(
        {
            "id": policy_id,
            "attributes": {
                "resourceType": resource_type,
                "rRMPolicyMemberList": list(members),
                "rRMPolicyMaxRatio": big_m,
                "rRMPolicyMinRatio": m,
                "rRMPolicyDedicatedRatio": d,
            },
        }
    )
