"""NRM views over the orchestrator: RRM policy ids across lifecycle changes, KPI record naming."""

from __future__ import annotations

from typing import Any

import pytest

from netslice.errors import InvalidAllocationError
from netslice.orchestration import views
from netslice.orchestration.lifecycle import scenario_profile
from netslice.orchestration.nrm import RRMPolicyRatio
from netslice.orchestration.orchestrator import Orchestrator

SD = {"mar": "000001", "video": "000002"}


def _policy(pid: str, slice_name: str, mn: int, mx: int = 100, ded: int = 0, rtype: str = "PRB_UL") -> RRMPolicyRatio:
    data: dict[str, Any] = {
        "id": pid,
        "attributes": {
            "resourceType": rtype,
            "rRMPolicyMemberList": [
                {"plmnId": {"mcc": "001", "mnc": "01"}, "snssai": {"sst": 1, "sd": SD[slice_name]}}
            ],
            "rRMPolicyMaxRatio": mx, "rRMPolicyMinRatio": mn, "rRMPolicyDedicatedRatio": ded,
        },
    }  # fmt: skip
    return RRMPolicyRatio.model_validate(data)


@pytest.fixture
def orch() -> Orchestrator:
    return Orchestrator.create("testbed-v0", n_envs=2, seed=0, backend="numpy")


def test_an_explicit_id_that_looks_like_another_slices_default_keeps_its_member(orch: Orchestrator) -> None:
    views.put_rrm_policy(orch, _policy("rrm-mar-ul", "video", mn=10))
    policy = views.get_rrm_policy(orch, "rrm-mar-ul")
    assert policy.attributes.rrm_policy_member_list[0].snssai.sd == SD["video"]
    assert policy.attributes.rrm_policy_min_ratio == 10


def test_a_terminated_slice_frees_its_quota_and_drops_its_policies(orch: Orchestrator) -> None:
    views.put_rrm_policy(orch, _policy("my-mar", "mar", mn=40, mx=60))
    with pytest.raises(InvalidAllocationError, match="100"):
        views.put_rrm_policy(orch, _policy("big-video", "video", mn=50))
    orch.terminate_slice("mar")
    views.put_rrm_policy(
        orch, _policy("big-video", "video", mn=50)
    )  # 50 + iot 45 <= 100 once mar's 40 % no longer counts
    orch.create_slice("mar2", scenario_profile(orch.scenario, 0))
    ids = {p.id for p in views.rrm_policies(orch)}
    assert "my-mar" not in ids
    assert {"rrm-mar-ul", "rrm-mar-dl"} <= ids


def test_kpi_record_names_the_network_slice(orch: Orchestrator) -> None:
    orch.terminate_slice("mar")
    orch.create_slice("ar-1", scenario_profile(orch.scenario, 0))
    orch.step(None)
    assert views.kpi_record(orch, 0).meas_obj_dn.endswith("NetworkSlice=ar-1")
