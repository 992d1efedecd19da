"""Behaviour of the batched simulator step: seeding, Markov carry-over, enforcement delay, monotonicity,
robustness, masked reset, usage accounting and the MAR calibration against the testbed."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from netslice.network import scenarios
from netslice.network.allocation import (
    EDGE_CPU,
    MCS_DL,
    MCS_UL,
    PRB_DL,
    PRB_UL,
    RESOURCES,
    SHARE_ROWS,
    equal_split,
)
from netslice.network.kernel import Kpis, SimParams, SimState, reset, reset_envs, step
from netslice.network.scenarios import Scenario

Data = dict[str, Any]
KPI_FIELDS = tuple(f.name for f in dataclasses.fields(Kpis))
#: KPI -> +1 if more resource must not lower it, -1 if more resource must not raise it.
KPI_DIRECTION = {
    "latency_ms": -1,
    "latency_tail_ms": -1,
    "thp_dl_kbps": 1,
    "thp_ul_kbps": 1,
    "fps": 1,
    "reliability": 1,
}
MONOTONE_RTOL = 1e-9
HYPOTHESIS = settings(max_examples=60, deadline=None, database=None)
#: The robustness property runs on every registered scenario (each steps in milliseconds).
ROBUST_SCENARIOS = scenarios.available()


# ---------------------------------------------------------------------------------------------- helpers


def _step(params: SimParams, state: SimState, alloc: np.ndarray, seed: int = 0) -> tuple[SimState, Kpis]:
    return step(params, state, alloc, np.random.default_rng(seed))


def _initial(params: SimParams, n_envs: int = 1) -> np.ndarray:
    return np.broadcast_to(params.initial_allocation, (n_envs, *params.initial_allocation.shape)).copy()


def _fresh(params: SimParams, n_envs: int = 1, seed: int = 0) -> SimState:
    return reset(params, n_envs, np.random.default_rng(seed))


def _with_load(state: SimState, load: np.ndarray) -> SimState:
    return dataclasses.replace(state, traffic=dataclasses.replace(state.traffic, load=load))


def _empty_queues(state: SimState) -> SimState:
    return dataclasses.replace(
        state,
        q_ran=np.zeros_like(state.q_ran),
        q_tn=np.zeros_like(state.q_tn),
        q_cn=np.zeros_like(state.q_cn),
        q_edge=np.zeros_like(state.q_edge),
    )


def _state_arrays(state: SimState) -> dict[str, np.ndarray]:
    arrays = {f.name: getattr(state, f.name) for f in dataclasses.fields(state) if f.name != "traffic"}
    traffic = state.traffic
    arrays.update({f"traffic.{f.name}": getattr(traffic, f.name) for f in dataclasses.fields(traffic)})
    return arrays


def _assert_kpis_close(a: Kpis, b: Kpis, rtol: float = 0.0) -> None:
    for name in KPI_FIELDS:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=rtol, atol=0.0, err_msg=name)


def _slice_index(params: SimParams, name: str) -> int:
    return params.slice_names.index(name)


def _build(data: Data) -> SimParams:
    return scenarios.from_yaml_text(yaml.safe_dump(data)).params


# ---------------------------------------------------------------------------------------- (a) seeding


def _rollout(params: SimParams, seed: int, n_steps: int = 10, n_envs: int = 3) -> list[Kpis]:
    rng = np.random.default_rng(seed)
    state = reset(params, n_envs, rng)
    alloc = _initial(params, n_envs)
    out = []
    for _ in range(n_steps):
        state, kpis = step(params, state, alloc, rng)
        out.append(kpis)
    return out


def test_same_seed_gives_identical_kpis_whatever_the_global_rng(testbed: Scenario) -> None:
    np.random.seed(1)  # noqa: NPY002 -- the legacy global RNG must not matter
    first = _rollout(testbed.params, seed=7)
    np.random.seed(2)  # noqa: NPY002
    second = _rollout(testbed.params, seed=7)
    for a, b in zip(first, second, strict=True):
        _assert_kpis_close(a, b)


def test_different_seeds_give_different_kpis(testbed: Scenario) -> None:
    first, second = _rollout(testbed.params, seed=7), _rollout(testbed.params, seed=8)
    for a, b in zip(first, second, strict=True):
        assert not np.array_equal(a.active_ues, b.active_ues)
        assert not np.array_equal(a.latency_ms, b.latency_ms)


def test_envs_of_one_batch_get_different_traffic(testbed: Scenario) -> None:
    kpis = _rollout(testbed.params, seed=7, n_steps=1)[0]
    assert len({tuple(row) for row in kpis.active_ues}) == kpis.active_ues.shape[0]


# ---------------------------------------------------------------------------------------- (b) Markov


def _overloaded_video(params: SimParams) -> tuple[SimState, Kpis, np.ndarray]:
    """One slot with 2 % of the DL PRBs for the video slice (6 Mbit/s per UE cannot fit)."""
    video = _slice_index(params, "video")
    tiny = _initial(params)
    tiny[0, PRB_DL, video] = 0.02
    state, kpis = _step(params, _fresh(params), tiny, seed=1)
    return state, kpis, tiny


def test_overloaded_slot_fills_the_ran_buffer_and_loses_data(testbed: Scenario) -> None:
    params = testbed.params
    video = _slice_index(params, "video")
    state, kpis, _ = _overloaded_video(params)
    buffer_frames = params.ran.buffer_bits / params.service.job_bits[1, video]
    np.testing.assert_allclose(state.q_ran[0, 1, :, video], buffer_frames)
    assert kpis.reliability[0, video] < 0.9
    assert kpis.fps[0, video] < 25.0
    others = [k for k in range(params.n_slices) if k != video]
    assert np.all(state.q_ran[0, :, :, others] == 0.0)


@pytest.mark.parametrize("next_alloc", ["initial", "overloaded"])
def test_backlog_carries_over_and_raises_next_slot_latency(testbed: Scenario, next_alloc: str) -> None:
    params = testbed.params
    video = _slice_index(params, "video")
    carried, _, tiny = _overloaded_video(params)
    alloc = _initial(params) if next_alloc == "initial" else tiny
    _, with_backlog = _step(params, carried, alloc, seed=2)
    _, from_empty = _step(params, _empty_queues(carried), alloc, seed=2)
    assert with_backlog.latency_ms[0, video] > from_empty.latency_ms[0, video]
    assert with_backlog.ran_ms[0, video] > from_empty.ran_ms[0, video]
    others = [k for k in range(params.n_slices) if k != video]
    np.testing.assert_array_equal(with_backlog.latency_ms[0, others], from_empty.latency_ms[0, others])


def test_backlog_drains_once_capacity_is_back(testbed: Scenario) -> None:
    params = testbed.params
    carried, _, _ = _overloaded_video(params)
    drained, _ = _step(params, carried, _initial(params), seed=2)
    assert np.all(drained.q_ran == 0.0)


def test_step_does_not_modify_its_inputs(testbed: Scenario) -> None:
    params = testbed.params
    state, _, _ = _overloaded_video(params)  # non-empty queues
    alloc = equal_split(1, params.n_slices)
    before = {name: value.copy() for name, value in _state_arrays(state).items()}
    alloc_before = alloc.copy()
    next_state, _ = _step(params, state, alloc)
    for name, value in _state_arrays(state).items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    np.testing.assert_array_equal(alloc, alloc_before)
    assert next_state.alloc is not alloc
    assert np.all(next_state.t == state.t + 1)


# ---------------------------------------------------------------------------------------- (c) enforcement

#: Enforcement delay (ms) per domain on a 2 s slot, and the fraction of the slot it covers per resource row.
DELAYS_MS = {"ran_ms": 500, "tn_ms": 1000, "cn_ms": 2000, "edge_ms": 0}
PHI = np.array([0.25, 0.25, 0.25, 0.25, 0.5, 1.0, 0.0])[:, None]


def _short_slot(testbed_dict: Data, delays_ms: dict[str, float]) -> SimParams:
    data = copy.deepcopy(testbed_dict)
    data["slot_s"] = 2.0
    data["enforcement"] = dict(delays_ms)
    return _build(data)


def _two_allocations(params: SimParams) -> tuple[np.ndarray, np.ndarray]:
    old = _initial(params)
    new = equal_split(1, params.n_slices)
    new[0, [MCS_UL, MCS_DL]] = np.array([[0.0, 0.35, 0.7], [0.2, 0.0, 1.0]])
    return old, new


def test_enforcement_delay_runs_the_time_average_of_old_and_new_allocation(testbed_dict: Data) -> None:
    delayed = _short_slot(testbed_dict, DELAYS_MS)
    instant = _short_slot(testbed_dict, dict.fromkeys(DELAYS_MS, 0))
    np.testing.assert_allclose(delayed.enforce_fraction, PHI[:, 0])
    old, new = _two_allocations(delayed)
    state = dataclasses.replace(_fresh(delayed), alloc=old)

    next_delayed, kpis_delayed = _step(delayed, state, new)
    _, kpis_averaged = _step(instant, state, PHI * old + (1.0 - PHI) * new)
    _, kpis_new = _step(instant, state, new)

    _assert_kpis_close(kpis_delayed, kpis_averaged, rtol=1e-12)
    assert not np.allclose(kpis_delayed.latency_ms, kpis_new.latency_ms)  # the delay matters
    np.testing.assert_array_equal(next_delayed.alloc, new)  # the new allocation is in force afterwards


def test_delay_of_a_whole_slot_keeps_the_old_allocation(testbed_dict: Data) -> None:
    frozen = _short_slot(testbed_dict, dict.fromkeys(DELAYS_MS, 5000))
    old, new = _two_allocations(frozen)
    state = dataclasses.replace(_fresh(frozen), alloc=old)
    _assert_kpis_close(_step(frozen, state, new)[1], _step(frozen, state, old)[1])


# ---------------------------------------------------------------------------------------------- strategies


@st.composite
def _share_row(draw: st.DrawFn, n_slices: int, max_total: float) -> np.ndarray:
    """A share row: all zeros, one slice with max_total, or random shares summing to at most max_total."""
    kind = draw(st.sampled_from(["zeros", "one-hot", "random"]))
    row = np.zeros(n_slices)
    if kind == "one-hot":
        row[draw(st.integers(0, n_slices - 1))] = max_total
    elif kind == "random":
        raw = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n_slices, max_size=n_slices)))
        total = draw(st.floats(0.0, max_total))
        if raw.sum() > 0.0:
            row = np.minimum(raw / raw.sum() * total, 1.0)
    return row


@st.composite
def _allocation(draw: st.DrawFn, params: SimParams, max_total: float = 1.0) -> np.ndarray:
    """A valid allocation ``(1, 7, n_slices)``; edge shares are drawn per edge site."""
    n = params.n_slices
    alloc = np.zeros((1, len(RESOURCES), n))
    for row in SHARE_ROWS:
        if row == EDGE_CPU:
            for site in np.unique(params.edge.site_of_slice):
                members = np.flatnonzero(params.edge.site_of_slice == site)
                alloc[0, row, members] = draw(_share_row(members.size, max_total))
        else:
            alloc[0, row] = draw(_share_row(n, max_total))
    mcs = st.lists(st.floats(0.0, 1.0), min_size=2 * n, max_size=2 * n)
    alloc[0, [MCS_UL, MCS_DL]] = np.reshape(draw(mcs), (2, n))
    return alloc


@st.composite
def _state(draw: st.DrawFn, params: SimParams, max_load_factor: float) -> SimState:
    """A reachable-looking state: random traffic, load 0..max_load_factor x scale, partly filled buffers."""
    state = _fresh(params, seed=draw(st.integers(0, 2**32 - 1)))
    factor = st.floats(0.0, max_load_factor)
    load = np.array(draw(st.lists(factor, min_size=params.n_slices, max_size=params.n_slices)))
    fill = draw(st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4))
    svc = params.service
    ran_cap = (params.ran.buffer_bits / svc.job_bits)[None, :, None, :]
    tn_cap = (params.transport.buffer_bits / svc.job_bits)[None, :, :, None]
    return dataclasses.replace(
        _with_load(state, load[None, :] * params.traffic.scale),
        q_ran=np.broadcast_to(fill[0] * ran_cap, state.q_ran.shape).copy(),
        q_tn=np.broadcast_to(fill[1] * tn_cap, state.q_tn.shape).copy(),
        q_cn=np.full(state.q_cn.shape, fill[2] * params.core.buffer_pkts),
        q_edge=np.full(state.q_edge.shape, fill[3] * params.edge.buffer_jobs),
        alloc=draw(_allocation(params)),
    )


# ---------------------------------------------------------------------------------------- (d) monotonicity


def _raise_share(params: SimParams, alloc: np.ndarray, row: int, k: int, fraction: float) -> np.ndarray:
    """Give slice k ``fraction`` of the spare share of its node on ``row`` (keeps the allocation valid)."""
    if row == EDGE_CPU:
        peers = params.edge.site_of_slice == params.edge.site_of_slice[k]
        spare = 1.0 - alloc[0, row, peers].sum()
    else:
        spare = 1.0 - alloc[0, row].sum()
    raised = alloc.copy()
    raised[0, row, k] += fraction * spare
    return raised


def _worsened(before: Kpis, after: Kpis, k: int) -> list[str]:
    bad = []
    for name, sign in KPI_DIRECTION.items():
        old, new = float(getattr(before, name)[0, k]), float(getattr(after, name)[0, k])
        if sign * (new - old) < -MONOTONE_RTOL * max(abs(old), abs(new)):
            bad.append(f"{name}: {old!r} -> {new!r}")
    return bad


def _monotone_cases() -> list[Any]:
    rows = [(RESOURCES[r], "all") for r in SHARE_ROWS] + [("edge_cpu", "open-loop"), ("edge_cpu", "interactive")]
    return [pytest.param(row, group, id=f"{row}-{group}") for row, group in rows]


def _slices_of(params: SimParams, group: str) -> list[int]:
    interactive = params.service.interactive.tolist()
    return [k for k, inter in enumerate(interactive) if group == "all" or inter == (group == "interactive")]


@pytest.mark.parametrize(("row_name", "group"), _monotone_cases())
@HYPOTHESIS
@given(data=st.data())
def test_more_of_a_share_never_worsens_the_slice_in_the_same_slot(
    testbed: Scenario, row_name: str, group: str, data: st.DataObject
) -> None:
    params = testbed.params
    state = data.draw(_state(params, max_load_factor=20.0), label="state")
    alloc = data.draw(_allocation(params, max_total=0.95), label="allocation")
    k = data.draw(st.sampled_from(_slices_of(params, group)), label="slice")
    fraction = data.draw(st.floats(0.01, 1.0), label="fraction of the spare share")
    row = RESOURCES.index(row_name)
    _, before = _step(params, state, alloc)
    _, after = _step(params, state, _raise_share(params, alloc, row, k, fraction))
    assert not _worsened(before, after, k), (params.slice_names[k], _worsened(before, after, k))


def _mar_latency(params: SimParams, n_ues: float, prb_ul: float, edge_cores: float) -> float:
    mar = _slice_index(params, "mar")
    alloc = _initial(params)
    alloc[0, PRB_UL, mar] = prb_ul
    alloc[0, EDGE_CPU, mar] = edge_cores / params.edge.cores[params.edge.site_of_slice[mar]]
    load = _fresh(params).traffic.load.copy()
    load[0, mar] = n_ues
    state = dataclasses.replace(_with_load(_fresh(params), load), alloc=alloc)
    return float(_step(params, state, alloc)[1].latency_ms[0, mar])


def test_mar_latency_does_not_rise_with_more_edge_cores(testbed: Scenario) -> None:
    latencies = [_mar_latency(testbed.params, 4.0, prb_ul=0.05, edge_cores=c) for c in (1.0, 2.0, 3.0)]
    assert latencies == sorted(latencies, reverse=True), latencies


def test_tail_latency_is_not_below_the_mean_without_edge_cpu(testbed: Scenario) -> None:
    params = testbed.params
    mar = _slice_index(params, "mar")
    alloc = _initial(params)
    alloc[0, EDGE_CPU, mar] = 0.0
    state = dataclasses.replace(_fresh(params), alloc=alloc)
    kpis = _step(params, state, alloc)[1]
    assert kpis.latency_tail_ms[0, mar] >= kpis.latency_ms[0, mar]


# ---------------------------------------------------------------------------------------- (e) robustness


def _assert_finite_and_in_range(state: SimState, kpis: Kpis) -> None:
    for name in KPI_FIELDS:
        value = getattr(kpis, name)
        assert np.all(np.isfinite(value)), name
        assert np.all(value >= 0.0), name
    for name, value in _state_arrays(state).items():
        assert np.all(np.isfinite(value)), name
    assert np.all(kpis.reliability <= 1.0 + 1e-12)  # cell shares sum to 1 only up to rounding
    assert np.all(kpis.thp_dl_kbps <= kpis.offered_dl_kbps * (1.0 + 1e-9))
    assert np.all(kpis.thp_ul_kbps <= kpis.offered_ul_kbps * (1.0 + 1e-9))


@pytest.mark.parametrize("name", ROBUST_SCENARIOS)
@HYPOTHESIS
@given(data=st.data())
def test_kpis_and_state_stay_finite_for_any_valid_allocation_and_load(name: str, data: st.DataObject) -> None:
    params = scenarios.load(name).params
    state = data.draw(_state(params, max_load_factor=100.0), label="state")
    alloc = data.draw(_allocation(params), label="allocation")
    for seed in range(2):  # the second slot starts from whatever the first one left
        state, kpis = _step(params, state, alloc, seed)
        _assert_finite_and_in_range(state, kpis)


# ---------------------------------------------------------------------------------------- (f) masked reset


def test_masked_reset_resets_only_masked_envs(testbed: Scenario) -> None:
    params = testbed.params
    rng = np.random.default_rng(3)
    state = reset(params, 4, rng)
    overload = _initial(params, 4)
    overload[:, PRB_DL] *= 0.05
    for _ in range(3):
        state, _ = step(params, state, overload, rng)
    assert np.all(state.q_ran.sum(axis=(1, 2, 3)) > 0.0)  # something to reset

    mask = np.array([True, False, True, False])
    before_arrays = {name: value.copy() for name, value in _state_arrays(state).items()}
    after = reset_envs(params, state, mask, rng)
    after_arrays = _state_arrays(after)
    for name, value in _state_arrays(state).items():
        np.testing.assert_array_equal(value, before_arrays[name], err_msg=f"input state modified: {name}")
    for name, value in after_arrays.items():
        np.testing.assert_array_equal(value[~mask], before_arrays[name][~mask], err_msg=name)
    assert np.all(after.t[mask] == 0)
    for queue in (after.q_ran, after.q_tn, after.q_cn, after.q_edge):
        assert np.all(queue[mask] == 0.0)
    np.testing.assert_array_equal(after.alloc[mask], _initial(params, 2))


def test_reset_envs_with_a_full_mask_draws_like_reset(testbed: Scenario) -> None:
    params = testbed.params
    stale, _ = _step(params, _fresh(params, 4, seed=1), _initial(params, 4))
    full = reset_envs(params, stale, np.ones(4, dtype=bool), np.random.default_rng(5))
    fresh = _fresh(params, 4, seed=5)
    for name, value in _state_arrays(full).items():
        np.testing.assert_array_equal(value, _state_arrays(fresh)[name], err_msg=name)


def test_reset_envs_with_an_empty_mask_changes_nothing(testbed: Scenario) -> None:
    params = testbed.params
    state = _fresh(params, 3)
    rng = np.random.default_rng(9)
    after = reset_envs(params, state, np.zeros(3, dtype=bool), rng)
    for name, value in _state_arrays(after).items():
        np.testing.assert_array_equal(value, _state_arrays(state)[name], err_msg=name)
    assert rng.random() == np.random.default_rng(9).random()  # no draws were made


# ---------------------------------------------------------------------------------------- (g) usage


def _usage_of(params: SimParams, alloc: np.ndarray) -> Kpis:
    state = dataclasses.replace(_fresh(params), alloc=alloc)  # no enforcement mixing
    return _step(params, state, alloc)[1]


def test_equal_split_uses_every_domain_fully(testbed: Scenario) -> None:
    kpis = _usage_of(testbed.params, equal_split(1, testbed.params.n_slices))
    np.testing.assert_allclose(kpis.usage, [[1.0, 1.0, 1.0, 1.0]])
    np.testing.assert_allclose(kpis.slice_usage.sum(axis=2), kpis.usage)


def test_usage_is_the_sum_of_shares_per_domain(testbed: Scenario) -> None:
    alloc = _initial(testbed.params)
    kpis = _usage_of(testbed.params, alloc)
    a = alloc[0]
    expected = [0.5 * (a[PRB_UL].sum() + a[PRB_DL].sum()), a[4].sum(), a[5].sum(), a[EDGE_CPU].sum()]
    np.testing.assert_allclose(kpis.usage[0], expected)


def test_edge_usage_weights_each_site_by_its_cores(testbed_dict: Data) -> None:
    testbed_dict["edge"]["sites"].append({"name": "edge2", "node": "edge-host", "cores": 2})
    testbed_dict["slices"][2]["edge_site"] = "edge2"
    params = _build(testbed_dict)
    kpis = _usage_of(params, equal_split(1, params.n_slices))
    c1 = testbed_dict["edge"]["sites"][0]["cores"]
    # slices 0 and 1 get 1/3 of site 1's cores, slice 2 gets 1/3 of 2 cores, out of c1 + 2 cores.
    np.testing.assert_allclose(kpis.usage[0], [1.0, 1.0, 1.0, (2 * c1 / 3 + 2.0 / 3.0) / (c1 + 2.0)])


# ---------------------------------------------------------------------------------------- (h) calibration

#: Mean end-to-end MAR latency measured on the authors' testbed with 1..4 UEs (Liu, Choi, Han, "Atlas", ACM CoNEXT 2022;
#: github.com/liuqiangus/Atlas app_eval/real_indiv).
MAR_MEASURED_MS = {1: 215.0, 2: 320.0, 3: 432.0, 4: 538.0}


@pytest.mark.parametrize(("n_ues", "measured_ms"), MAR_MEASURED_MS.items())
def test_mar_latency_matches_the_testbed_measurements(testbed: Scenario, n_ues: int, measured_ms: float) -> None:
    params = testbed.params
    mar = _slice_index(params, "mar")
    edge_share = params.initial_allocation[EDGE_CPU, mar]
    assert edge_share * params.edge.cores[params.edge.site_of_slice[mar]] == pytest.approx(1.0, rel=1e-6)
    state = _fresh(params)
    load = state.traffic.load.copy()
    load[0, mar] = n_ues
    kpis = _step(params, _with_load(state, load), _initial(params))[1]
    assert kpis.latency_ms[0, mar] == pytest.approx(measured_ms, rel=0.05)
