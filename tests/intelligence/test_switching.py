"""Baseline switching (issue 12.3): the switch fires exactly when the evaluator says so, and never otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from numpy.typing import NDArray

from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.policies.base import Policy
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.intelligence.policies.static import StaticPolicy
from netslice.intelligence.policies.switching import Evaluator, SwitchingPolicy, baseline_floor, switch_mask
from netslice.network.scenarios import Scenario

N_ENVS, K = 4, 3


@dataclass
class ConstPolicy:
    """Row i of every action is ``level + 0.01 i``."""

    level: float
    resets: int = 0

    def act(self, obs: NDArray[np.floating]) -> NDArray[np.float64]:
        n = np.asarray(obs).shape[0]
        return np.full((n, 7 * K), self.level) + 0.01 * np.arange(n)[:, None]

    def reset(self) -> None:
        self.resets += 1


@dataclass
class ScriptedEvaluator:
    """Returns the scripted ``(mean, std)`` of each call in turn; records what it was asked and taught."""

    script: list[tuple[NDArray[np.float64], NDArray[np.float64]]]
    asked: list[NDArray[np.float64]] = field(default_factory=list)
    taught: list[tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]] = field(default_factory=list)

    def predict(
        self, obs: NDArray[np.floating], action: NDArray[np.floating]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        self.asked.append(np.array(action))
        return self.script[len(self.asked) - 1]

    def update(self, obs: NDArray[np.floating], action: NDArray[np.floating], cost: NDArray[np.floating]) -> None:
        self.taught.append((np.array(obs), np.array(action), np.array(cost)))


@dataclass
class ConstEvaluator:
    """Predicts the same cost ``mean`` with std 0 everywhere (always or never switches)."""

    mean: float

    def predict(
        self, obs: NDArray[np.floating], action: NDArray[np.floating]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        n = np.asarray(obs).shape[0]
        return np.full((n, K), self.mean), np.zeros((n, K))


@dataclass
class ActOnly:
    """Exposes only ``act`` of a policy, so that :func:`evaluate` takes the flat-observation path."""

    policy: Policy

    def act(self, obs: NDArray[np.floating]) -> NDArray[np.float64]:
        return np.asarray(self.policy.act(obs), dtype=np.float64)


def _script(rng: np.random.Generator, calls: int) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Random predictions with exact boundary cases: mean - z std == 0 for z in (0, 1, 2)."""
    out = []
    for _ in range(calls):
        mean = rng.normal(0.0, 0.3, (N_ENVS, K))
        std = rng.uniform(0.0, 0.3, (N_ENVS, K))
        mean[0] = 0.0  # boundary for z = 0 (and below for z > 0 where std > 0)
        std[0] = 0.0
        mean[1] = [-0.5, 0.25, -0.1]  # exactly 0 for z = 1 on slice 1 (0.25 - 1 x 0.25)
        std[1] = [0.1, 0.25, 0.0]
        out.append((mean, std))
    return out


@pytest.mark.parametrize("z", [0.0, 1.0, 2.0, -0.5])
def test_switch_fires_exactly_when_the_evaluator_says_so(z: float) -> None:
    rng = np.random.default_rng(0)
    calls = 20
    script = _script(rng, calls)
    agent, baseline = ConstPolicy(0.2), ConstPolicy(0.9)
    evaluator = ScriptedEvaluator(script)
    policy = SwitchingPolicy(agent, baseline, evaluator, confidence_z=z)
    assert isinstance(policy, Policy)
    assert isinstance(evaluator, Evaluator)
    assert policy.last_switched is None
    obs = np.zeros((N_ENVS, 44), dtype=np.float32)
    switches = 0
    for t in range(calls):
        action = policy.act(obs)
        mean, std = script[t]
        expected = np.array([any(mean[i, k] - z * std[i, k] > 0.0 for k in range(K)) for i in range(N_ENVS)])
        got = policy.last_switched
        assert got is not None
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(action[expected], baseline.act(obs)[expected])
        np.testing.assert_array_equal(action[~expected], agent.act(obs)[~expected])
        np.testing.assert_array_equal(evaluator.asked[t], agent.act(obs))  # asked about the agent's action
        if z >= 0.0:
            assert not got[0]  # mean 0, std 0: exactly 0 never switches
        if z == 1.0:
            assert not got[1]  # 0.25 - 1 x 0.25 == 0 on slice 1, the others negative
        switches += int(expected.sum())
        m = policy.metrics()
        assert m["shield/switches"] == switches
        assert m["shield/decisions"] == N_ENVS * (t + 1)
        assert m["shield/switch_rate"] == switches / (N_ENVS * (t + 1))
    assert 0 < switches < calls * N_ENVS  # the script exercises both branches


def test_never_and_always() -> None:
    obs = np.zeros((N_ENVS, 44), dtype=np.float32)
    agent, baseline = ConstPolicy(0.2), ConstPolicy(0.9)
    never = SwitchingPolicy(agent, baseline, ConstEvaluator(0.0), confidence_z=0.0)
    always = SwitchingPolicy(agent, baseline, ConstEvaluator(1e-12), confidence_z=3.0)
    for _ in range(3):
        np.testing.assert_array_equal(never.act(obs), agent.act(obs))
        np.testing.assert_array_equal(always.act(obs), baseline.act(obs))
    assert never.metrics() == {"shield/switch_rate": 0.0, "shield/switches": 0.0, "shield/decisions": 12.0}
    assert always.metrics() == {"shield/switch_rate": 1.0, "shield/switches": 12.0, "shield/decisions": 12.0}
    always.reset_counters()
    assert always.metrics()["shield/decisions"] == 0.0
    assert always.metrics()["shield/switch_rate"] == 0.0


def test_observe_teaches_the_enforced_action_and_reset() -> None:
    obs = np.arange(N_ENVS * 44, dtype=np.float32).reshape(N_ENVS, 44)
    mean = np.array([[1.0, 0, 0], [0, 0, 0], [0, 0, 0.5], [-1, -1, -1]])
    evaluator = ScriptedEvaluator([(mean, np.zeros((N_ENVS, K)))])
    agent, baseline = ConstPolicy(0.2), ConstPolicy(0.9)
    policy = SwitchingPolicy(agent, baseline, evaluator, confidence_z=1.0)
    with pytest.raises(RuntimeError, match="no action"):
        policy.observe(np.zeros((N_ENVS, K)))
    action = policy.act(obs)
    cost = np.full((N_ENVS, K), 0.25)
    policy.observe(cost)
    (o, a, c), *_ = evaluator.taught
    np.testing.assert_array_equal(o, obs)
    np.testing.assert_array_equal(a, action)
    np.testing.assert_array_equal(a[[0, 2]], baseline.act(obs)[[0, 2]])
    np.testing.assert_array_equal(c, cost)
    policy.observe(cost)  # the same slot twice is the caller's business
    quiet = SwitchingPolicy(agent, baseline, ConstEvaluator(0.0))
    quiet.act(obs)
    quiet.observe(cost)  # no update(): a no-op
    policy.reset()
    assert agent.resets == 1
    assert baseline.resets == 1
    assert policy.last_switched is None
    assert policy.metrics()["shield/decisions"] == N_ENVS  # counters span the run


def test_malformed_predictions_are_refused() -> None:
    obs = np.zeros((N_ENVS, 44))
    with pytest.raises(ValueError, match="mean"):
        switch_mask(np.zeros((N_ENVS, K)), np.zeros((N_ENVS, K + 1)), 1.0)
    bad = ScriptedEvaluator([(np.zeros((N_ENVS + 1, K)), np.zeros((N_ENVS + 1, K)))])
    with pytest.raises(ValueError, match="envs"):
        SwitchingPolicy(ConstPolicy(0.2), ConstPolicy(0.9), bad).act(obs)
    with pytest.raises(ValueError, match="confidence_z"):
        SwitchingPolicy(ConstPolicy(0.2), ConstPolicy(0.9), ConstEvaluator(0.0), confidence_z=float("nan"))


def test_inside_evaluate_matches_the_policy_it_enforces(testbed: Scenario) -> None:
    """Always switching evaluates exactly as the baseline alone; never switching as the agent alone."""
    agent = ActOnly(StaticPolicy.equal_split(3))
    baseline = ActOnly(RuleBasedPolicy.from_scenario(testbed))

    def run(policy: Policy, name: str) -> dict[str, float]:
        return evaluate(policy, name, scenario=testbed, days=1, n_envs=2, seed=7).summary()

    alone = {"agent": run(agent, "agent"), "baseline": run(baseline, "baseline")}
    always = SwitchingPolicy(agent, baseline, ConstEvaluator(1.0), confidence_z=2.0)
    never = SwitchingPolicy(agent, baseline, ConstEvaluator(-1.0), confidence_z=2.0)
    assert run(always, "always") == alone["baseline"]
    assert run(never, "never") == alone["agent"]
    assert always.metrics()["shield/switch_rate"] == 1.0
    assert never.metrics()["shield/switches"] == 0.0
    assert always.metrics()["shield/decisions"] == never.metrics()["shield/decisions"] > 0
    assert alone["agent"] != alone["baseline"]  # the comparison can tell them apart


@dataclass
class LevelEvaluator:
    """Predicts each slice's statistic ``0.5 - mean of its column`` (std ``std``): more resource, safer."""

    std: float = 0.0

    def predict(
        self, obs: NDArray[np.floating], action: NDArray[np.floating]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        a = np.asarray(action, dtype=np.float64)
        mean = 0.5 - a.reshape(len(a), 7, K).mean(axis=1)
        return mean, np.full(mean.shape, self.std)


def test_the_relative_rule_switches_only_where_the_agent_is_predicted_worse_than_the_baseline() -> None:
    # the rule with a floor, then the floor's known answers: the baseline's statistic where > 0, else 0
    assert not switch_mask(np.array([[0.3, -0.2]]), np.zeros((1, 2)), 0.0, np.array([[0.3, 0.0]]))[0]  # not above
    assert switch_mask(np.array([[0.31, -0.2]]), np.zeros((1, 2)), 0.0, np.array([[0.3, 0.0]]))[0]
    obs = np.zeros((N_ENVS, 44), dtype=np.float32)
    for level, z in ((0.4, 1.0), (0.7, -1.0)):  # a baseline predicted to violate (0.1 + z std), or safe
        baseline = ConstPolicy(level)  # row i: level + 0.01 i in every entry
        got = baseline_floor(LevelEvaluator(std=0.05), obs, baseline.act(obs), z, np.array([[True, True, False]] * 4))
        stat = 0.5 - (level + 0.01 * np.arange(N_ENVS)) - z * 0.05
        np.testing.assert_allclose(got[:, :2], np.maximum(stat, 0.0)[:, None].repeat(2, axis=1))
        np.testing.assert_array_equal(got[:, 2], 0.0)  # not live: no floor
    # the rule: the baseline's own action never switches; a worse action does, a no-worse one passes
    baseline = ConstPolicy(0.3)  # statistic 0.2 - 0.01 i: predicted to violate
    for agent_level, expected in ((0.3, False), (0.35, False), (0.25, True)):
        agent = ConstPolicy(agent_level)
        relative = SwitchingPolicy(agent, baseline, LevelEvaluator(), confidence_z=0.0, relative=True)
        absolute = SwitchingPolicy(agent, baseline, LevelEvaluator(), confidence_z=0.0)
        relative.act(obs)
        absolute.act(obs)
        np.testing.assert_array_equal(relative.last_switched, np.full(N_ENVS, expected))
        np.testing.assert_array_equal(absolute.last_switched, np.full(N_ENVS, True))  # every action predicted > 0
    safe = ConstPolicy(0.6)  # a baseline predicted safe: the two rules agree
    for agent_level in (0.4, 0.55):
        agent = ConstPolicy(agent_level)
        rel = SwitchingPolicy(agent, safe, LevelEvaluator(), confidence_z=0.0, relative=True)
        ab = SwitchingPolicy(agent, safe, LevelEvaluator(), confidence_z=0.0)
        np.testing.assert_array_equal(rel.act(obs), ab.act(obs))
        np.testing.assert_array_equal(rel.last_switched, ab.last_switched)
