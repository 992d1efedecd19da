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


def test_refuses_static_scenarios_and_flat_policies(scenario: scenarios.Scenario) -> None:
    with pytest.raises(ConfigError, match="no arrivals section"):
        evaluate_dynamic(Fixed(0.1), scenarios.load("metro-v0"), days=1, n_envs=1)

    class Flat:
        def act(self, obs: np.ndarray) -> np.ndarray:
            return obs

    with pytest.raises(ConfigError, match="policy: must act on the orchestrator's observation"):
        evaluate_dynamic(Flat(), scenario, days=1, n_envs=1)  # type: ignore[arg-type]
