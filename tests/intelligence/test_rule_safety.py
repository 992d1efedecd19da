"""The rule-based baseline: the testbed formula unchanged on testbed-v0, SLA dimensioning elsewhere."""

from __future__ import annotations

from dataclasses import replace
from statistics import NormalDist

import numpy as np
import pytest

from netslice.intelligence.envs.features import flatten_allocation
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.policies.base import PolicyContext
from netslice.intelligence.policies.oracle import Oracle
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.intelligence.policies.rule_table import (
    LADDER_RATIO,
    RISK,
    backlog,
    depth_fit,
    design_shadow,
    fade_cell,
    max_min_fit,
)
from netslice.network import scenarios
from netslice.network.allocation import CN_CPU, EDGE_CPU, PRB_DL, PRB_UL, TN_BW
from netslice.network.model import NetworkModel
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets
from netslice.orchestration.objective import Objective
from netslice.orchestration.orchestrator import Orchestrator


@pytest.fixture(scope="module")
def metro() -> Scenario:
    return scenarios.load("metro-v0")


@pytest.fixture(scope="module")
def metro_rule(metro: Scenario) -> RuleBasedPolicy:
    return RuleBasedPolicy.from_scenario(metro)


def test_testbed_formula_unchanged(testbed: Scenario) -> None:
    """testbed-v0 keeps clip(static_conf x traffic / scale, 0.15, 1): a few entries by hand, both paths."""
    policy = RuleBasedPolicy.from_scenario(testbed)
    assert policy.dimensioning is None
    orch = Orchestrator.create(testbed, n_envs=1, seed=0)
    first = policy.act_context(PolicyContext.of(orch))[0]  # nothing measured: traffic / scale = 1
    np.testing.assert_array_equal([first[PRB_UL, 0], first[PRB_DL, 1], first[TN_BW, 2]], [0.4, 0.8, 0.15])
    result = orch.step(testbed.params.initial_allocation)
    active = np.array([[1.0, 3.0, 20.0]])  # [0.2, 1.5, 0.2] x the scales [5, 2, 100]
    obs = replace(result.observation, kpis=replace(result.kpis, active_ues=active))
    got = policy.act_context(PolicyContext(obs, orch.spaces(), testbed))[0]
    assert got[PRB_UL, 0] == pytest.approx(0.15)  # 0.4 x 0.2 = 0.08, floored
    assert got[EDGE_CPU, 0] == pytest.approx(0.15)
    assert got[PRB_DL, 1] == 1.0  # 0.8 x 1.5 = 1.2, clipped
    assert got[TN_BW, 1] == 1.0
    assert got[PRB_UL, 1] == pytest.approx(0.15 * 1.5)
    assert got[2, 2] == pytest.approx(0.15)  # mcs_ul of IoT: 0.4 x 0.2 = 0.08, floored
    encoded = np.zeros((1, 3 * 14 + 2), dtype=np.float32)
    encoded[0, [0, 14, 28]] = [0.2, 1.5, 0.2]
    np.testing.assert_allclose(policy.act(encoded)[0], flatten_allocation(got[None])[0], rtol=1e-6)


def test_max_min_fit() -> None:
    demand = np.array([[0.1, 0.5, 0.8], [0.2, 0.2, 0.3], [0.05, 0.6, 0.6]])
    expected = np.array([[0.1, 0.45, 0.45], [0.2, 0.2, 0.3], [0.05, 0.475, 0.475]])
    np.testing.assert_allclose(max_min_fit(demand), expected)


def test_depth_fit_covers_every_slice_to_one_fade_depth() -> None:
    """A hand-made node: both slices move to the same fractional tier; the largest fade reserve is not the one cut.

    Node 0 (over-subscribed): slice A's tiers 0.2 / 0.3 / 0.4, slice B's (a deep fade reserve) 0.2 / 0.5 / 0.9.
    Totals 0.4, 0.8, 1.3: tier 1 fits, tier 2 does not; u = 1 + (1 - 0.8) / (1.3 - 0.8) = 1.4, so A gets
    0.3 + 0.4 x 0.1 = 0.34 and B 0.5 + 0.4 x 0.4 = 0.66 (max-min fair on the deepest tier: 0.4 / 0.6, B short of
    its 1.4-tier cover). Node 1: the deepest tiers fit and are kept. Node 2: even tier 0 over-subscribes, cut
    max-min fair.
    """
    tiers = np.array(
        [
            [[0.2, 0.2], [0.1, 0.2], [0.7, 0.5]],
            [[0.3, 0.5], [0.2, 0.3], [0.8, 0.6]],
            [[0.4, 0.9], [0.3, 0.4], [0.9, 0.7]],
        ]
    )
    got = depth_fit(tiers)
    np.testing.assert_allclose(got, [[0.34, 0.66], [0.3, 0.4], [0.5, 0.5]])
    np.testing.assert_allclose(max_min_fit(tiers[-1, :1]), [[0.4, 0.6]])
    assert np.all(got.sum(axis=1) <= 1.0 + 1e-12)


def test_fade_cell_is_the_costliest_survivable_cell(metro: Scenario) -> None:
    """metro-v0's mMTC has equal cell shares: its fade goes to the weakest UL cell (5.7 dB) while that survives.

    At the design fade (3.48 sigma = 13.9 dB) that cell falls below CQI 1 (-6.7 dB): an outage no share fixes,
    so the design fades the weakest cell that survives.
    """
    p = metro.params
    weakest = int(p.ran.sinr_db[0, :, 2].argmin())
    assert fade_cell(p, 1.0)[0, 2] == weakest
    z_fade = NormalDist().inv_cdf(1.0 - RISK / 20.0)
    deep = int(fade_cell(p, z_fade)[0, 2])
    assert deep != weakest
    survivable = p.ran.sinr_db[0, :, 2] - z_fade * 4.0 > p.ran.thresholds_db[1]
    assert survivable[deep]
    assert p.ran.sinr_db[0, deep, 2] == p.ran.sinr_db[0, survivable, 2].min()


def test_single_v0_provisions_the_least_allocation_of_the_next_level() -> None:
    """Constant traffic, no noise, no shadowing: the rule gives the least allocation for the load rounded up.

    single-v0 has 2 video UEs in every slot, so the design load is 2 UEs (growth 1), rounded up to the
    first ladder level at or above 1 x scale. That allocation meets the SLA and leaves no backlog at the
    level's load, 2 % less of every share does not (it is the least along its direction), it costs at
    least the oracle's allocation at the true load, and it meets the SLA in every slot of a day.
    """
    single = scenarios.load("single-v0")
    policy = RuleBasedPolicy.from_scenario(single)
    dim = policy.dimensioning
    assert dim is not None
    np.testing.assert_allclose([dim.peak[0], dim.levels[0]], [1.0, 0.01])
    i = int(np.searchsorted(dim.levels, 1.0))
    assert 1.0 <= dim.levels[i] < LADDER_RATIO
    assert design_shadow(single).shape == (1, 2, 1, 1)  # no shadowing: one design state, the median
    orch = Orchestrator.create(single, n_envs=1, seed=0)
    orch.step(single.params.initial_allocation)
    alloc = policy.act_context(PolicyContext.of(orch))
    np.testing.assert_allclose(alloc[0], dim.table[i])
    model = NetworkModel.create(single.params)
    targets = SlaTargets.from_spec(single.spec)
    probe = model.probe(model.idle(1), np.array([[2.0 * dim.levels[i]]]), steady=True)
    less = alloc.copy()
    less[:, [PRB_UL, PRB_DL, TN_BW, CN_CPU, EDGE_CPU]] *= 0.98
    after, _ = probe.step(np.stack([alloc, less]))
    cost = probe.cost(np.stack([alloc, less]), targets)[:, 0, 0]
    left = backlog(after)[:, 0]
    assert cost[0] <= 0.0
    assert left[0] == 0.0
    assert cost[1] > 0.0 or left[1] > 0.0
    true = model.probe(model.idle(1), np.array([[2.0]]), steady=True)
    best = Oracle().search(lambda c: true.cost(c, targets), (1, 1), single.params, np.ones(1, dtype=bool))
    objective = Objective.create()
    assert (
        objective.allocation_usage(single.params, alloc).sum() >= objective.allocation_usage(single.params, best).sum()
    )
    result = evaluate(policy, "rule", single, days=1, n_envs=2, seed=3)
    assert not (result.cost > 0.0).any()


def test_metro_margins_follow_the_scenario(metro: Scenario, metro_rule: RuleBasedPolicy) -> None:
    """Traffic margin and design peak from the card: sigma 0.1, rho 0.7, bursts on URLLC (1.6) and V2X."""
    dim = metro_rule.dimensioning
    assert dim is not None
    z = NormalDist().inv_cdf(1.0 - RISK / 10.0)
    assert dim.z == pytest.approx(z)
    p = metro.params.traffic
    g = dim.growth(np.array([12.0]), np.array([False]))[0]  # 11:45 -> 12:00
    profile = g / (np.exp(z * 0.1 * np.sqrt(0.6)) * p.burst_factor)  # what is left: the profile's ratio
    assert np.all((profile > 0.9) & (profile < 1.1))  # a quarter of an hour moves no profile by 10 % at noon
    np.testing.assert_allclose(dim.peak, np.exp(z * np.sqrt(0.02) - 0.01) * p.burst_factor)
    fresh = dim.growth(np.array([0.0]), np.array([True]))[0] / dim.growth(np.array([0.0]), np.array([False]))[0]
    np.testing.assert_allclose(fresh, np.exp(z * (np.sqrt(0.04) - 0.1 * np.sqrt(0.6))))
    assert np.all(np.diff(dim.table, axis=0) >= 0.0)  # monotone in the load
    shadow = design_shadow(metro)  # a typical slot at its worst, the costliest cell's UL / DL fade in it, the median
    assert shadow.shape == (4, 2, 7, 5)
    z_fade = NormalDist().inv_cdf(1.0 - RISK / 20.0)
    cell = fade_cell(metro.params, z_fade)
    np.testing.assert_allclose(shadow[0, 0, cell[0], range(5)], -z_fade * 4.0)
    np.testing.assert_allclose(shadow[1, 1, cell[1], range(5)], -z_fade * 4.0)
    np.testing.assert_array_equal(shadow[3], 0.0)
    quantiles = 4.0 * np.array([NormalDist().inv_cdf((i + 0.5) / 7) for i in range(7)])
    weakest = metro.params.ran.sinr_db.argmin(axis=1)  # (2, K)
    np.testing.assert_allclose(shadow[2, 0, weakest[0], range(5)], quantiles[0])  # the deepest in the weakest cell
    np.testing.assert_allclose(np.sort(shadow[2, 1, :, 3]), quantiles)
    in_burst = dim.growth(np.array([12.0]), np.array([False]), np.array([[0.0, 2.0, 0.0, 0.0, 0.0]]))[0]
    np.testing.assert_allclose(in_burst[1] * p.burst_factor[1], g[1])  # URLLC at 2 x scale is bursting: no stacking


def test_metro_rule_meets_the_slas(metro: Scenario, metro_rule: RuleBasedPolicy) -> None:
    """A day-time stretch of metro-v0 (8:00-14:00, the URLLC and V2X busy hours) on 4 networks: no violation.

    The fit is one common fade depth per node (:func:`depth_fit`): no row over-subscribed.
    """
    envs = SliceVectorEnv(4, metro, seed=1000)
    obs, _ = envs.reset(seed=1000)
    violated, row_sums = [], []
    for t in range(56):  # 14:00
        action = metro_rule.act(obs)
        obs, _, _, _, info = envs.step(action)
        if t >= 32:  # from 8:00
            violated.append((info["cost"] > 0.0).any(axis=1))
            row_sums.append(action.reshape(4, 7, 5)[:, [PRB_UL, PRB_DL, TN_BW], :].sum(axis=2))
    assert not np.any(violated)
    assert np.max(row_sums) <= 1.0 + 1e-9  # the rule fits every node: no proportional scaling
