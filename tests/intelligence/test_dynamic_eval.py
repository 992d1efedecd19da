"""Evaluation with slices that come and go: counts over live slices only, same traces for every policy."""

from __future__ import annotations

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.intelligence.dynamic_eval import evaluate_dynamic
from netslice.intelligence.policies.base import PolicyContext
from netslice.network import scenarios


class Fixed:
    """Gives every slice the same share of every row (a context policy)."""

    def __init__(self, share: float) -> None:
        self.share = share

    def act_context(self, ctx: PolicyContext) -> np.ndarray:
        n, k = ctx.spaces.n_envs, len(ctx.spaces.slices)
        return np.full((n, 7, k), self.share)


@pytest.fixture(scope="module")
def scenario() -> scenarios.Scenario:
    return scenarios.load("metro-dynamic-v0")


def test_nothing_given_is_every_live_slot_violated_at_zero_usage(scenario: scenarios.Scenario) -> None:
    r = evaluate_dynamic(Fixed(0.0), scenario, days=1, n_envs=2, seed=3)
    # Only a new slice's reservation, in force from its admission until the zero action is enforced, is used.
    assert 0.0 < r.usage < 1e-4
    assert r.violation_rate == 1.0
    assert r.admissions > 0
    assert r.ready_rate == 0.0
    assert r.ready_at_rate == 0.0
    assert r.live_max <= scenario.spec.arrivals.max_concurrent  # type: ignore[union-attr]


def test_every_policy_sees_the_same_slices(scenario: scenarios.Scenario) -> None:
    lean = evaluate_dynamic(Fixed(0.0), scenario, days=1, n_envs=2, seed=4)
    rich = evaluate_dynamic(Fixed(0.09), scenario, days=1, n_envs=2, seed=4)
    assert lean.live_mean == rich.live_mean
    assert lean.tenancy == rich.tenancy
    assert lean.admissions == rich.admissions
    assert rich.violation_rate < lean.violation_rate
    assert rich.ready_rate > 0.5
    again = evaluate_dynamic(Fixed(0.09), scenario, days=1, n_envs=2, seed=4)
    assert again.as_dict() == rich.as_dict()


def test_usage_splits_by_domain_and_kind(scenario: scenarios.Scenario) -> None:
    r = evaluate_dynamic(Fixed(0.05), scenario, days=1, n_envs=2, seed=5)
    out = r.as_dict()
    domains = ("ran", "tn", "cn", "edge")
    # the weighted usage is the mean of the domains' (equal weights), each domain the sum of its kinds' parts
    assert r.usage == pytest.approx(np.mean([out[f"usage/{d}"] for d in domains]), rel=1e-12)
    kinds = dict.fromkeys(s.kind for s in scenario.spec.slices)
    for d in domains:
        assert out[f"usage/{d}"] == pytest.approx(sum(out[f"usage/{d}/{k}"] for k in kinds), rel=1e-12)
    # every live slice gets 0.05 of the RAN (half UL, half DL): the RAN's usage is 0.05 per live slice, about
    assert out["usage/ran"] == pytest.approx(0.05 * r.live_mean, rel=0.05)
    assert all(out[f"usage/ran/{k}"] > 0.0 for k in kinds)


def test_refuses_static_scenarios_and_policies_without_a_protocol(scenario: scenarios.Scenario) -> None:
    with pytest.raises(ConfigError, match="no arrivals section"):
        evaluate_dynamic(Fixed(0.1), scenarios.load("metro-v0"), days=1, n_envs=1)

    class Nothing:
        pass

    with pytest.raises(ConfigError, match="policy: must implement act_context, act_model or act"):
        evaluate_dynamic(Nothing(), scenario, days=1, n_envs=1)  # type: ignore[arg-type]


def test_a_flat_policy_gets_the_encoded_observation(scenario: scenarios.Scenario) -> None:
    """A centralised agent (flat observations, flat actions) runs on the same traces as the others."""
    k = scenario.params.n_slices

    class Flat:
        def act(self, obs: np.ndarray) -> np.ndarray:
            assert obs.shape == (2, 14 * k + 2)
            return np.full((obs.shape[0], 7 * k), 0.09)

    flat = evaluate_dynamic(Flat(), scenario, days=1, n_envs=2, seed=4)
    ctx = evaluate_dynamic(Fixed(0.09), scenario, days=1, n_envs=2, seed=4)
    assert flat.as_dict() == ctx.as_dict()


def test_the_rule_serves_a_new_slice_its_design_peak_and_absent_slots_nothing(scenario: scenarios.Scenario) -> None:
    """A slice admitted since the last slot has no UEs measured: the rule provisions it as at a reset."""
    from netslice.intelligence.policies.base import allocation_for
    from netslice.intelligence.policies.rule import RuleBasedPolicy
    from netslice.orchestration.orchestrator import Orchestrator

    rule = RuleBasedPolicy.from_scenario(scenario)
    orch = Orchestrator.create(scenario, n_envs=2, seed=0)
    checked = 0
    for _ in range(200):
        ran = orch.active.copy()
        orch.step(allocation_for(rule, orch))
        new = orch.active & ~ran
        alloc = allocation_for(rule, orch)
        assert np.all(alloc[:, :, ~orch.active] == 0.0)
        if new.any():
            obs = orch.observation()
            assert obs.kpis is not None
            measured = obs.kpis.active_ues / rule.scale
            assert np.all(measured[:, new] == 0.0)  # nothing measured: it had no UEs in the last slot
            at_floor = measured.copy()
            at_floor[:, new] = scenario.params.traffic.min_fraction  # as if its few UEs had been measured
            floor = rule.allocation(at_floor, obs.hour, obs.episode_slot == 0, orch.active)
            assert np.all(alloc[:, :, new].sum(axis=1) > floor[:, :, new].sum(axis=1))
            checked += 1
    assert checked > 0


def test_the_rule_keeps_slas_where_slices_come_and_go(scenario: scenarios.Scenario) -> None:
    from netslice.intelligence.policies.rule import RuleBasedPolicy

    r = evaluate_dynamic(RuleBasedPolicy.from_scenario(scenario), scenario, days=1, n_envs=4, seed=1000)
    assert r.admissions > 0
    assert r.violation_rate <= 0.005  # the rule's design risk (0.5 % of slots), over live slices
    assert r.ready_at_rate == 1.0
