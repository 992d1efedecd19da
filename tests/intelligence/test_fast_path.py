"""The single-env fast paths give the same bits as the general code they replace.

Each cheaper computation (the encoder's bounded KPI features and cost, the assurance's SLA cost with
precomputed term columns, the domain managers' validation of the whole allocation at once) is checked
against the plain formula it replaces, on values that hit the special cases (NaN, +-inf, -0.0, zero
references), and the single env against the batched env at n_envs = 1 on random actions.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np
import pytest

from netslice.errors import InvalidAllocationError
from netslice.intelligence.envs.features import (
    ALLOC_START,
    COST_INDEX,
    N_SLICE_FEATURES,
    SLICE_HIGH,
    SLICE_LOW,
    Encoder,
    _bounded,
)
from netslice.intelligence.envs.options import clip_action
from netslice.intelligence.envs.single import SliceEnv
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.envs.wrappers import ScaledShareAction, scaled_to_share
from netslice.network import scenarios
from netslice.network.kernel import Kpis
from netslice.network.scenarios.sla import SLA_TERMS, SlaTargets, sla_cost, sla_margin, term_columns, term_shortfall
from netslice.orchestration.agent_api import Observation
from netslice.orchestration.domains import make_managers
from netslice.orchestration.enforcement import DomainFault, enforce_all, row_index
from netslice.orchestration.lifecycle import targets_with
from netslice.orchestration.orchestrator import Orchestrator

SPECIAL = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-300, -1e-300, 1.0, -1.0, 5.0, 1e308, -1e308])


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _random_kpis(rng: np.random.Generator, n_envs: int, n_slices: int) -> Kpis:
    """KPIs of random magnitudes, about a quarter of them special values."""
    values = {}
    for f in fields(Kpis):
        shape = {"hour": (n_envs,), "usage": (n_envs, 4), "slice_usage": (n_envs, 4, n_slices)}.get(
            f.name, (n_envs, n_slices)
        )
        x = rng.lognormal(0.0, 3.0, shape) * rng.choice([-1.0, 1.0, 1.0, 1.0], shape)
        special = rng.random(shape) < 0.25
        x[special] = rng.choice(SPECIAL, int(special.sum()))
        values[f.name] = x
    return Kpis(**values)


def _old_bounded(x: np.ndarray, low: float, high: float) -> np.ndarray:
    out: np.ndarray = np.clip(np.nan_to_num(x, nan=high, posinf=high, neginf=low), low, high)
    return out


def _old_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.where(den > 0.0, num / np.where(den > 0.0, den, 1.0), 0.0)
    return out


def _old_kpi_features(enc: Encoder, kpis: Kpis) -> np.ndarray:
    """The encoder's KPI features as first written: one bounded array per feature, stacked."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        feats = [
            _old_ratio(kpis.active_ues, enc.ue_scale),
            _old_ratio(kpis.offered_dl_kbps, enc.ref_dl_kbps),
            _old_ratio(kpis.offered_ul_kbps, enc.ref_ul_kbps),
            np.log1p(np.maximum(kpis.latency_ms, 0.0) / 100.0),
            np.log10(1.0 + 1e6 * np.clip(1.0 - kpis.reliability, 0.0, 1.0)) / 6.0,
            kpis.fps / 30.0,
        ]
    return np.stack([_old_bounded(f, SLICE_LOW[i], SLICE_HIGH[i]) for i, f in enumerate(feats)], axis=-1)


def test_bounded_equals_nan_to_num_then_clip() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([SPECIAL, rng.normal(0.0, 10.0, 200)])
    for low, high in [(0.0, 1.0), (0.0, 5.0), (-1.0, 1.0), (0.0, 7.0 / 6.0)]:
        assert _same_bits(_bounded(x, low, high), _old_bounded(x, low, high))
    assert _same_bits(_bounded(np.array([1.0, 2.0]), 0.0, 1.0), np.array([1.0, 1.0]))  # no NaN: no fix-up


def _old_slice_features(enc: Encoder, obs: Observation) -> np.ndarray:
    """The encoder's per-slice features as first written."""
    out = np.zeros((obs.allocation.shape[0], enc.n_slices, N_SLICE_FEATURES))
    assert obs.kpis is not None
    out[:, :, :ALLOC_START] = _old_kpi_features(enc, obs.kpis)
    out[:, :, ALLOC_START : ALLOC_START + 7] = obs.allocation.swapaxes(1, 2)
    out[:, :, COST_INDEX] = _old_bounded(obs.cost, 0.0, 1.0)
    return np.clip(out, SLICE_LOW, SLICE_HIGH)


@pytest.mark.parametrize("scenario", ["testbed-v0", "city-v0"])
def test_slice_features_equal_the_per_feature_formula(scenario: str) -> None:
    # The KPI features are bounded in one pass now; they may differ from the old per-feature arrays in the
    # sign of a zero only, which the final clip of slice_features (array bounds) makes +0.0 in both.
    sc = scenarios.load(scenario)
    enc = Encoder.from_scenario(sc)
    no_reference = replace(enc, ref_ul_kbps=np.where(np.arange(enc.n_slices) == 0, 0.0, enc.ref_ul_kbps))
    rng = np.random.default_rng(1)
    for n_envs in (1, 7):
        kpis = _random_kpis(rng, n_envs, enc.n_slices)
        cost = rng.choice(SPECIAL, (n_envs, enc.n_slices))
        alloc = rng.uniform(0.0, 1.0, (n_envs, 7, enc.n_slices))
        hour = rng.uniform(0.0, 24.0, n_envs)
        obs = Observation(0, hour, np.zeros(n_envs, dtype=np.int64), np.ones(enc.n_slices, dtype=bool),
                          alloc, kpis, cost)  # fmt: skip
        for e in (enc, no_reference):
            with np.errstate(all="ignore"):  # extreme values overflow in both
                fast, expected = e.slice_features(obs), _old_slice_features(e, obs)
            assert _same_bits(fast, expected)
            assert _same_bits(e.encode(obs)[:, -2:], e.time_features(hour).astype(np.float32))


def _old_sla_cost(targets: SlaTargets, kpis: Any) -> Any:
    """sla_cost as it was: columns found on every call, nan_to_num on every term."""
    cost = np.zeros(kpis.latency_ms.shape)
    for name in SLA_TERMS:
        cols = np.flatnonzero(~np.isnan(getattr(targets, name)))
        if cols.size:
            with np.errstate(invalid="ignore", divide="ignore"):
                term = np.nan_to_num(term_shortfall(name, kpis, targets, cols))
            cost[:, cols] = np.maximum(cost[:, cols], term)
    return cost


@pytest.mark.parametrize("scenario", ["testbed-v0", "city-v0"])
def test_sla_cost_with_precomputed_terms_equals_the_old_formula(scenario: str) -> None:
    sc = scenarios.load(scenario)
    base = SlaTargets.from_spec(sc.spec)
    variants = [base, targets_with(base, 0, {"latency_ms": 5.0, "thp_dl_kbps": 1e3, "reliability": 0.999})]
    variants.append(targets_with(base, sc.params.n_slices - 1, {}))  # a slice without any term
    rng = np.random.default_rng(2)
    for targets in variants:
        terms = term_columns(targets)
        for n_envs in (1, 5):
            kpis = _random_kpis(rng, n_envs, sc.params.n_slices)
            with np.errstate(all="ignore"):  # extreme values overflow in both
                expected = _old_sla_cost(targets, kpis)
                fast, plain = sla_cost(targets, kpis, terms), sla_cost(targets, kpis)
                margin = sla_margin(targets, kpis, terms)  # the same loop without the floor at 0
            assert _same_bits(fast, expected)
            assert _same_bits(plain, expected)
            finite = expected < np.finfo(np.float64).max  # an infinite shortfall: cost max-float, margin term 1
            np.testing.assert_array_equal(np.maximum(margin, 0.0)[finite], expected[finite])
            assert np.array_equal(margin > 0.0, expected > 0.0)
            no_terms = np.all([np.isnan(getattr(targets, name)) for name in SLA_TERMS], axis=0)
            np.testing.assert_array_equal(margin[:, no_terms], -1.0)


def test_row_index_is_a_slice_for_consecutive_rows() -> None:
    assert row_index((0, 1, 2, 3)) == slice(0, 4)
    assert row_index((6,)) == slice(6, 7)
    assert row_index((0, 2)) == [0, 2]
    a = np.arange(2 * 7 * 3).reshape(2, 7, 3)
    for rows in [(0, 1, 2, 3), (4,), (1, 5), (6,)]:
        assert np.array_equal(a[:, row_index(rows), :], a[:, list(rows), :])


def _enforce(alloc: np.ndarray, *, hook_domain: str | None = None) -> tuple[dict[str, np.ndarray], list[DomainFault]]:
    params = scenarios.load("testbed-v0").params
    managers = make_managers(params, alloc.shape[0], {})
    if hook_domain is not None:

        def fail(part: np.ndarray) -> None:
            raise RuntimeError("injected")

        managers[hook_domain].fault_hook = fail
    out, faults = enforce_all(managers, alloc, slot=3)
    state = {name: m.in_force for name, m in managers.items()}
    state["out"] = out
    assert managers["ran"].rrm is not None
    state["rrm"] = managers["ran"].rrm.dedicated
    return state, faults


def test_enforce_all_validates_once_with_the_managers_rules() -> None:
    params = scenarios.load("testbed-v0").params
    rng = np.random.default_rng(3)
    valid = rng.uniform(0.0, 1.0 / params.n_slices, (4, 7, params.n_slices))
    state, faults = _enforce(valid)
    assert faults == []
    assert _same_bits(state["out"], valid)
    # Over capacity on the transport row only: only the tn manager refuses, with its own message.
    over = valid.copy()
    over[2, 4, :] = 0.6
    state, faults = _enforce(over)
    assert [(f.domain, f.kind) for f in faults] == [("tn", "error")]
    assert "tn[tn_bw]: shares on the node must sum to at most 1" in faults[0].message
    assert _same_bits(state["out"][:, 4], np.broadcast_to(params.initial_allocation[4], (4, params.n_slices)))
    assert _same_bits(state["out"][:, :4], over[:, :4])
    # Out of range on a RAN row: only the ran manager refuses.
    bad = valid.copy()
    bad[1, 0, 0] = 1.5
    _, faults = _enforce(bad)
    assert [f.domain for f in faults] == ["ran"]
    assert "ran[prb_ul]: must be in [0, 1]" in faults[0].message
    # Fault hooks still run on the validated path.
    state, faults = _enforce(valid, hook_domain="edge")
    assert [(f.domain, f.message) for f in faults] == [("edge", "RuntimeError: injected")]


@pytest.mark.parametrize("scenario", ["testbed-v0", "city-v0"])
def test_single_env_equals_the_batched_env_at_one_network(scenario: str) -> None:
    env = SliceEnv(scenario, reward="penalized", include_kpis=True, slots_per_episode=None, backend="numpy")
    venv = SliceVectorEnv(1, scenario, reward="penalized", include_kpis=True, slots_per_episode=None, backend="numpy")
    obs, _ = env.reset(seed=11)
    vobs, _ = venv.reset(seed=11)
    assert _same_bits(obs, vobs[0])
    rng = np.random.default_rng(4)
    for t in range(12):
        action = rng.uniform(-0.2, 1.2, env.action_space.shape).astype(np.float32)
        if t % 5 == 0:
            action[:] = 0.0  # starved slices: infinite latencies, NaN-prone KPIs
        obs, reward, _, _, info = env.step(action)
        vobs, vreward, _, _, vinfo = venv.step(action[None].astype(np.float64))
        assert _same_bits(obs, vobs[0])
        assert reward == float(vreward[0])
        for key in ("cost", "cost_raw", "usage"):
            assert _same_bits(info[key], vinfo[key][0])
        assert info["modified"] == bool(vinfo["modified"][0])
        for name, value in info["kpis"].items():
            assert _same_bits(value, vinfo["kpis"][name][0])


def test_the_kpi_features_raise_no_warning_where_the_encoder_skips_errstate() -> None:
    enc = Encoder.from_scenario(scenarios.load("testbed-v0"))
    assert enc._quiet  # every reference >= 1: no ratio can overflow
    rng = np.random.default_rng(7)
    kpis = _random_kpis(rng, 5, enc.n_slices)
    alloc, cost = rng.uniform(0.0, 1.0, (5, 7, enc.n_slices)), rng.choice(SPECIAL, (5, enc.n_slices))
    obs = Observation(0, np.zeros(5), np.zeros(5, dtype=np.int64), np.ones(enc.n_slices, dtype=bool), alloc, kpis, cost)
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        features = enc.slice_features(obs)
    with np.errstate(all="ignore"):
        assert _same_bits(features, _old_slice_features(enc, obs))
    small = replace(enc, ue_scale=enc.ue_scale * 1e-3)  # a reference < 1: the ratios may overflow, warnings off
    assert not small._quiet
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        small.slice_features(obs)


def test_one_envs_time_features_are_remembered_with_the_same_bits() -> None:
    enc = Encoder.from_scenario(scenarios.load("testbed-v0"))
    rng = np.random.default_rng(8)
    kpis = _random_kpis(rng, 1, enc.n_slices)
    alloc = rng.uniform(0.0, 1.0, (1, 7, enc.n_slices))
    for hour in [*rng.uniform(0.0, 24.0, 5), 0.0, 23.5, 0.0, 23.5]:  # new hours, then remembered ones
        obs = Observation(0, np.array([hour]), np.zeros(1, dtype=np.int64), np.ones(enc.n_slices, dtype=bool),
                          alloc, kpis, np.zeros((1, enc.n_slices)))  # fmt: skip
        with np.errstate(all="ignore"):
            flat = enc.encode(obs)
        assert _same_bits(flat[:, -2:], enc.time_features(np.array([hour])).astype(np.float32))


def test_clip_action_rejects_non_finite_entries_by_index_and_clips_huge_ones() -> None:
    for bad in (np.nan, np.inf, -np.inf):
        a = np.full(21, 0.5)
        a[4] = bad
        with pytest.raises(InvalidAllocationError, match=rf"action\[4\]: must be finite, got {bad}"):
            clip_action(a)
        batch = np.full((2, 21), 0.5)
        batch[1, 4] = bad
        with pytest.raises(InvalidAllocationError, match=r"action\[1, 4\]: must be finite"):
            clip_action(batch)
    clipped, size = clip_action(np.array([[1e308, -1e308, 0.5]] * 2))  # huge, finite: clipped, no error
    assert clipped.tolist() == [[1.0, 0.0, 0.5]] * 2
    assert size.tolist() == [1e308, 1e308]


def test_the_scaled_action_wrapper_follows_changes_of_its_map() -> None:
    env = ScaledShareAction(SliceEnv("testbed-v0", backend="numpy"))
    a = np.linspace(-5.0, 5.0, 21).astype(np.float32)
    assert _same_bits(env.action(a), scaled_to_share(a))
    env.center = 0.2
    assert _same_bits(env.action(a), scaled_to_share(a, center=0.2))


@pytest.mark.parametrize("n_envs", [1, 3])
def test_step_outputs_equal_encode_and_info(n_envs: int) -> None:
    sc = scenarios.load("testbed-v0")
    enc = Encoder.from_scenario(sc, include_kpis=True)
    orch = Orchestrator.create(sc, n_envs=n_envs, seed=9, backend="numpy")
    rng = np.random.default_rng(9)
    for t in range(6):
        action = rng.uniform(0.0, 0.6, (n_envs, 7, sc.params.n_slices))
        if t == 2:
            action[:, :, 0] = 0.0  # a starved slice: infinite latency, NaN-prone KPIs
        result = orch.step(action)
        copied = replace(result, observation=replace(result.observation, cost=result.cost.copy()))
        for res in (result, copied):  # the cost shared with the observation, or not
            for env in (None, 0):
                with np.errstate(all="ignore"):
                    flat, info = enc.step_outputs(res, env)
                    expected = enc.info(res, env)
                    assert _same_bits(flat, enc.encode(res.observation))
                assert info.keys() == expected.keys()
                for key in ("cost", "cost_raw", "usage", "modified"):
                    assert _same_bits(info[key], expected[key])
