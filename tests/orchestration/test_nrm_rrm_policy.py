"""RRMPolicyRatio (TS 28.541 clause 4.3.36): per-policy and per-cell rules, and share conversions."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from netslice.errors import InvalidAllocationError, NetsliceError
from netslice.orchestration.nrm import (
    PlmnId,
    ResourceType,
    RRMPolicyMember,
    RRMPolicyRatio,
    RRMPolicyRatioAttributes,
    Snssai,
    check_cell_policies,
    ratio_to_share,
    share_to_ratio,
)

Data = dict[str, Any]
PLMN = {"mcc": "001", "mnc": "01"}


def _member(sst: int = 1, sd: str | None = "000001") -> Data:
    return {"plmnId": dict(PLMN), "snssai": {"sst": sst} | ({"sd": sd} if sd else {})}


def _payload(dedicated: Any = 10, minimum: Any = 40, maximum: Any = 80, **attributes: Any) -> Data:
    return {
        "id": attributes.pop("id", "rrm-1"),
        "attributes": {
            "resourceType": "PRB_DL",
            "rRMPolicyMemberList": [_member()],
            "rRMPolicyDedicatedRatio": dedicated,
            "rRMPolicyMinRatio": minimum,
            "rRMPolicyMaxRatio": maximum,
        }
        | attributes,
    }


def _policy(
    policy_id: str, dedicated: int, minimum: int, maximum: int, sst: int = 1, resource: str = "PRB_DL"
) -> RRMPolicyRatio:
    return RRMPolicyRatio.model_validate(
        _payload(dedicated, minimum, maximum, id=policy_id, resourceType=resource, rRMPolicyMemberList=[_member(sst)])
    )


def _invalid(payload: Data, *fragments: str) -> None:
    with pytest.raises(ValidationError) as err:
        RRMPolicyRatio.model_validate(payload)
    for fragment in fragments:
        assert fragment in str(err.value), f"{fragment!r} not in {err.value}"


# ---------------------------------------------------------------------------------------------- one policy


def test_reference_rrm_policy_parses_with_its_categories(rrm_policy: Data) -> None:
    policy = RRMPolicyRatio.model_validate(rrm_policy)
    attrs = policy.attributes
    assert policy.rdn == "RRMPolicyRatio=rrm-embb"
    assert attrs.resource_type is ResourceType.PRB_DL
    assert attrs.rrm_policy_member_list == [
        RRMPolicyMember(plmn_id=PlmnId(mcc="001", mnc="01"), snssai=Snssai(sst=1, sd="000001"))
    ]
    assert (attrs.dedicated, attrs.prioritized, attrs.shared) == (10, 30, 40)


def test_ratios_default_to_the_openapi_defaults() -> None:
    attrs = RRMPolicyRatioAttributes.model_validate({"resourceType": "PRB", "rRMPolicyMemberList": [_member()]})
    assert (attrs.rrm_policy_dedicated_ratio, attrs.rrm_policy_min_ratio, attrs.rrm_policy_max_ratio) == (0, 0, 100)


@pytest.mark.parametrize("field", ["rRMPolicyDedicatedRatio", "rRMPolicyMinRatio", "rRMPolicyMaxRatio"])
@pytest.mark.parametrize("value", [-1, 101, 40.0, 40.5, "40", True, None])
def test_each_ratio_is_an_integer_0_to_100(field: str, value: Any) -> None:
    payload = _payload(0, 0, 100)
    payload["attributes"][field] = value
    _invalid(payload, f"attributes.{field}")


@pytest.mark.parametrize(("d", "m", "big_m"), [(0, 0, 0), (100, 100, 100), (0, 0, 100), (10, 40, 80), (40, 40, 40)])
def test_ordered_ratios_are_accepted(d: int, m: int, big_m: int) -> None:
    assert ratio_to_share(RRMPolicyRatio.model_validate(_payload(d, m, big_m))) == (d / 100, m / 100, big_m / 100)


def test_dedicated_above_min_is_rejected_naming_both() -> None:
    _invalid(_payload(50, 40, 80), "rRMPolicyDedicatedRatio: must be <= rRMPolicyMinRatio, got 50 > 40", "4.3.36")


def test_min_above_max_is_rejected_naming_both() -> None:
    _invalid(_payload(10, 90, 80), "rRMPolicyMinRatio: must be <= rRMPolicyMaxRatio, got 90 > 80", "4.3.36")


def test_member_list_is_non_empty_without_duplicates() -> None:
    _invalid(_payload(rRMPolicyMemberList=[]), "attributes.rRMPolicyMemberList", "at least 1 item")
    _invalid(_payload(rRMPolicyMemberList=[_member(), _member()]), "rRMPolicyMemberList", "unique")
    # the same slice spelled with a lower-case SD, or with the "no SD" value, is still a duplicate
    _invalid(_payload(rRMPolicyMemberList=[_member(sd="00000a"), _member(sd="00000A")]), "unique")
    _invalid(_payload(rRMPolicyMemberList=[_member(sd=None), _member(sd="FFFFFF")]), "unique")
    two = RRMPolicyRatio.model_validate(_payload(rRMPolicyMemberList=[_member(1), _member(2)]))
    assert len(two.attributes.rrm_policy_member_list) == 2


@pytest.mark.parametrize("resource", ["PRB", "PRB_UL", "PRB_DL", "RRC_CONNECTED_USERS", "DRB"])
def test_resource_type_accepts_the_28_541_values(resource: str) -> None:
    assert RRMPolicyRatio.model_validate(_payload(resourceType=resource)).attributes.resource_type == resource


@pytest.mark.parametrize("resource", ["RRC", "prbDl", "CPU", None])
def test_resource_type_rejects_other_values(resource: Any) -> None:
    _invalid(_payload(resourceType=resource), "attributes.resourceType")


def test_resource_type_is_required() -> None:
    payload = _payload()
    del payload["attributes"]["resourceType"]
    _invalid(payload, "attributes.resourceType", "Field required")


def test_member_fields_are_validated() -> None:
    _invalid(_payload(rRMPolicyMemberList=[{"plmnId": {"mcc": "1", "mnc": "01"}, "snssai": {"sst": 1}}]), "mcc")
    _invalid(_payload(rRMPolicyMemberList=[{"plmnId": PLMN, "snssai": {"sst": 300}}]), "snssai.sst")
    _invalid(_payload(rRMPolicyMemberList=[{"plmnId": PLMN}]), "snssai", "Field required")


_ratio = st.one_of(st.integers(min_value=-3, max_value=103), st.integers())


@given(d=_ratio, m=_ratio, big_m=_ratio)
def test_policy_accepts_exactly_the_triples_0_le_d_le_m_le_max_le_100(d: int, m: int, big_m: int) -> None:
    payload = _payload(d, m, big_m)
    if 0 <= d <= m <= big_m <= 100:
        assert ratio_to_share(RRMPolicyRatio.model_validate(payload)) == (d / 100, m / 100, big_m / 100)
    else:
        with pytest.raises(ValidationError):
            RRMPolicyRatio.model_validate(payload)


# ---------------------------------------------------------------------------------------------- one cell


def test_cell_min_ratios_may_sum_to_100_but_not_more() -> None:
    check_cell_policies([_policy("a", 0, 60, 100, sst=1), _policy("b", 0, 40, 100, sst=2)])
    with pytest.raises(InvalidAllocationError) as err:
        check_cell_policies([_policy("a", 0, 60, 100, sst=1), _policy("b", 0, 41, 100, sst=2)])
    message = str(err.value)
    for fragment in ("resourceType=PRB_DL", "rRMPolicyMinRatio", "<= 100", "got 101", "a=60", "b=41", "4.3.36"):
        assert fragment in message


def test_cell_dedicated_ratios_may_sum_to_100_but_not_more() -> None:
    check_cell_policies([_policy("a", 50, 50, 50, sst=1), _policy("b", 50, 50, 60, sst=2)])
    # Validated policies have dedicated <= min, so the min rule already bounds the dedicated sum; the rule is
    # still enforced for policies built without validation (model_construct).
    unchecked = [
        RRMPolicyRatio.model_construct(
            id=pid,
            attributes=RRMPolicyRatioAttributes.model_construct(
                resource_type=ResourceType.PRB_DL,
                rrm_policy_member_list=[_slice(k)],
                rrm_policy_max_ratio=100,
                rrm_policy_min_ratio=10,
                rrm_policy_dedicated_ratio=60,
            ),
        )
        for k, pid in enumerate(("a", "b"))
    ]
    with pytest.raises(InvalidAllocationError, match=r"rRMPolicyDedicatedRatio: must sum to <= 100.*got 120"):
        check_cell_policies(unchecked)


def test_cell_max_ratios_may_sum_above_100() -> None:
    check_cell_policies([_policy(f"p{k}", 0, 10, 100, sst=k + 1) for k in range(5)])


def test_cell_sums_are_per_resource_type() -> None:
    policies = [
        _policy("dl", 20, 70, 100, sst=1, resource="PRB_DL"),
        _policy("ul", 20, 70, 100, sst=1, resource="PRB_UL"),
        _policy("dl2", 10, 30, 100, sst=2, resource="PRB_DL"),
        _policy("ul2", 10, 30, 100, sst=2, resource="PRB_UL"),
    ]
    check_cell_policies(policies)
    extra = _policy("ul3", 0, 1, 100, sst=3, resource="PRB_UL")
    with pytest.raises(InvalidAllocationError, match=r"resourceType=PRB_UL\]\.rRMPolicyMinRatio"):
        check_cell_policies([*policies, extra])


def test_cell_policy_ids_are_unique() -> None:
    with pytest.raises(InvalidAllocationError, match=r"RRMPolicyRatio.id: .*unique.*'a'"):
        check_cell_policies([_policy("a", 0, 10, 100, sst=1), _policy("a", 0, 10, 100, sst=2, resource="PRB_UL")])


def test_cell_member_is_in_one_policy_per_resource_type() -> None:
    check_cell_policies([_policy("dl", 0, 10, 100, sst=1), _policy("ul", 0, 10, 100, sst=1, resource="PRB_UL")])
    with pytest.raises(InvalidAllocationError, match=r"member \(plmnId 001-01, snssai 1-000001\).*'a'.*'b'"):
        check_cell_policies([_policy("a", 0, 10, 100, sst=1), _policy("b", 0, 10, 100, sst=1)])


def test_cell_errors_are_netslice_value_errors() -> None:
    assert issubclass(InvalidAllocationError, NetsliceError)
    assert issubclass(InvalidAllocationError, ValueError)
    check_cell_policies([])


# ---------------------------------------------------------------------------------------------- share conversion


def _members() -> list[RRMPolicyMember]:
    return [RRMPolicyMember.model_validate(_member())]


def test_ratio_to_share_reads_a_moi_or_its_attributes(rrm_policy: Data) -> None:
    policy = RRMPolicyRatio.model_validate(rrm_policy)
    assert ratio_to_share(policy) == ratio_to_share(policy.attributes) == (0.1, 0.4, 0.8)


def test_share_to_ratio_inverts_ratio_to_share(rrm_policy: Data) -> None:
    del rrm_policy["objectClass"]
    policy = RRMPolicyRatio.model_validate(rrm_policy)
    rebuilt = share_to_ratio(
        *ratio_to_share(policy),
        policy_id=policy.id,
        resource_type=policy.attributes.resource_type,
        members=policy.attributes.rrm_policy_member_list,
    )
    assert rebuilt == policy


@given(st.integers(0, 100), st.integers(0, 100), st.integers(0, 100))
def test_share_to_ratio_inverts_ratio_to_share_for_every_valid_triple(a: int, b: int, c: int) -> None:
    d, m, big_m = sorted((a, b, c))
    policy = RRMPolicyRatio.model_validate(_payload(d, m, big_m))
    rebuilt = share_to_ratio(
        *ratio_to_share(policy), policy_id="rrm-1", resource_type=ResourceType.PRB_DL, members=_members()
    )
    assert rebuilt == policy


@pytest.mark.parametrize(
    ("shares", "percent"),
    [((0.29, 0.29, 0.29), (29, 29, 29)), ((0.1, 1 / 3, 0.999), (10, 33, 99)), ((0.0, 0.0, 1.0), (0, 0, 100))],
)
def test_share_to_ratio_rounds_down_to_whole_percent(
    shares: tuple[float, float, float], percent: tuple[int, int, int]
) -> None:
    policy = share_to_ratio(*shares, policy_id="p", resource_type=ResourceType.PRB, members=_members())
    attrs = policy.attributes
    assert (attrs.rrm_policy_dedicated_ratio, attrs.rrm_policy_min_ratio, attrs.rrm_policy_max_ratio) == percent


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=8))
def test_share_to_ratio_keeps_a_feasible_cell_feasible(weights: list[float]) -> None:
    total = sum(weights)
    mins = [w / total for w in weights] if total > 1 else weights  # guaranteed shares summing to <= 1
    policies = [
        share_to_ratio(m / 2, m, 1.0, policy_id=f"p{k}", resource_type=ResourceType.PRB_DL, members=[_slice(k)])
        for k, m in enumerate(mins)
    ]
    check_cell_policies(policies)


def _slice(k: int) -> RRMPolicyMember:
    return RRMPolicyMember(plmn_id=PlmnId(mcc="001", mnc="01"), snssai=Snssai(sst=1, sd=f"{k:06X}"))


@pytest.mark.parametrize(
    ("shares", "fragment"),
    [
        ((math.nan, 0.5, 1.0), "share dedicated"),
        ((0.0, math.inf, 1.0), "share minimum"),
        ((0.0, 0.5, 1.01), "share maximum"),
        ((-0.01, 0.5, 1.0), "share dedicated"),
        ((0.6, 0.5, 1.0), "dedicated <= minimum <= maximum"),
        ((0.1, 0.5, 0.4), "dedicated <= minimum <= maximum"),
    ],
)
def test_share_to_ratio_rejects_bad_shares(shares: tuple[float, float, float], fragment: str) -> None:
    with pytest.raises(InvalidAllocationError, match=fragment):
        share_to_ratio(*shares, policy_id="p", resource_type=ResourceType.PRB, members=_members())


def test_share_to_ratio_still_validates_id_and_members() -> None:
    with pytest.raises(ValidationError, match="rRMPolicyMemberList"):
        share_to_ratio(0.0, 0.1, 1.0, policy_id="p", resource_type=ResourceType.PRB, members=[])
    with pytest.raises(ValidationError, match="id"):
        share_to_ratio(0.0, 0.1, 1.0, policy_id="a,b", resource_type=ResourceType.PRB, members=_members())


def test_policy_payloads_are_not_mutated_by_validation(rrm_policy: Data) -> None:
    before = copy.deepcopy(rrm_policy)
    RRMPolicyRatio.model_validate(rrm_policy)
    assert rrm_policy == before
