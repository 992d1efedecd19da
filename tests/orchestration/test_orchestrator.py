"""The end-to-end orchestrator: spaces, provisioning, the slot loop, invalid input, faults, lifecycle, assurance."""

from __future__ import annotations

import copy
import time
from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from netslice.errors import AdmissionError, ConfigError, ConflictError, InvalidAllocationError, NotFoundError
from netslice.network.allocation import (
    CN_CPU,
    DOMAINS,
    EDGE_CPU,
    MCS_DL,
    MCS_UL,
    N_RESOURCES,
    PRB_DL,
    PRB_UL,
    RESOURCES,
    SHARE_ROWS,
    TN_BW,
    check_capacity,
    site_sums,
)
from netslice.network.kernel import Kpis
from netslice.orchestration.capacity import proportional_scaling
from netslice.orchestration.lifecycle import MCS_KNOBS, scenario_profile
from netslice.orchestration.nrm import ServiceProfile
from netslice.orchestration.orchestrator import Orchestrator

N_ENVS = 3
SEED = 11
SLICES = ("mar", "video", "iot")
KPI_FIELDS = tuple(f.name for f in fields(Kpis))


def make(scenario: str = "testbed-v0", n_envs: int = N_ENVS, seed: int | None = SEED, **kw: Any) -> Orchestrator:
    return Orchestrator.create(scenario, n_envs=n_envs, seed=seed, backend="numpy", **kw)


@pytest.fixture
def orch() -> Orchestrator:
    return make()


def initial(o: Orchestrator) -> np.ndarray:
    return np.array(np.broadcast_to(o.scenario.params.initial_allocation, (o.n_envs, N_RESOURCES, 3)))


def profile(o: Orchestrator, k: int, **changes: Any) -> ServiceProfile:
    """Slice ``k``'s scenario ServiceProfile with some attributes (3GPP names) changed or added."""
    data = scenario_profile(o.scenario, k).model_dump(by_alias=True, exclude_none=True)
    return ServiceProfile.model_validate({**data, **changes})


def assert_within_capacity(o: Orchestrator, alloc: np.ndarray) -> None:
    assert alloc.shape == (o.n_envs, N_RESOURCES, o.scenario.params.n_slices)
    assert np.isfinite(alloc).all()
    assert alloc.min() >= 0.0
    assert alloc.max() <= 1.0
    check_capacity(alloc, o.scenario.params.edge.site_of_slice, "in force")


# ---------------------------------------------------------------------------------------------- state snapshots


def snapshot(o: Orchestrator) -> dict[str, Any]:
    """Everything a slot could change, copied."""
    state = o.sim.state
    arrays = {f"state.{f.name}": getattr(state, f.name) for f in fields(state) if f.name != "traffic"}
    arrays |= {f"traffic.{f.name}": getattr(state.traffic, f.name) for f in fields(state.traffic)}
    arrays |= {f"in_force.{name}": mgr.in_force for name, mgr in o.managers.items()}
    rrm = o.managers["ran"].rrm
    assert rrm is not None
    arrays |= {f"rrm.{name}": getattr(rrm, name) for name in ("dedicated", "minimum", "maximum", "need")}
    arrays["active"] = o.active
    return {
        "arrays": {k: np.array(v, copy=True) for k, v in arrays.items()},
        "rng": copy.deepcopy(o.sim.rng.bit_generator.state),
        "slot": o.slot,
        "observation": o.observation(),
        "metrics": o.metrics(),
        "events": len(o.assurance.events),
        "targets": copy.deepcopy(o.assurance.targets),
        "records": dict(o.records),
    }


def assert_unchanged(o: Orchestrator, before: dict[str, Any]) -> None:
    after = snapshot(o)
    assert after["arrays"].keys() == before["arrays"].keys()
    for key, value in before["arrays"].items():
        np.testing.assert_array_equal(after["arrays"][key], value, err_msg=key)
    assert after["rng"] == before["rng"]
    assert after["slot"] == before["slot"]
    assert after["observation"] is before["observation"]
    assert after["metrics"] == before["metrics"]
    assert after["events"] == before["events"]
    for f in fields(before["targets"]):
        np.testing.assert_array_equal(getattr(after["targets"], f.name), getattr(before["targets"], f.name))
    assert after["records"] == before["records"]


# ---------------------------------------------------------------------------------------------- spaces, provisioning


def test_spaces(orch: Orchestrator) -> None:
    s = orch.spaces()
    assert s.n_envs == N_ENVS
    assert s.action_shape == (N_ENVS, 7, 3)
    assert s.resources == ("prb_ul", "prb_dl", "mcs_ul", "mcs_dl", "tn_bw", "cn_cpu", "edge_cpu")
    assert s.slices == SLICES
    assert s.domains == ("ran", "tn", "cn", "edge")
    assert s.kpis == tuple(f for f in KPI_FIELDS if f not in ("hour", "usage", "slice_usage"))
    assert "latency_ms" in s.kpis
    assert "fps" in s.kpis
    assert s.slots_per_episode == 24  # one day of one-hour slots
    assert s.slot_s == 3600.0


def test_every_scenario_slice_is_provisioned(orch: Orchestrator) -> None:
    assert list(orch.records) == list(SLICES)
    assert orch.active.tolist() == [True, True, True]
    assert [r.index for r in orch.records.values()] == [0, 1, 2]
    assert [r.n_ues for r in orch.records.values()] == [5.0, 2.0, 100.0]  # testbed-v0 traffic scales
    assert orch.records["mar"].terms == {
        "latency_ms": 500.0, "thp_dl_kbps": None, "thp_ul_kbps": None, "reliability": None,
    }  # fmt: skip
    assert orch.records["iot"].terms["reliability"] == pytest.approx(0.9999, abs=1e-12)
    assert set(orch.records["video"].terms.values()) == {None}  # fps has no 3GPP attribute
    assert [r.profile.snssais[0].key for r in orch.records.values()] == ["1-000001", "1-000002", "3-000003"]
    assert orch.metrics()["orchestrator/active_slices"] == 3.0


@pytest.mark.parametrize("scenario", ["testbed-v0", "metro-v0"])
def test_reservations_are_within_capacity(scenario: str) -> None:
    o = make(scenario, n_envs=1)
    sites = o.scenario.params.edge.site_of_slice
    reservations = np.zeros((1, N_RESOURCES, o.scenario.params.n_slices))
    for record in o.records.values():
        reservations[0, :, record.index] = record.reservation
        assert (record.reservation[list(SHARE_ROWS)] > 0.0).all(), record.slice_id
        assert record.reservation[MCS_UL] == record.reservation[MCS_DL]
        knobs = {*MCS_KNOBS, float(o.scenario.params.initial_allocation[MCS_UL, record.index])}
        assert record.reservation[MCS_UL] in knobs
    assert len(o.records) == o.scenario.params.n_slices
    for row in (PRB_UL, PRB_DL, TN_BW, CN_CPU):
        assert reservations[0, row].sum() <= 1.0 + 1e-12, RESOURCES[row]
    assert site_sums(reservations[:, EDGE_CPU], sites).max() <= 1.0 + 1e-12
    check_capacity(reservations, sites, "reservations")


def test_latency_budgets_split_the_network_part_of_the_sla(orch: Orchestrator) -> None:
    mar = orch.records["mar"].budgets
    assert set(mar) == {"latency_ms"}
    assert list(mar["latency_ms"]) == list(DOMAINS)
    app_ms = float(orch.scenario.params.service.app_latency_s[0] * 1e3)
    assert app_ms == pytest.approx(94.0)
    assert sum(mar["latency_ms"].values()) == pytest.approx(500.0 - app_ms, abs=1e-9)
    assert min(mar["latency_ms"].values()) >= 0.0
    iot = orch.records["iot"].budgets
    assert set(iot) == {"reliability"}
    assert np.prod(list(iot["reliability"].values())) == pytest.approx(0.9999, rel=1e-12)
    assert orch.records["video"].budgets == {}


# ---------------------------------------------------------------------------------------------- the slot loop


def test_step_returns_cost_usage_and_kpis(orch: Orchestrator) -> None:
    before = orch.observation()
    assert before.slot == 0
    assert before.kpis is None
    np.testing.assert_array_equal(before.cost, np.zeros((N_ENVS, 3)))
    result = orch.step(initial(orch))
    assert result.cost.shape == (N_ENVS, 3)
    assert np.isfinite(result.cost).all()
    assert (result.cost >= 0.0).all()
    assert result.usage.shape == (N_ENVS, 4)
    assert (result.usage >= 0.0).all()
    assert (result.usage <= 1.0 + 1e-9).all()
    np.testing.assert_array_equal(result.usage, result.kpis.usage)
    assert result.modified.shape == (N_ENVS,)
    assert result.modified.dtype == np.bool_
    assert not result.modified.any()  # the initial allocation is within capacity
    assert result.faults == ()
    for name in orch.spaces().kpis:
        assert getattr(result.kpis, name).shape == (N_ENVS, 3), name
    obs = result.observation
    assert obs is orch.observation()
    assert obs.slot == 1
    assert obs.hour.shape == (N_ENVS,)
    assert obs.kpis is result.kpis
    np.testing.assert_array_equal(obs.cost, result.cost)
    np.testing.assert_array_equal(obs.allocation, initial(orch))
    assert orch.metrics()["orchestrator/slots"] == 1.0


def test_a_2d_action_is_used_in_every_env(orch: Orchestrator) -> None:
    one = np.full((N_RESOURCES, 3), 0.3)
    one[[MCS_UL, MCS_DL]] = 0.0
    orch.step(one)
    for env in range(N_ENVS):
        np.testing.assert_array_equal(orch.observation().allocation[env], one)


def test_no_action_keeps_the_allocation_in_force(orch: Orchestrator) -> None:
    action = np.full((N_ENVS, N_RESOURCES, 3), 0.25)
    action[1, PRB_DL] = [0.5, 0.3, 0.2]
    orch.step(action)
    result = orch.step(None)
    assert not result.modified.any()
    np.testing.assert_array_equal(result.observation.allocation, action)


def _trajectory(o: Orchestrator, actions: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    out = []
    for action in actions:
        r = o.step(action)
        out.append({"cost": r.cost, **{name: getattr(r.kpis, name) for name in KPI_FIELDS}})
    return out


def _random_actions(n: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.0, 0.6, size=(N_ENVS, N_RESOURCES, 3)) for _ in range(n)]


def _assert_same(a: list[dict[str, np.ndarray]], b: list[dict[str, np.ndarray]]) -> None:
    assert len(a) == len(b)
    for slot, (x, y) in enumerate(zip(a, b, strict=True)):
        for key in x:
            np.testing.assert_array_equal(x[key], y[key], err_msg=f"slot {slot}: {key}")


def test_same_seed_same_trajectory() -> None:
    actions = _random_actions(6)
    _assert_same(_trajectory(make(seed=5), actions), _trajectory(make(seed=5), actions))


def test_different_seeds_differ() -> None:
    actions = _random_actions(4)
    a, b = _trajectory(make(seed=5), actions), _trajectory(make(seed=6), actions)
    assert not np.array_equal(a[0]["latency_ms"], b[0]["latency_ms"])
    assert not all(np.array_equal(x["active_ues"], y["active_ues"]) for x, y in zip(a, b, strict=True))


def test_reset_with_a_seed_replays_the_trajectory() -> None:
    actions = _random_actions(4)
    o = make(seed=5)
    first = _trajectory(o, actions)
    obs = o.reset(seed=5)
    assert obs.slot == 0
    assert o.slot == 0
    assert obs.kpis is None
    _assert_same(first, _trajectory(o, actions))


# ---------------------------------------------------------------------------------------------- invalid actions


def _poison(row: int, value: float) -> np.ndarray:
    action = np.full((N_ENVS, N_RESOURCES, 3), 0.2)
    action[N_ENVS - 1, row, 1] = value
    return action


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (_poison(TN_BW, np.nan), r"^action\[tn_bw\]: must be finite"),
        (_poison(EDGE_CPU, np.inf), r"^action\[edge_cpu\]: must be finite"),
        (_poison(CN_CPU, -0.01), r"^action\[cn_cpu\]: must be in \[0, 1\], got -0\.01"),
        (_poison(MCS_UL, 1.0001), r"^action\[mcs_ul\]: must be in \[0, 1\]"),
        (_poison(PRB_DL, 1e300), r"^action\[prb_dl\]: must be in \[0, 1\]"),
        (np.full((N_ENVS, N_RESOURCES, 4), 0.1), r"^action: shape must be .* got \(3, 7, 4\)$"),
        (np.full((N_ENVS + 1, N_RESOURCES, 3), 0.1), r"^action: shape must be .* got \(4, 7, 3\)$"),
        (np.full((N_RESOURCES,), 0.1), r"^action: shape must be .* got \(7,\)$"),
        (0.1, r"^action: shape must be .* got \(\)$"),
        ("allocate everything to mar", r"^action: must be an array of real numbers, got str$"),
        ([[0.1, 0.2], [0.3]], r"^action: must be an array of real numbers, got list$"),
        ({"prb_ul": 0.5}, r"^action: must be an array of real numbers, got dict$"),
    ],
)
def test_an_invalid_action_raises_and_changes_nothing(orch: Orchestrator, action: object, message: str) -> None:
    orch.step(initial(orch))  # a slot has run: queues, events and statistics are not trivial
    before = snapshot(orch)
    with pytest.raises(InvalidAllocationError, match=message):
        orch.step(action)
    assert_unchanged(orch, before)


def test_the_reject_enforcer_refuses_over_capacity_and_changes_nothing() -> None:
    o = make(enforcer="reject")
    o.step(initial(o))
    before = snapshot(o)
    action = initial(o)
    action[0, TN_BW] = [0.5, 0.5, 0.5]
    with pytest.raises(InvalidAllocationError, match=r"^action\[tn_bw\]: shares on the node must sum to at most 1"):
        o.step(action)
    assert_unchanged(o, before)


def test_an_unknown_enforcer_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^enforcer: must be one of \['proportional', 'reject'\], got 'greedy'$"):
        make(enforcer="greedy")


def test_an_over_capacity_action_is_scaled(orch: Orchestrator) -> None:
    action = initial(orch)
    action[0, PRB_UL] = [0.9, 0.9, 0.2]  # env 0 over-subscribed
    action[2, EDGE_CPU] = [1.0, 1.0, 1.0]  # env 2 over-subscribed
    action[:, [MCS_UL, MCS_DL]] = 1.0  # knobs are never scaled
    result = orch.step(action)
    assert result.modified.tolist() == [True, False, True]
    in_force = result.observation.allocation
    assert_within_capacity(orch, in_force)
    for row in SHARE_ROWS:
        assert (in_force[:, row].sum(axis=1) <= 1.0 + 1e-12).all(), RESOURCES[row]
    np.testing.assert_allclose(in_force[0, PRB_UL], [0.45, 0.45, 0.1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(in_force[2, EDGE_CPU], [1 / 3, 1 / 3, 1 / 3], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(in_force[1], action[1])
    np.testing.assert_array_equal(in_force[:, [MCS_UL, MCS_DL]], action[:, [MCS_UL, MCS_DL]])
    np.testing.assert_array_equal(in_force, proportional_scaling(action, orch.scenario.params.edge.site_of_slice))


def test_over_capacity_edge_shares_are_scaled_per_site_on_metro() -> None:
    o = make("metro-v0", n_envs=2)
    result = o.step(np.ones((N_RESOURCES, 5)))  # everything to everyone
    assert result.modified.all()
    in_force = result.observation.allocation
    assert_within_capacity(o, in_force)
    # sites (cloud, edge-a, cloud, edge-b, edge-a): two slices per shared site, mar alone on edge-b
    np.testing.assert_allclose(in_force[:, EDGE_CPU], [[0.5, 0.5, 0.5, 1.0, 0.5]] * 2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(in_force[:, TN_BW], 0.2, rtol=0, atol=1e-15)


def test_a_misbehaving_enforcer_is_contained_by_the_domain_managers() -> None:
    o = make(enforcer=lambda alloc, site_of_slice: alloc)  # passes over-capacity actions through
    o.step(initial(o))
    previous_tn = o.managers["tn"].in_force.copy()
    action = np.full((N_ENVS, N_RESOURCES, 3), 0.2)
    action[:, TN_BW] = 0.5  # sums to 1.5
    result = o.step(action)
    assert [(f.domain, f.kind) for f in result.faults] == [("tn", "error")]
    assert "tn[tn_bw]: shares on the node must sum to at most 1" in result.faults[0].message
    in_force = result.observation.allocation
    assert_within_capacity(o, in_force)
    np.testing.assert_array_equal(in_force[:, TN_BW : TN_BW + 1], previous_tn)
    others = [r for r in range(N_RESOURCES) if r != TN_BW]
    np.testing.assert_array_equal(in_force[:, others], action[:, others])


# ---------------------------------------------------------------------------------------------- garbage actions


def _valid_arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0))


BAD_VALUES = st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e300, -1e-9, 1.0 + 1e-9, 7.0, -0.5])


@st.composite
def poisoned(draw: st.DrawFn) -> np.ndarray:
    action = draw(_valid_arrays((N_ENVS, N_RESOURCES, 3)))
    index = draw(st.tuples(st.integers(0, N_ENVS - 1), st.integers(0, N_RESOURCES - 1), st.integers(0, 2)))
    action[index] = draw(BAD_VALUES)
    return action


WRONG_SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=8).filter(
    lambda s: s not in ((N_ENVS, N_RESOURCES, 3), (N_RESOURCES, 3))
)

GARBAGE = st.one_of(
    _valid_arrays((N_ENVS, N_RESOURCES, 3)),  # often over capacity
    _valid_arrays((N_RESOURCES, 3)),
    _valid_arrays((N_ENVS, N_RESOURCES, 3)).map(lambda a: a.tolist()),
    poisoned(),
    poisoned().map(lambda a: a.tolist()),
    WRONG_SHAPES.flatmap(_valid_arrays),
    _valid_arrays((N_ENVS, N_RESOURCES, 3)).map(lambda a: a.tolist()[:-1]),  # a missing env
    st.just([[[0.1, "x", 0.2]] * N_RESOURCES] * N_ENVS),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**60), 2**60),
    st.dictionaries(st.sampled_from(RESOURCES), st.floats(0.0, 1.0), max_size=3),
    st.none(),  # no action: the allocation in force stays
)


@settings(max_examples=25, deadline=None, database=None)
@given(actions=st.lists(GARBAGE, min_size=1, max_size=12))
def test_garbage_actions_never_corrupt_the_state(actions: list[object]) -> None:
    o = make(n_envs=N_ENVS, seed=0)
    for action in actions:
        before = snapshot(o)
        try:
            result = o.step(action)
        except InvalidAllocationError:
            event("rejected")
            assert_unchanged(o, before)
            continue
        event("accepted, scaled" if result.modified.any() else "accepted")
        assert o.slot == before["slot"] + 1
        for name in KPI_FIELDS:
            assert np.isfinite(getattr(result.kpis, name)).all(), name
        assert np.isfinite(result.cost).all()
        assert (result.cost >= 0.0).all()
        assert_within_capacity(o, result.observation.allocation)
        assert result.faults == ()


# ---------------------------------------------------------------------------------------------- fault injection


def _raise(part: np.ndarray) -> None:
    raise ConnectionError("edge orchestrator unreachable")


def test_a_failing_domain_keeps_its_previous_allocation(orch: Orchestrator) -> None:
    first = initial(orch)
    orch.step(first)
    orch.managers["edge"].fault_hook = _raise
    action = np.full((N_ENVS, N_RESOURCES, 3), 0.3)
    result = orch.step(action)
    assert len(result.faults) == 1
    fault = result.faults[0]
    assert (fault.domain, fault.kind, fault.slot) == ("edge", "error", 1)
    assert fault.message == "ConnectionError: edge orchestrator unreachable"
    assert result.observation.faults == result.faults
    in_force = result.observation.allocation
    np.testing.assert_array_equal(in_force[:, EDGE_CPU], first[:, EDGE_CPU])  # edge: previous allocation
    np.testing.assert_array_equal(in_force[:, :EDGE_CPU], action[:, :EDGE_CPU])  # ran, tn, cn: the new one
    assert np.isfinite(result.cost).all()
    # the fault clears: the next action reaches the edge too
    orch.managers["edge"].fault_hook = None
    result = orch.step(action)
    assert result.faults == ()
    np.testing.assert_array_equal(result.observation.allocation, action)


def test_a_slow_domain_is_a_timeout_fault() -> None:
    o = make(timeout_s=0.01)
    first = initial(o)
    o.step(first)
    o.managers["cn"].fault_hook = lambda part: time.sleep(0.05)
    action = np.full((N_ENVS, N_RESOURCES, 3), 0.3)
    result = o.step(action)
    assert [(f.domain, f.kind) for f in result.faults] == [("cn", "timeout")]
    np.testing.assert_array_equal(result.observation.allocation[:, CN_CPU], first[:, CN_CPU])
    others = [r for r in range(N_RESOURCES) if r != CN_CPU]
    np.testing.assert_array_equal(result.observation.allocation[:, others], action[:, others])


def test_a_timed_out_ran_allocation_does_not_come_back_in_the_next_slot() -> None:
    o = make(timeout_s=0.01)
    first = initial(o)
    o.step(first)
    o.managers["ran"].fault_hook = lambda part: time.sleep(0.05)
    result = o.step(np.full((N_ENVS, N_RESOURCES, 3), 0.3))
    assert [f.kind for f in result.faults] == ["timeout"]
    np.testing.assert_array_equal(result.observation.allocation[:, :2], first[:, :2])  # holds
    o.managers["ran"].fault_hook = None
    result = o.step(None)  # keep the allocation in force
    np.testing.assert_array_equal(result.observation.allocation[:, :2], first[:, :2])  # fails: 0.3 everywhere


# ---------------------------------------------------------------------------------------------- lifecycle


def _starve_mar(o: Orchestrator) -> np.ndarray:
    action = initial(o)
    action[:, EDGE_CPU] = [0.001, 0.25, 0.25]
    return action


def _feed_mar(o: Orchestrator) -> np.ndarray:
    action = initial(o)
    action[:, EDGE_CPU] = [0.7, 0.15, 0.15]
    action[:, TN_BW] = [0.6, 0.2, 0.2]
    return action


def test_a_terminated_slice_costs_nothing_and_gets_nothing(orch: Orchestrator) -> None:
    assert orch.step(_starve_mar(orch)).cost[:, 0].min() > 0.0  # mar violates its latency SLA when starved
    orch.terminate_slice("mar")
    assert "mar" not in orch.records
    assert orch.active.tolist() == [False, True, True]
    assert orch.metrics()["orchestrator/active_slices"] == 2.0
    for action in (_starve_mar(orch), np.ones((N_RESOURCES, 3)), None, initial(orch)):
        result = orch.step(action)
        np.testing.assert_array_equal(result.cost[:, 0], 0.0)
        np.testing.assert_array_equal(result.observation.allocation[:, :, 0], 0.0)
        assert result.observation.active.tolist() == [False, True, True]
    # the other slices keep their allocation
    np.testing.assert_array_equal(result.observation.allocation[:, :, 1:], initial(orch)[:, :, 1:])
    with pytest.raises(NotFoundError, match=r"^NetworkSlice=mar: no such slice$"):
        orch.terminate_slice("mar")


def test_a_terminated_slice_can_be_created_again(orch: Orchestrator) -> None:
    orch.terminate_slice("mar")
    record = orch.create_slice("mar-2", scenario_profile(orch.scenario, 0))
    assert record.index == 0
    assert record.slice_id == "mar-2"
    assert orch.active.all()
    assert orch.metrics()["orchestrator/active_slices"] == 3.0
    assert orch.step(_starve_mar(orch)).cost[:, 0].min() > 0.0  # assured again


def test_a_duplicate_slice_is_a_conflict(orch: Orchestrator) -> None:
    before = snapshot(orch)
    with pytest.raises(ConflictError, match=r"^NetworkSlice=mar: already exists$"):
        orch.create_slice("mar", scenario_profile(orch.scenario, 1))
    with pytest.raises(ConflictError, match=r"^plmnInfoList\.snssai: already provisioned by NetworkSlice=video$"):
        orch.create_slice("video-2", scenario_profile(orch.scenario, 1))
    assert_unchanged(orch, before)


def test_an_unknown_snssai_is_a_config_error(orch: Orchestrator) -> None:
    unknown = profile(
        orch, 0, plmnInfoList=[{"plmnId": {"mcc": "001", "mnc": "01"}, "snssai": {"sst": 1, "sd": "0000FF"}}]
    )
    before = snapshot(orch)
    with pytest.raises(ConfigError) as err:
        orch.create_slice("new", unknown)
    assert str(err.value) == (
        "plmnInfoList.snssai: no slice of scenario testbed-v0 carries ['1-0000FF'] "
        "(known: 1-000001, 1-000002, 3-000003)"
    )
    assert_unchanged(orch, before)


def test_a_latency_below_the_floor_is_not_admitted(orch: Orchestrator) -> None:
    orch.terminate_slice("mar")
    before = snapshot(orch)
    with pytest.raises(AdmissionError) as err:
        orch.create_slice("mar", profile(orch, 0, dLLatency=1))
    message = str(err.value)
    assert message.startswith("serviceProfile: admission rejected: dLLatency/uLLatency: 1 ms is below")
    assert "floor" in message
    assert_unchanged(orch, before)


def test_an_infeasible_throughput_is_not_admitted(orch: Orchestrator) -> None:
    before = snapshot(orch)
    with pytest.raises(AdmissionError) as err:
        orch.modify_slice("mar", profile(orch, 0, dLThptPerSlice={"guaThpt": 10**9}))
    assert str(err.value).startswith("serviceProfile: admission rejected: insufficient capacity: thp_dl not met")
    assert_unchanged(orch, before)  # a rejected modification keeps the old profile and its targets


def test_modify_slice_with_a_looser_sla(orch: Orchestrator) -> None:
    old = orch.records["mar"]
    other_targets = orch.assurance.targets.latency_ms[1:].copy()
    record = orch.modify_slice("mar", profile(orch, 0, dLLatency=800))
    assert orch.records["mar"] is record
    assert record.terms["latency_ms"] == 800.0
    assert orch.active[0]
    assert orch.assurance.targets.latency_ms[0] == 800.0
    np.testing.assert_array_equal(orch.assurance.targets.latency_ms[1:], other_targets)
    assert (record.reservation[list(SHARE_ROWS)] < old.reservation[list(SHARE_ROWS)]).all()  # needs less
    assert sum(record.budgets["latency_ms"].values()) == pytest.approx(800.0 - 94.0, abs=1e-9)


def test_modify_slice_rules(orch: Orchestrator) -> None:
    with pytest.raises(ConfigError, match=r"^plmnInfoList\.snssai: a modification cannot change the slice's S-NSSAI$"):
        orch.modify_slice("mar", scenario_profile(orch.scenario, 1))
    with pytest.raises(NotFoundError, match=r"^NetworkSlice=nope: no such slice$"):
        orch.modify_slice("nope", scenario_profile(orch.scenario, 0))


@pytest.mark.parametrize("scenario", ["testbed-v0", "metro-v0"])
def test_feasibility_is_monotone_in_the_latency_sla(scenario: str) -> None:
    o = make(scenario, n_envs=1)
    k = next(i for i, s in enumerate(o.scenario.spec.slices) if s.sla.latency_ms is not None)
    sla = float(o.scenario.spec.slices[k].sla.latency_ms)  # type: ignore[arg-type]
    slice_id = o.scenario.spec.slices[k].name
    feasible_seen = False
    previous = np.full(N_RESOURCES, np.inf)
    for latency in sla * np.array([0.3, 0.5, 0.7, 0.9, 1.0, 1.2, 1.6, 2.5, 4.0, 10.0]):
        result = o.feasibility(profile(o, k, dLLatency=float(latency)), slice_id=slice_id)
        assert result.feasible or not feasible_seen, latency  # once feasible, every looser SLA is feasible
        feasible_seen |= result.feasible
        if result.feasible:
            shares = result.reservation[list(SHARE_ROWS)]
            assert (shares <= previous[list(SHARE_ROWS)]).all(), latency
            previous = result.reservation
        else:
            assert result.reason
            np.testing.assert_array_equal(result.reservation, 0.0)
    assert feasible_seen


_SHARED: list[Orchestrator] = []


def _shared_testbed() -> Orchestrator:
    """One orchestrator for read-only feasibility queries (created once per session)."""
    if not _SHARED:
        _SHARED.append(make(n_envs=1))
    return _SHARED[0]


@settings(max_examples=10, deadline=None, database=None)
@given(a=st.floats(110.0, 3000.0), b=st.floats(110.0, 3000.0))
def test_a_looser_latency_never_needs_a_larger_reservation(a: float, b: float) -> None:
    o = _shared_testbed()
    tight, loose = sorted((a, b))
    r_tight = o.feasibility(profile(o, 0, dLLatency=tight), slice_id="mar")
    r_loose = o.feasibility(profile(o, 0, dLLatency=loose), slice_id="mar")
    if r_tight.feasible:
        assert r_loose.feasible
        assert (r_loose.reservation[list(SHARE_ROWS)] <= r_tight.reservation[list(SHARE_ROWS)]).all()


# ---------------------------------------------------------------------------------------------- assurance


def test_sla_events_are_raised_and_cleared(orch: Orchestrator) -> None:
    result = orch.step(_starve_mar(orch))
    assert (result.cost[:, 0] > 0.0).all()
    raised = [e for e in orch.assurance.events if e.slice_name == "mar"]
    assert [(e.env, e.kind, e.slot) for e in raised] == [(env, "raised", 1) for env in range(N_ENVS)]
    for e in raised:
        assert "latency" in e.terms
        assert e.cost == pytest.approx(result.cost[e.env, 0])
    orch.step(_starve_mar(orch))  # still violating: no new event
    assert [e for e in orch.assurance.events if e.slice_name == "mar"] == raised
    result = orch.step(_feed_mar(orch))
    np.testing.assert_array_equal(result.cost[:, 0], 0.0)
    cleared = [e for e in orch.assurance.events if e.slice_name == "mar"][len(raised) :]
    assert [(e.env, e.kind, e.slot, e.cost, e.terms) for e in cleared] == [
        (env, "cleared", 3, 0.0, ()) for env in range(N_ENVS)
    ]


def test_metrics_follow_the_documented_names(orch: Orchestrator) -> None:
    assert orch.metrics() == {
        "sla/slots": 0.0, "sla/violation_rate": 0.0, "orchestrator/slots": 0.0, "orchestrator/active_slices": 3.0,
        **{f"orchestrator/faults/{d}": 0.0 for d in ("ran", "tn", "cn", "edge")},
    }  # fmt: skip
    costs = [orch.step(a).cost for a in (_starve_mar(orch), _feed_mar(orch), initial(orch), _starve_mar(orch))]
    m = orch.metrics()
    expected_keys = {"sla/slots", "sla/violation_rate", "orchestrator/slots", "orchestrator/active_slices"}
    expected_keys |= {f"orchestrator/faults/{d}" for d in ("ran", "tn", "cn", "edge")}
    expected_keys |= {f"sla/{kind}/{name}" for kind in ("violation_rate", "cost_mean") for name in SLICES}
    assert set(m) == expected_keys
    c = np.concatenate(costs)  # (env, slot) pairs
    assert m["sla/slots"] == float(c.shape[0]) == 4.0 * N_ENVS
    assert m["orchestrator/slots"] == 4.0
    assert m["sla/violation_rate"] == pytest.approx((c > 0).any(axis=1).mean())
    for k, name in enumerate(SLICES):
        assert m[f"sla/violation_rate/{name}"] == pytest.approx((c[:, k] > 0).mean())
        assert m[f"sla/cost_mean/{name}"] == pytest.approx(c[:, k].mean())
    assert m["sla/violation_rate/mar"] == pytest.approx(0.5)  # starved in 2 slots of 4


def test_measurements_per_domain(orch: Orchestrator) -> None:
    assert orch.measurements() == {}
    result = orch.step(initial(orch))
    meas = orch.measurements()
    assert tuple(meas) == DOMAINS
    assert set(meas["tn"]) == {"TN.DelayMean"}
    np.testing.assert_array_equal(meas["tn"]["TN.DelayMean"], result.kpis.tn_ms)
    for values in meas.values():
        for v in values.values():
            assert v.shape == (N_ENVS, 3)


def test_events_can_be_switched_off_without_changing_costs_or_statistics() -> None:
    on = Orchestrator.create("testbed-v0", n_envs=4, seed=3, backend="numpy")
    off = Orchestrator.create("testbed-v0", n_envs=4, seed=3, backend="numpy", events=False)
    for action in (_starve_mar(on), _feed_mar(on), _starve_mar(on)):
        np.testing.assert_array_equal(on.step(action).cost, off.step(action).cost)
    assert on.assurance.events
    assert off.assurance.events == []
    assert on.metrics() == off.metrics()
