"""Static and rule-based baselines behind the policy protocols."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.intelligence.envs.features import flatten_allocation
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.policies.base import ContextPolicy, Policy, PolicyContext, reset_policy
from netslice.intelligence.policies.rule import RuleBasedPolicy, original_conf
from netslice.intelligence.policies.static import StaticPolicy
from netslice.network import scenarios
from netslice.network.scenarios import Scenario
from netslice.orchestration.orchestrator import Orchestrator


def test_static_policies(testbed: Scenario) -> None:
    equal = StaticPolicy.equal_split(3)
    initial = StaticPolicy.initial(testbed)
    for policy in (equal, initial):
        assert isinstance(policy, Policy)
        assert isinstance(policy, ContextPolicy)
        reset_policy(policy)  # no reset(): nothing happens
    out = equal.act(np.zeros((5, 44), dtype=np.float32))
    assert out.shape == (5, 21)
    alloc = out.reshape(5, 7, 3)
    np.testing.assert_allclose(alloc[:, [0, 1, 4, 5, 6]], 1.0 / 3.0)
    np.testing.assert_array_equal(alloc[:, [2, 3]], 0.0)
    orch = Orchestrator.create(testbed, n_envs=2, seed=0)
    np.testing.assert_array_equal(initial.act_context(PolicyContext.of(orch))[1], testbed.params.initial_allocation)
    with pytest.raises(ConfigError, match="shape"):
        StaticPolicy(np.zeros((6, 3)))


def test_rule_known_answer(testbed: Scenario) -> None:
    """clip(static_conf x traffic / scale, 0.15, 1) computed by hand for two traffic vectors."""
    policy = RuleBasedPolicy.from_scenario(testbed)
    orch = Orchestrator.create(testbed, n_envs=2, seed=0)
    result = orch.step(testbed.params.initial_allocation)
    # TRAFFIC_SCALE = [5, 2, 100]: env 0 at half the scale, env 1 at [2, 1.5, 1.5] x the scale.
    active = np.array([[2.5, 1.0, 50.0], [10.0, 3.0, 150.0]])
    obs = replace(result.observation, kpis=replace(result.kpis, active_ues=active))
    ctx = PolicyContext(obs, orch.spaces(), testbed)
    got = policy.act_context(ctx)
    f = 0.15  # the floor
    #                  mar           video         iot
    half = np.array([
        [0.4 * 0.5,    f,            f],            # prb_ul   (mar 0.4)
        [f,            0.8 * 0.5,    f],            # prb_dl   (video 0.8)
        [f,            f,            0.4 * 0.5],    # mcs_ul   (iot 0.4)
        [f,            f,            0.4 * 0.5],    # mcs_dl   (iot 0.4)
        [0.4 * 0.5,    0.8 * 0.5,    f],            # tn_bw    (mar 0.4, video 0.8)
        [f,            f,            f],            # cn_cpu   (0.15 for all)
        [0.4 * 0.5,    f,            f],            # edge_cpu (mar 0.4)
    ])  # fmt: skip
    high = np.array([
        [0.4 * 2.0,    0.15 * 1.5,   0.15 * 1.5],
        [0.15 * 2.0,   1.0,          0.15 * 1.5],   # video 0.8 x 1.5 = 1.2 -> 1
        [0.15 * 2.0,   0.15 * 1.5,   0.4 * 1.5],
        [0.15 * 2.0,   0.15 * 1.5,   0.4 * 1.5],
        [0.4 * 2.0,    1.0,          0.15 * 1.5],
        [0.15 * 2.0,   0.15 * 1.5,   0.15 * 1.5],
        [0.4 * 2.0,    0.15 * 1.5,   0.15 * 1.5],
    ])  # fmt: skip
    np.testing.assert_allclose(got[0], half, atol=1e-12)
    np.testing.assert_allclose(got[1], high, atol=1e-12)


def test_rule_first_slot_and_encoded_path(testbed: Scenario) -> None:
    policy = RuleBasedPolicy.from_scenario(testbed)
    assert isinstance(policy, Policy)
    assert isinstance(policy, ContextPolicy)
    envs = SliceVectorEnv(3, testbed, seed=2)
    obs, _ = envs.reset(seed=2)
    orch = envs.orch
    assert isinstance(orch, Orchestrator)
    first = policy.act_context(PolicyContext.of(orch))  # nothing measured: traffic / scale = 1
    np.testing.assert_allclose(first, np.broadcast_to(np.clip(original_conf(testbed), 0.15, 1.0), (3, 7, 3)))
    np.testing.assert_allclose(policy.act(obs), flatten_allocation(first))
    for _ in range(5):
        obs, *_ = envs.step(policy.act(obs))
        exact = flatten_allocation(policy.act_context(PolicyContext.of(orch)))
        np.testing.assert_allclose(policy.act(obs), exact, rtol=1e-6)  # float32 observation


def test_rule_uses_the_testbed_formula_only_on_testbed(testbed: Scenario) -> None:
    assert RuleBasedPolicy.from_scenario(testbed).dimensioning is None
    dim = RuleBasedPolicy.from_scenario(scenarios.load("single-v0")).dimensioning
    assert dim is not None
    assert dim.table.shape == (len(dim.levels), 7, 1)


def run_rule(scenario: str, n_envs: int, days: int, seed: int) -> tuple[float, np.ndarray]:
    """Violation rate (fraction of env-slots with any slice cost > 0) and mean usage per domain."""
    envs = SliceVectorEnv(n_envs, scenario, seed=seed)
    assert isinstance(envs.orch, Orchestrator)
    policy = RuleBasedPolicy.from_scenario(envs.orch.scenario)
    obs, _ = envs.reset(seed=seed)
    violated, usage = [], []
    for _ in range(days * envs.max_episode_steps):
        obs, _, _, _, info = envs.step(policy.act(obs))
        violated.append((info["cost"] > 0.0).any(axis=1))
        usage.append(info["usage"])
    return float(np.mean(violated)), np.mean(usage, axis=(0, 1))


def test_rule_violation_rate_on_testbed() -> None:
    rate, usage = run_rule("testbed-v0", n_envs=16, days=10, seed=0)
    assert rate <= 0.01, f"violation rate {rate:.2%}, usage per domain {usage.round(3).tolist()}"
