"""The causal forecast planner: exact Kalman posterior, calibrated quantiles, no peeking at the future."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.intelligence.policies.base import PolicyContext, allocation_for
from netslice.intelligence.policies.forecast import ForecastPlanner, TrafficFilter
from netslice.intelligence.policies.oracle import Oracle
from netslice.intelligence.run import make_policy
from netslice.network.scenarios import load
from netslice.network.traffic import diurnal_profile
from netslice.orchestration.orchestrator import Orchestrator


def test_one_measurement_gives_the_closed_form_gaussian_posterior() -> None:
    params = load("testbed-v0").params.traffic
    f = TrafficFilter.create(params, n_envs=1)
    sd, sn, rho = params.day_sigma, params.noise_sigma, params.noise_rho
    hour = np.array([12.0])
    base = params.scale * np.maximum(diurnal_profile(params.harmonics, hour) / params.profile_peak, 0.0)  # by hand
    y = np.array([[0.12, -0.05, 0.2]])  # measured L + x per slice
    ues = base * np.exp(y - 0.5 * sn**2)
    f.update(hour, ues, np.array([True]))
    # Prior L ~ N(mu, sd^2), x ~ N(0, sn^2) independent, y = L + x: the textbook conditional normal.
    mu = -0.5 * sd**2
    g_l, g_x = sd**2 / (sd**2 + sn**2), sn**2 / (sd**2 + sn**2)
    e_l, e_x = mu + g_l * (y - mu), g_x * (y - mu)
    var_l, var_x, cov = (np.broadcast_to(v, y.shape) for v in (sd**2 * (1 - g_l), sn**2 * (1 - g_x), -g_l * sn**2))
    np.testing.assert_allclose(f.m_l, e_l, rtol=1e-7)
    np.testing.assert_allclose(f.m_x, rho * e_x, rtol=1e-7)
    np.testing.assert_allclose(f.p_ll, var_l, rtol=1e-6)
    np.testing.assert_allclose(f.p_lx, rho * cov, rtol=1e-6)
    np.testing.assert_allclose(f.p_xx, rho**2 * var_x + sn**2 * (1 - rho**2), rtol=1e-6)
    # The predictive median of the next slot at the same hour: base * exp(E[L + x'] - sn^2 / 2).
    np.testing.assert_allclose(f.quantile(hour, 0.5), base * np.exp(e_l + rho * e_x - 0.5 * sn**2), rtol=1e-7)


def test_quantiles_are_calibrated_against_the_true_next_slot_load() -> None:
    orch = Orchestrator.create("testbed-v0", n_envs=512, seed=3, events=False)
    params = orch.scenario.params.traffic
    planner = ForecastPlanner.create()
    orch.reset(seed=3)
    hits: dict[float, list[np.ndarray]] = {q: [] for q in (0.5, 0.9, 0.99)}
    widths = []
    for _ in range(24):
        obs = orch.observation()
        planner.forecast(obs, params)  # condition on the slot just measured
        assert planner.filter is not None
        for q in hits:
            hits[q].append(orch.sim.state.traffic.load > planner.filter.quantile(obs.hour, q))
        widths.append(np.log(planner.filter.quantile(obs.hour, 0.9) / planner.filter.quantile(obs.hour, 0.5)).mean())
        orch.step(None)
    for q, h in hits.items():
        assert abs(np.mean(h) - (1 - q)) < max(0.15 * (1 - q), 0.002), (q, np.mean(h))
    assert widths[5] < 0.85 * widths[0]  # measurements narrow the forecast


def test_planner_never_reads_the_coming_slots_traffic() -> None:
    orch = Orchestrator.create("testbed-v0", n_envs=3, seed=1, events=False)
    planner, oracle = ForecastPlanner.create(), Oracle.create()
    for _ in range(10):
        orch.step(allocation_for(planner, orch))
    saved = copy.deepcopy(planner.filter)
    ctx, model = PolicyContext.of(orch), orch.planning_model()
    a_planner, a_oracle = planner.act_model(ctx, model), oracle.plan(model)
    tr = model.state.traffic
    # Another coming slot: the true traffic the model holds changes, what was measured does not.
    future = replace(model.state, traffic=replace(tr, load=tr.load * 1.7, noise=tr.noise + 0.3, day=tr.day * 1.2))
    other = replace(model, state=future)
    planner.filter = saved  # the same slot again, from the same forecast state
    np.testing.assert_array_equal(planner.act_model(ctx, other), a_planner)
    assert not np.allclose(oracle.plan(other), a_oracle)  # the clairvoyant oracle does read it


def test_planning_on_the_true_load_is_the_oracle() -> None:
    orch = Orchestrator.create("testbed-v0", n_envs=2, seed=4, events=False)
    oracle = Oracle.create()
    for _ in range(7):
        orch.step(oracle.plan(orch.planning_model()))
    model = orch.planning_model()
    np.testing.assert_array_equal(oracle.plan(model, load=model.state.traffic.load.copy()), oracle.plan(model))


def test_forecast_costs_more_than_clairvoyance_and_violates_about_its_quantile() -> None:
    usage = {}
    viol = {}
    for name in ("forecast", "oracle"):
        orch = Orchestrator.create("testbed-v0", n_envs=32, seed=11, events=False)
        policy = make_policy(name, orch.scenario)
        u, v = [], []
        for _ in range(24):
            result = orch.step(allocation_for(policy, orch))  # type: ignore[arg-type]
            u.append(result.usage.mean())
            v.append((result.cost > 0).any(axis=1).mean())
        usage[name], viol[name] = np.mean(u), np.mean(v)
    assert viol["oracle"] == 0.0
    assert usage["oracle"] < usage["forecast"] < 1.4 * usage["oracle"]
    assert viol["forecast"] < 0.05


def test_partially_reset_envs_restart_from_the_prior() -> None:
    params = load("testbed-v0").params.traffic
    f = TrafficFilter.create(params, n_envs=2)
    f.update(np.array([10.0, 10.0]), np.full((2, 3), 50.0), np.array([True, True]))
    f.reset(np.array([False, True]))
    fresh = TrafficFilter.create(params, n_envs=1)
    np.testing.assert_array_equal(f.m_l[1], fresh.m_l[0])
    np.testing.assert_array_equal(f.p_xx[1], fresh.p_xx[0])
    assert not np.allclose(f.m_l[0], fresh.m_l[0])


def test_measurements_at_the_lower_clip_carry_no_information() -> None:
    params = load("testbed-v0").params.traffic
    f = TrafficFilter.create(params, n_envs=1)
    m_l = f.m_l.copy()
    f.update(np.array([4.0]), params.min_fraction * params.scale[None, :], np.array([True]))
    np.testing.assert_array_equal(f.m_l, m_l)


@pytest.mark.parametrize("q", [0.0, 1.0, -0.1, float("nan")])
def test_quantile_outside_the_open_unit_interval_is_refused(q: float) -> None:
    with pytest.raises(ConfigError, match="quantile"):
        ForecastPlanner.create(q)


def test_cli_names_and_their_errors() -> None:
    sc = load("testbed-v0")
    p = make_policy("forecast:0.9", sc)
    assert isinstance(p, ForecastPlanner)
    assert p.quantile == 0.9
    for bad in ("forecast:abc", "forecast:1.5"):
        with pytest.raises(ConfigError, match="quantile"):
            make_policy(bad, sc)
    with pytest.raises(TypeError, match="neither act_model nor act_context"):
        allocation_for(object(), Orchestrator.create("testbed-v0", n_envs=1))  # type: ignore[arg-type]


def test_oracle_refuses_a_malformed_planning_load() -> None:
    orch = Orchestrator.create("testbed-v0", n_envs=2, seed=0)
    oracle = Oracle.create()
    for bad in (np.ones((2, 2)), np.full((2, 3), np.nan), -np.ones((2, 3))):
        with pytest.raises(ConfigError, match="load"):
            oracle.plan(orch.planning_model(), load=bad)


def burst_exceedance(planner_cls: type[ForecastPlanner], q: float) -> np.ndarray:
    """Per slice, the fraction of metro-v0 slots whose true load exceeds the forecast's ``q`` quantile."""
    orch = Orchestrator.create("metro-v0", n_envs=64, seed=7, events=False)
    params = orch.scenario.params.traffic
    planner = planner_cls.create()
    orch.reset(seed=7)
    hits = []
    for _ in range(48):
        obs = orch.observation()
        planner.forecast(obs, params)
        assert planner.filter is not None
        hits.append(orch.sim.state.traffic.load > planner.filter.quantile(obs.hour, q))
        orch.step(None)
    return np.mean(hits, axis=(0, 1))


def test_quantiles_stay_calibrated_on_slices_with_mmpp_bursts() -> None:
    """metro-v0's URLLC and V2X have bursts: a filter that reads them as noise under-forecasts ~5 % of slots."""
    params = load("metro-v0").params.traffic
    bursty = np.asarray(params.burst_factor) > 1.0
    assert bursty.sum() == 2
    for q in (0.9, 0.99):
        rate = burst_exceedance(ForecastPlanner, q)
        assert (rate[bursty] < 1.6 * (1 - q)).all(), (q, rate)
    f = TrafficFilter.create(params, n_envs=1)
    on, off = np.asarray(params.p_burst_on), np.asarray(params.p_burst_off)
    np.testing.assert_allclose(f.p_burst[0], np.where(bursty, on / (on + off), 0.0))  # stationary prior


def test_a_burst_raises_the_burst_probability_not_the_day_factor() -> None:
    params = load("metro-v0").params.traffic
    k = 1  # urllc: burst factor 1.6
    f = TrafficFilter.create(params, n_envs=2)
    hour = np.array([10.0, 10.0])
    quiet = f.quantile(hour, 0.5)
    ues = quiet.copy()
    ues[1, k] *= params.burst_factor[k]  # env 1 measures a burst-sized jump
    m_l = f.m_l.copy()
    f.update(hour, ues, np.array([True, True]))
    assert f.p_burst[1, k] > 0.5 > f.p_burst[0, k]
    assert abs(f.m_l[1, k] - f.m_l[0, k]) < 0.5 * np.log(params.burst_factor[k])  # mostly explained by the burst
    assert (f.m_l[:, k] - m_l[:, k] < 0.1).all()
