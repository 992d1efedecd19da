"""A planning baseline behind the shield (``shield.baseline = "forecast:Q"``): bound to the networks it switches,
it plays exactly the forecast planner's allocation there; its state resumes exactly; bad specs are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from netslice.errors import ConfigError
from netslice.intelligence.agents.ppo import PPO, PPOConfig
from netslice.intelligence.agents.safety_config import SafetyConfig
from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.agents.shield_config import ShieldConfig
from netslice.intelligence.envs.features import flatten_allocation
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.policies.base import allocation_for
from netslice.intelligence.policies.bound import BoundPolicy
from netslice.intelligence.policies.forecast import ForecastPlanner
from netslice.intelligence.policies.static import StaticPolicy
from netslice.intelligence.policies.switching import SwitchingPolicy
from netslice.intelligence.run_config import RunConfig
from netslice.intelligence.shielding import baseline_policy, build_shield
from netslice.network.scenarios import Scenario, load
from netslice.orchestration.orchestrator import Orchestrator

Q = 0.999


def _orch(envs: SliceVectorEnv) -> Orchestrator:
    assert isinstance(envs.orch, Orchestrator)
    return envs.orch


class AlwaysSwitch:
    """An evaluator that predicts a violation for every slice of every env."""

    def predict(self, obs: Any, action: Any) -> tuple[np.ndarray, np.ndarray]:
        n = np.asarray(obs).shape[0]
        return np.ones((n, 3)), np.zeros((n, 3))


def test_a_bound_planner_acts_as_the_planner_on_its_networks(testbed: Scenario) -> None:
    envs = SliceVectorEnv(3, testbed, seed=4)
    twin = SliceVectorEnv(3, testbed, seed=4)
    obs, _ = envs.reset(seed=4)
    twin.reset(seed=4)
    bound, planner = BoundPolicy(ForecastPlanner.create(Q), _orch(envs)), ForecastPlanner.create(Q)
    for _ in range(30):  # across a day boundary: the planner restarts from its prior with each episode
        action = bound.act(obs)
        want = flatten_allocation(allocation_for(planner, _orch(twin)))
        np.testing.assert_array_equal(action, want)
        obs, *_ = envs.step(action)
        twin.step(want)
    with pytest.raises(ValueError, match="bound to 3 networks, asked for 2"):
        bound.act(obs[:2])
    with pytest.raises(RuntimeError, match="not bound"):
        BoundPolicy(ForecastPlanner.create(Q)).act(obs)


def test_the_planner_state_round_trips_mid_episode(testbed: Scenario) -> None:
    envs = SliceVectorEnv(2, testbed, seed=1)
    obs, _ = envs.reset(seed=1)
    bound = BoundPolicy(ForecastPlanner.create(Q), _orch(envs))
    for _ in range(7):
        obs, *_ = envs.step(bound.act(obs))
    state = bound.state()
    assert set(state) == {"m_l", "m_x", "p_ll", "p_lx", "p_xx", "p_burst"}
    restored = BoundPolicy(ForecastPlanner.create(Q), _orch(envs))
    restored.load_state(state)
    fresh = BoundPolicy(ForecastPlanner.create(Q), _orch(envs))
    np.testing.assert_array_equal(restored.act(obs), bound.act(obs))
    assert not np.array_equal(fresh.act(obs), bound.act(obs))  # the state matters mid-episode
    empty = BoundPolicy(ForecastPlanner.create(Q), _orch(envs))
    assert empty.state() == {}
    empty.load_state({})
    assert empty.policy.filter is None  # type: ignore[union-attr]


def test_switching_everywhere_to_a_planning_baseline_evaluates_as_the_planner(testbed: Scenario) -> None:
    """evaluate() binds the switching policy's baseline to its own networks: always switched, it is the planner."""
    switching = SwitchingPolicy(
        StaticPolicy.equal_split(3), BoundPolicy(ForecastPlanner.create(Q)), AlwaysSwitch(), confidence_z=0.0
    )
    played = evaluate(switching, "s", testbed, days=1, n_envs=3, seed=9)
    planner = evaluate(ForecastPlanner.create(Q), "f", testbed, days=1, n_envs=3, seed=9)
    np.testing.assert_array_equal(played.usage, planner.usage)
    np.testing.assert_array_equal(played.cost, planner.cost)


def _shielded(run_dir: Path, baseline: str) -> PPO:
    sc = load("testbed-v0")
    envs = SliceVectorEnv(4, sc, seed=5, backend="numpy", include_kpis=True)
    scfg = ShieldConfig(members=2, hidden=(8,), buffer_size=200, learn_steps=2, batch_size=16, pretrain_slots=4,
                        confidence_z=-10.0, tolerance=-1.0, explore_rate=0.0, baseline=baseline)  # fmt: skip
    run = RunConfig(scenario="testbed-v0", n_envs=4, shield=scfg)
    shield = build_shield(run, sc, envs)
    cfg = PPOConfig(total_steps=4 * 8 * 4, num_steps=8, minibatch_size=16, hidden=(16,), checkpoint_every=1)
    return PPO(cfg, envs, run_dir, safety=SafetyConfig(method="pid", switching=True), shield=shield)


def test_a_shield_switching_to_the_planner_plays_it_and_resumes_exactly(tmp_path: Path) -> None:
    straight = _shielded(tmp_path / "a", f"forecast:{Q}")
    assert isinstance(straight.shield, TrainingShield)
    assert isinstance(straight.shield.baseline, BoundPolicy)
    straight.train(max_updates=2)
    assert straight.shield.metrics()["shield/switch_rate"] == 1.0  # tolerance -1, z -10: every slot switches
    first = _shielded(tmp_path / "b", f"forecast:{Q}")
    first.train(max_updates=2)
    resumed = _shielded(tmp_path / "b", f"forecast:{Q}")
    assert resumed.resume()
    assert resumed.shield.baseline.state().keys() == straight.shield.baseline.state().keys()  # type: ignore[union-attr]
    straight.train(max_updates=1)
    resumed.train(max_updates=1)
    timing = ("charts/sps", "time/rollout_s", "time/learn_s", "shield/learn_s")
    rows = [[{k: v for k, v in r.items() if k not in timing} for r in p.stats.history] for p in (straight, resumed)]
    assert rows[0] == rows[1]
    for x, y in zip(straight.agent.state_dict().values(), resumed.agent.state_dict().values(), strict=True):
        assert torch.equal(x, y)
    rule = _shielded(tmp_path / "c", "rule")
    rule.train(max_updates=1)
    assert rule.stats.history[-1]["usage/mean"] > 2 * straight.stats.history[0]["usage/mean"]  # the rule's usage


@pytest.mark.parametrize("spec", ["forecast:1", "forecast:0", "forecast:x", "forecast:", "rule:0.9", "oracle", 3])
def test_bad_baselines_are_refused_by_name(spec: object) -> None:
    with pytest.raises(ConfigError, match="baseline: must be one of 'rule', 'forecast'"):
        ShieldConfig(baseline=spec)  # type: ignore[arg-type]


def test_per_slice_agents_switch_to_the_rule_only() -> None:
    with pytest.raises(ConfigError, match="shield_baseline: per-slice agents"):
        RunConfig.from_dict({"agents": "per-slice", "safety": {"switching": True, "switched_samples": "keep"},
                             "shield": {"baseline": "forecast"}})  # fmt: skip


def test_the_default_baseline_is_the_rule_and_a_planner_needs_in_process_networks(testbed: Scenario) -> None:
    assert type(baseline_policy(RunConfig(), testbed)).__name__ == "RuleBasedPolicy"
    with pytest.raises(ConfigError, match="shield_baseline: 'forecast' plans with the network model"):
        baseline_policy(RunConfig(shield=ShieldConfig(baseline="forecast")), testbed, orch=object())
