"""The slice agents' forecast features: the forecast planner's own filter, restarted per episode and per tenant."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.intelligence.envs.slice_features import N_AGENT_FEATURES, N_BASE_FEATURES
from netslice.intelligence.envs.slice_forecast import N_FORECAST_FEATURES, SliceForecast
from netslice.intelligence.policies.base import allocation_for
from netslice.intelligence.policies.forecast import DEFAULT_QUANTILE, ForecastPlanner
from netslice.intelligence.policies.shared_slice import SharedSlicePolicy
from netslice.network.traffic import profile_load
from netslice.orchestration.orchestrator import Orchestrator


def _run(orch: Orchestrator, slots: int, fc: SliceForecast, planner: ForecastPlanner) -> None:
    params = orch.scenario.params.traffic
    for t in range(slots):
        obs = orch.observation()
        got = fc.observe(obs, params)
        want = planner.forecast(obs, params)  # (n_envs, K) the planner's quantile load
        np.testing.assert_allclose(got[..., 1] * params.scale, np.minimum(want, 10.0 * params.scale), rtol=1e-12)
        if t == 7:
            orch.reset(mask=np.array([True, False, False]))  # one network starts a new day mid-run
        else:
            orch.step(np.full((3, 7, params.n_slices), 0.3))


def test_the_high_feature_is_the_forecast_planners_quantile_slot_by_slot() -> None:
    orch = Orchestrator.create("metro-v0", n_envs=3, seed=4)  # URLLC and V2X have MMPP bursts
    assert (np.asarray(orch.scenario.params.traffic.burst_factor) > 1.0).any()
    fc = SliceForecast()
    _run(orch, 20, fc, ForecastPlanner.create(DEFAULT_QUANTILE))
    assert fc.filter is not None
    assert np.ptp(fc.filter.m_l, axis=0).max() > 0.0  # the networks' day factors were told apart


def test_an_episode_start_reads_the_traffic_models_prior() -> None:
    orch = Orchestrator.create("metro-v0", n_envs=2, seed=1)
    p = orch.scenario.params.traffic
    obs = orch.observation()
    got = SliceForecast().observe(obs, p)
    assert got.shape == (2, p.n_slices, N_FORECAST_FEATURES)
    day, noise = np.asarray(p.day_sigma), np.asarray(p.noise_sigma)
    np.testing.assert_allclose(got[..., 2], np.broadcast_to(np.sqrt(day**2 + noise**2), (2, p.n_slices)))
    median = np.maximum(profile_load(p, obs.hour) * np.exp(-0.5 * day**2 - 0.5 * noise**2), p.min_fraction * p.scale)
    np.testing.assert_allclose(got[..., 0], median / p.scale)
    on, off = np.asarray(p.p_burst_on), np.asarray(p.p_burst_off)
    bursty = np.asarray(p.burst_factor) > 1.0
    np.testing.assert_allclose(got[..., 3], np.broadcast_to(np.where(bursty, on / (on + off), 0.0), (2, p.n_slices)))


def test_a_restarted_slot_goes_back_to_the_prior_and_the_others_keep_their_forecast() -> None:
    orch = Orchestrator.create("metro-v0", n_envs=2, seed=2)
    p = orch.scenario.params.traffic
    fc, kept = SliceForecast(), SliceForecast()
    for _ in range(6):
        obs = orch.observation()
        fc.observe(obs, p)
        kept.observe(obs, p)
        orch.step(np.full((2, 7, p.n_slices), 0.3))
    obs = orch.observation()
    restart = np.zeros(p.n_slices, dtype=bool)
    restart[1] = True
    got = fc.observe(obs, p, restart=restart)
    want = kept.observe(obs, p)
    prior = SliceForecast().observe(replace(obs, kpis=None, episode_slot=np.zeros(2, dtype=np.int64)), p)
    np.testing.assert_allclose(got[:, 1], prior[:, 1])
    np.testing.assert_allclose(np.delete(got, 1, axis=1), np.delete(want, 1, axis=1))
    assert not np.allclose(want[:, 1], prior[:, 1])  # six slots measured had moved it


def test_the_state_continues_the_same_forecast() -> None:
    orch = Orchestrator.create("metro-v0", n_envs=2, seed=3)
    p = orch.scenario.params.traffic
    fc = SliceForecast()
    assert fc.state() == {}
    for _ in range(4):
        fc.observe(orch.observation(), p)
        orch.step(np.full((2, 7, p.n_slices), 0.3))
    copy = SliceForecast()
    copy.load_state(fc.state(), p)
    obs = orch.observation()
    np.testing.assert_array_equal(copy.observe(obs, p), fc.observe(obs, p))


class _Recording:
    def __init__(self) -> None:
        self.calls: list[np.ndarray] = []

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.calls.append(np.asarray(obs).copy())
        return np.full((len(obs), 7), 0.2)


def test_an_actor_trained_without_the_forecast_gets_the_first_40_inputs() -> None:
    orch = Orchestrator.create("metro-v0", n_envs=2, seed=0)
    full, legacy = _Recording(), _Recording()
    policies = SharedSlicePolicy(full), SharedSlicePolicy(legacy, n_inputs=N_BASE_FEATURES)
    for _ in range(3):
        allocs = [allocation_for(p, orch) for p in policies]
        np.testing.assert_array_equal(allocs[0], allocs[1])
        orch.step(allocs[0])
    assert full.calls[-1].shape[1] == N_AGENT_FEATURES == N_BASE_FEATURES + N_FORECAST_FEATURES
    np.testing.assert_array_equal(legacy.calls[-1], full.calls[-1][:, :N_BASE_FEATURES])
    assert full.calls[-1][:, N_BASE_FEATURES:].any()
    with pytest.raises(ConfigError, match="n_inputs: a slice agent has 44 or 40, got 41"):
        SharedSlicePolicy(full, n_inputs=41)
