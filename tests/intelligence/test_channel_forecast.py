"""The planner's channel forecast: the AR(1) predictive of the coming slot's shadowing, never the truth itself."""

from __future__ import annotations

import copy
from dataclasses import replace
from statistics import NormalDist

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.intelligence.policies.base import PolicyContext, allocation_for
from netslice.intelligence.policies.channel import ShadowForecast, robust_evaluate
from netslice.intelligence.policies.forecast import ForecastPlanner
from netslice.intelligence.run import make_policy
from netslice.network.scenarios import load
from netslice.orchestration.orchestrator import Orchestrator


def test_the_planner_never_reads_the_coming_slots_shadowing() -> None:
    orch = Orchestrator.create("metro-v0", n_envs=2, seed=3, events=False)
    causal, known = ForecastPlanner.create(), ForecastPlanner.create(known_channel=True)
    for _ in range(4):
        orch.step(allocation_for(causal, orch))
        allocation_for(known, orch)
    saved_causal, saved_known = copy.deepcopy(causal), copy.deepcopy(known)
    ctx, model = PolicyContext.of(orch), orch.planning_model()
    a_causal, a_known = causal.act_model(ctx, model), known.act_model(ctx, model)
    # Another coming slot: the channel the model holds changes by 6 dB, what was played and measured does not.
    other = replace(model, state=replace(model.state, shadow=model.state.shadow - 6.0))
    np.testing.assert_array_equal(saved_causal.act_model(ctx, other), a_causal)
    assert not np.allclose(saved_known.act_model(ctx, other), a_known)  # the clairvoyant variant reads it


def test_the_scenarios_are_the_ar1_predictive_from_the_last_slot_seen() -> None:
    ran = load("metro-v0").params.ran
    sigma, rho = ran.shadow_sigma_db, ran.shadow_rho
    f = ShadowForecast(points=3)
    s0 = np.full((2, 2, 1, 1), 1.5)
    s0[1] = -2.0
    z = 2.0
    # Slot 0 of an episode: the stationary prior N(0, sigma^2), whatever the true shadowing.
    first = f.scenarios(ran, s0, np.array([0, 0]), 0, z)
    np.testing.assert_allclose(first[:, :, 0, 0, 0], [[-z * sigma] * 2, [0.0] * 2, [z * sigma] * 2])
    # Slot 1: N(rho s0, sigma^2 (1 - rho^2)).
    s1 = s0 + 0.7
    one = f.scenarios(ran, s1, np.array([1, 1]), 1, z)
    std1 = sigma * np.sqrt(1 - rho**2)
    np.testing.assert_allclose(one[1], rho * s0)
    np.testing.assert_allclose(one[2] - one[1], np.full_like(s0, z * std1))
    # Slot 3 after skipping slot 2: two steps of the AR(1) from s1. Env 1 was reset in between (its episode index
    # advanced by less than the run's): the prior again.
    three = f.scenarios(ran, s1 * 3, np.array([3, 1]), 3, z)
    np.testing.assert_allclose(three[1, 0], rho**2 * s1[0])
    np.testing.assert_allclose(three[2, 0] - three[1, 0], np.full_like(s1[0], z * sigma * np.sqrt(1 - rho**4)))
    np.testing.assert_allclose(three[:, 1, 0, 0, 0], [-z * sigma, 0.0, z * sigma])


def test_the_forecast_band_holds_the_true_shadowing_as_often_as_its_quantile_says() -> None:
    orch = Orchestrator.create("metro-v0", n_envs=64, seed=5, events=False)
    ran = orch.scenario.params.ran
    q = 0.9
    z = NormalDist().inv_cdf(q)
    f = ShadowForecast(points=2)  # the two ends of the band: mean -/+ z std
    below, above = [], []
    for _ in range(12):
        obs, truth = orch.observation(), orch.sim.state.shadow
        lo, hi = f.scenarios(ran, truth, obs.episode_slot, obs.slot, z)
        below.append(truth < lo)
        above.append(truth > hi)
        orch.step(None)
    # Each tail holds 1 - q of the draws (64 envs x 2 directions x cells x slices x 12 slots).
    assert abs(np.mean(below) - (1 - q)) < 0.02, np.mean(below)
    assert abs(np.mean(above) - (1 - q)) < 0.02, np.mean(above)


def test_without_shadowing_the_channel_forecast_changes_nothing() -> None:
    orch = Orchestrator.create("testbed-v0", n_envs=3, seed=2, events=False)
    causal, known = ForecastPlanner.create(), ForecastPlanner.create(known_channel=True)
    for _ in range(5):
        a = allocation_for(causal, orch)
        np.testing.assert_array_equal(a, allocation_for(known, orch))
        orch.step(a)


def test_an_exact_resume_continues_the_channel_forecast() -> None:
    orch = Orchestrator.create("metro-v0", n_envs=2, seed=8, events=False)
    planner = ForecastPlanner.create(channel_points=3)
    for _ in range(3):
        orch.step(allocation_for(planner, orch))
    state = planner.state()
    assert {"shadow_last", "shadow_slot", "shadow_run_slot", "m_l"} <= set(state)
    resumed = ForecastPlanner.create(channel_points=3)
    resumed.load_state(state, orch.scenario.params.traffic)
    fresh = ForecastPlanner.create(channel_points=3)
    fresh.load_state({}, orch.scenario.params.traffic)
    a = allocation_for(planner, orch)
    np.testing.assert_array_equal(allocation_for(resumed, orch), a)
    assert not np.array_equal(allocation_for(fresh, orch), a)  # without the state: the priors


def test_specs_and_their_errors() -> None:
    sc = load("metro-v0")
    p = make_policy("forecast:0.9:known-channel", sc)
    assert isinstance(p, ForecastPlanner)
    assert p.channel is None
    assert p.quantile == 0.9
    default = make_policy("forecast::known-channel", sc)
    assert isinstance(default, ForecastPlanner)
    assert default.channel is None
    causal = make_policy("forecast", sc)
    assert isinstance(causal, ForecastPlanner)
    assert causal.channel is not None
    for bad in ("forecast:0.9:clairvoyant", "forecast:0.9:known-channel:x"):
        with pytest.raises(ConfigError, match="known-channel"):
            make_policy(bad, sc)
    with pytest.raises(ConfigError, match="channel points"):
        ForecastPlanner.create(channel_points=0)


def test_a_fade_no_allocation_survives_is_left_out_not_planned_for() -> None:
    orch = Orchestrator.create("metro-v0", n_envs=2, seed=6, events=False)
    for _ in range(3):
        orch.step(None)
    model = orch.planning_model()
    load = model.state.traffic.load.copy()
    mild = np.zeros((1, *model.state.shadow.shape))
    deep = np.full_like(mild, -60.0)  # no PRB share or MCS cap carries a slice through a 60 dB fade
    candidates = np.stack([orch.observation().allocation, np.full_like(orch.observation().allocation, 0.5)])
    alone = robust_evaluate(model, load, mild)(candidates)
    with_deep = robust_evaluate(model, load, np.concatenate([mild, deep]))(candidates)
    np.testing.assert_array_equal(with_deep, alone)
    # Only the deep fade: no scenario survives, and the slices are judged on the middle one (here the fade).
    only_deep = robust_evaluate(model, load, deep)(candidates)
    assert (only_deep > 0).all()
    # A milder second scenario that is survivable is counted: its cost can only raise the worst.
    worse = robust_evaluate(model, load, np.concatenate([mild, mild - 6.0]))(candidates)
    assert (worse >= alone).all()
    assert (worse > alone).any()


def test_scenarios_of_another_shape_are_refused_and_a_forecasts_moments_fill_every_cell() -> None:
    orch = Orchestrator.create("metro-v0", n_envs=2, seed=6, events=False)
    model = orch.planning_model()
    shadow = model.state.shadow  # (2 envs, 2 directions, 7 cells, 5 slices)
    one_cell = np.zeros((1, *shadow.shape[:2], 1, shadow.shape[3]))
    with pytest.raises(ValueError, match=r"shadows: expected \(S, \*\(2, 2, 7, 5\)\)"):
        robust_evaluate(model, model.state.traffic.load.copy(), one_cell)

    class CellMean(ShadowForecast):  # moments that broadcast over the cells, as a variant may give them
        def moments(self, sigma: float, decay: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return decay * last.mean(axis=2, keepdims=True), np.full(decay.shape, sigma)

    scen = CellMean(points=3).scenarios(model.params.ran, shadow, np.ones(2, dtype=np.int64), 1, 2.0)
    assert scen.shape == (3, *shadow.shape)
