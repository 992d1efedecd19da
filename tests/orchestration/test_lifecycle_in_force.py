"""Admission puts the reserved allocation in force; termination releases it (issue 9, item 1)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from netslice.network.allocation import CN_CPU, EDGE_CPU, MCS_DL, MCS_UL, PRB_DL, PRB_UL, RESOURCES, TN_BW
from netslice.orchestration import views
from netslice.orchestration.capacity import make_room
from netslice.orchestration.nrm import ServiceProfile
from netslice.orchestration.orchestrator import Orchestrator

#: The README walk-through's ServiceProfile for S-NSSAI 1-000001 (4 UEs, 450 ms).
AR1 = {
    "serviceProfileId": "sp-ar-1",
    "plmnInfoList": [{"plmnId": {"mcc": "001", "mnc": "01"}, "snssai": {"sst": 1, "sd": "000001"}}],
    "sst": 1,
    "maxNumberofUEs": 4,
    "dLLatency": 450,
}
ROWS = {"tn": TN_BW, "cn": CN_CPU, "edge": EDGE_CPU}


@pytest.fixture(scope="module")
def template() -> Orchestrator:
    return Orchestrator.create("testbed-v0", n_envs=2, seed=0, backend="numpy")


@pytest.fixture
def orch(template: Orchestrator) -> Orchestrator:
    return copy.deepcopy(template)


def _profile(**attrs: object) -> ServiceProfile:
    return ServiceProfile.model_validate({**AR1, **attrs})


def _shares(orch: Orchestrator, k: int) -> dict[str, np.ndarray]:
    """Every share row of slice ``k`` in force, (n_envs,) each, plus its RRM quotas."""
    rrm = orch.managers["ran"].rrm
    assert rrm is not None
    out = {RESOURCES[row]: orch.managers[name].in_force[:, 0, k] for name, row in ROWS.items()}
    for d, row in enumerate((PRB_UL, PRB_DL)):
        out[f"{RESOURCES[row]}/ded"] = rrm.dedicated[:, d, k]
        out[f"{RESOURCES[row]}/min"] = rrm.minimum[:, d, k]
        out[f"{RESOURCES[row]}/max"] = rrm.maximum[:, d, k]
    return out


def test_a_slice_created_after_a_termination_gets_its_reservation(orch: Orchestrator) -> None:
    orch.terminate_slice("mar")
    record = orch.create_slice("ar-1", _profile())
    shares = _shares(orch, 0)
    for row in (PRB_UL, PRB_DL):
        for q in ("ded", "min", "max"):
            np.testing.assert_allclose(shares[f"{RESOURCES[row]}/{q}"], record.reservation[row])
    for name, row in ROWS.items():
        np.testing.assert_allclose(shares[RESOURCES[row]], record.reservation[row], err_msg=name)
    ran = orch.managers["ran"].in_force
    np.testing.assert_array_equal(ran[:, 2:, 0], np.broadcast_to(record.reservation[[MCS_UL, MCS_DL]], (2, 2)))
    policies = {p.id: p.attributes for p in views.rrm_policies(orch)}
    assert policies["rrm-mar-ul"].rrm_policy_min_ratio == int(100 * record.reservation[PRB_UL]) > 0
    result = orch.step(None)
    assert (result.observation.allocation[:, PRB_UL, 0] > 0.0).all()
    assert (result.kpis.latency_ms[:, 0] <= 450.0).all(), result.kpis.latency_ms
    np.testing.assert_array_equal(result.cost[:, 0], 0.0)


def test_the_others_keep_their_reservations_and_every_node_fits(orch: Orchestrator) -> None:
    orch.terminate_slice("mar")
    before = {r.index: _shares(orch, r.index) for r in orch.records.values()}
    record = orch.create_slice("ar-1", _profile())
    rrm = orch.managers["ran"].rrm
    assert rrm is not None
    assert (rrm.dedicated.sum(axis=-1) <= 1.0 + 1e-12).all()
    assert (rrm.minimum.sum(axis=-1) <= 1.0 + 1e-12).all()
    assert (rrm.dedicated <= rrm.minimum + 1e-15).all()
    assert (rrm.minimum <= rrm.maximum + 1e-15).all()
    for sid, other in orch.records.items():
        if sid == "ar-1":
            continue
        # nobody is cut below its own reservation (or below what it had, when that was less)
        shares, old = _shares(orch, other.index), before[other.index]
        for key in [f"{RESOURCES[row]}/min" for row in (PRB_UL, PRB_DL)] + [RESOURCES[row] for row in ROWS.values()]:
            row = RESOURCES.index(key.split("/")[0])
            assert (shares[key] >= np.minimum(old[key], other.reservation[row]) - 1e-12).all(), key
    for mgr in orch.managers.values():
        mgr.validate(mgr.in_force)
    assert record.index == 0


def test_termination_releases_every_domain(orch: Orchestrator) -> None:
    orch.terminate_slice("mar")
    for name, shares in _shares(orch, 0).items():
        np.testing.assert_array_equal(shares, 0.0, err_msg=name)


def test_a_modification_raises_the_allocation_to_the_new_reservation(orch: Orchestrator) -> None:
    orch.terminate_slice("mar")
    orch.create_slice("ar-1", _profile())
    before = _shares(orch, 0)
    record = orch.modify_slice("ar-1", _profile(dLLatency=300, maxNumberofUEs=3))
    after = _shares(orch, 0)
    for row in (TN_BW, CN_CPU, EDGE_CPU):
        np.testing.assert_allclose(after[RESOURCES[row]], np.maximum(before[RESOURCES[row]], record.reservation[row]))
    for row in (PRB_UL, PRB_DL):
        assert (after[f"{RESOURCES[row]}/min"] >= record.reservation[row] - 1e-12).all()
    assert orch.step(None).cost[:, 0].max() == 0.0


def test_startup_slices_run_the_scenario_initial_allocation(orch: Orchestrator) -> None:
    initial = orch.scenario.params.initial_allocation
    for name, mgr in orch.managers.items():
        np.testing.assert_array_equal(mgr.in_force[0], initial[list(mgr.rows)], err_msg=name)


def test_make_room_takes_only_what_the_others_hold_above_their_floor() -> None:
    shares = np.array([[0.5, 0.3, 0.2], [0.0, 0.9, 0.1]])
    out = make_room(shares, 0, np.array([0.7, 0.5]), np.array([0.0, 0.2, 0.1]), np.zeros(3, dtype=np.int64))
    np.testing.assert_allclose(out, [[0.7, 0.2, 0.1], [0.5, 0.4, 0.1]])
    sites = np.array([0, 1, 0])  # slice 1 is on another node: untouched
    out = make_room(shares, 0, np.array([0.9, 0.9]), np.zeros(3), sites)
    np.testing.assert_allclose(out, [[0.9, 0.3, 0.1], [0.9, 0.9, 0.1]])
