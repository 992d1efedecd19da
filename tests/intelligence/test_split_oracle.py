"""The oracle held to the per-domain agents' fixed split: stricter than the end-to-end SLA, never cheaper."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.intelligence.decomposition import (
    DecompositionConfig,
    E2eRequirement,
    SlaDecomposer,
    group_latency,
    shared_cost,
)
from netslice.intelligence.envs.domain_vector import DomainVectorEnv
from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.policies.base import PolicyContext
from netslice.intelligence.policies.forecast import ForecastPlanner
from netslice.intelligence.policies.oracle import Oracle
from netslice.intelligence.policies.split_oracle import SplitJudge, split_oracle
from netslice.intelligence.run import make_policy
from netslice.network.kernel import Kpis
from netslice.network.scenarios import load
from netslice.network.scenarios.sla import SlaTargets, sla_cost
from netslice.orchestration.orchestrator import Orchestrator

SCENARIO = "metro-v0"


def _played(n_envs: int = 2, slots: int = 30, seed: int = 3) -> tuple[Orchestrator, Kpis]:
    """An orchestrator ``slots`` into the day under the oracle, and its last slot's KPIs."""
    orch = Orchestrator.create(SCENARIO, n_envs=n_envs, seed=seed, backend="numpy")
    oracle = Oracle.create()
    result = None
    for _ in range(slots):
        result = orch.step(oracle.plan(orch.planning_model()))
    assert result is not None
    return orch, result.kpis


def test_design_shares_are_the_per_domain_agents_own() -> None:
    sc = load(SCENARIO)
    env = DomainVectorEnv(1, sc, seed=5, decomposition="fixed")
    np.testing.assert_array_equal(SplitJudge.create(sc).decomposer.shares, env.decomposer.shares)
    np.testing.assert_array_equal(SplitJudge.create(sc).decomposer.fixed_budgets_ms, env.decomposer.fixed_budgets_ms)
    equal = SplitJudge.create(sc, "equal").decomposer.shares
    np.testing.assert_allclose(equal, np.broadcast_to([0.5, 0.25, 0.25], equal.shape))


def test_a_split_at_the_slots_own_latencies_costs_what_the_shared_terms_cost_and_a_tighter_one_violates() -> None:
    orch, kpis = _played(n_envs=1)
    sc = orch.scenario
    targets = SlaTargets.from_spec(sc.spec)
    requirement = E2eRequirement.from_scenario(sc)
    observed = group_latency(kpis, requirement)[0]  # (K, G)
    has_latency = ~np.isnan(requirement.latency_ms)
    assert has_latency.sum() >= 2
    assert (sla_cost(targets, kpis)[0] <= 0.0).all(), "the oracle's slot meets every SLA"
    config = DecompositionConfig(method="fixed", min_fraction=0.0)
    exact = np.where(has_latency[:, None], observed / observed.sum(axis=1, keepdims=True), 1.0 / 3.0)
    judge = SplitJudge(SlaDecomposer.create(requirement, exact, config))
    np.testing.assert_allclose(judge(targets, kpis), np.clip(shared_cost(targets, kpis), 0.0, 1.0), atol=1e-9)
    # Half of the largest group's share moved to the others: that group is over its budget though the slice's
    # end-to-end latency is unchanged.
    largest = observed.argmax(axis=1)
    tight = exact.copy()
    rows = np.arange(len(tight))
    moved = 0.5 * tight[rows, largest]
    tight[rows, largest] -= moved
    tight += (moved / 2.0)[:, None] * (np.arange(3)[None, :] != largest[:, None])
    cost = SplitJudge(SlaDecomposer.create(requirement, tight, config))(targets, kpis)[0]
    assert (cost[has_latency] > 0.0).all(), cost
    np.testing.assert_allclose(cost[~has_latency], judge(targets, kpis)[0][~has_latency])


def test_the_split_oracle_keeps_every_group_budget_so_every_sla() -> None:
    orch, _ = _played(n_envs=2, slots=20)
    oracle = split_oracle(orch.scenario)
    judge = oracle.judge
    assert isinstance(judge, SplitJudge)
    targets = SlaTargets.from_spec(orch.scenario.spec)
    kept = []
    for _ in range(8):
        result = orch.step(oracle.plan(orch.planning_model()))
        within = judge(targets, result.kpis) <= 0.0
        assert (result.cost[within] == 0.0).all(), "a split kept must keep the end-to-end SLA"
        kept.append(within.mean())
    assert np.mean(kept) > 0.9, kept


def test_the_split_oracle_uses_more_than_the_oracle_over_a_day() -> None:
    sc = load(SCENARIO)
    joint = evaluate(Oracle.create(), "oracle", sc, days=1, n_envs=2, seed=1000).summary()
    split = evaluate(split_oracle(sc), "oracle:split", sc, days=1, n_envs=2, seed=1000).summary()
    assert split["usage/mean"] > joint["usage/mean"]
    assert split["sla/violation_rate"] <= 0.01
    assert joint["sla/violation_rate"] <= 0.01


def test_the_forecast_planner_searches_under_its_oracles_judge() -> None:
    orch, _ = _played(n_envs=2, slots=4)
    calls: list[int] = []

    def spy(targets: SlaTargets, kpis: Kpis) -> np.ndarray:
        calls.append(int(np.asarray(kpis.latency_ms).shape[0]))
        return sla_cost(targets, kpis)

    planner = replace(ForecastPlanner.create(), oracle=Oracle.create(judge=spy))
    plain = ForecastPlanner.create()
    ctx = PolicyContext.of(orch)
    np.testing.assert_array_equal(
        planner.act_model(ctx, orch.planning_model()), plain.act_model(ctx, orch.planning_model())
    )
    assert calls
    assert all(n % 2 == 0 for n in calls)


def test_specs_and_bad_input() -> None:
    sc = load(SCENARIO)
    policy = make_policy("oracle:split", sc)
    assert isinstance(policy, Oracle)
    assert isinstance(policy.judge, SplitJudge)
    equal = make_policy("oracle:split-equal", sc)
    assert isinstance(equal, Oracle)
    assert isinstance(equal.judge, SplitJudge)
    with pytest.raises(ConfigError, match="shares"):
        SplitJudge.create(sc, "median")
    with pytest.raises(ConfigError, match="shares"):
        SplitJudge.create(sc, np.ones((2, 3)))
    with pytest.raises(ConfigError, match="arrive"):
        SplitJudge.create(load("metro-dynamic-v0"))
