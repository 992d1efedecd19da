"""Per-domain agents: the batched per-domain env, the three learners, and their policy in the evaluation."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

from netslice.errors import InvalidAllocationError
from netslice.intelligence.agents.domain_agents import DomainAgents
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.decomposition import GROUPS
from netslice.intelligence.envs import domain_features as layout
from netslice.intelligence.envs.domain_vector import DomainVectorEnv, assemble_batch
from netslice.intelligence.envs.domains import DomainParallelEnv
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.policies.base import ContextPolicy, PolicyContext
from netslice.network.allocation import N_RESOURCES
from netslice.network.kernel import Kpis

TRAFFIC_KPIS = ("active_ues", "offered_dl_kbps", "offered_ul_kbps", "hour")


def _actions(env: DomainVectorEnv, rng: np.random.Generator, scale: float = 0.5) -> dict[str, np.ndarray]:
    return {g: rng.uniform(0.05, scale, (env.num_envs, env.act_sizes[g])) for g in GROUPS}


def _tiny(seed: int = 0, decomposition: str = "adaptive") -> DomainAgents:
    cfg = PPOConfig(total_steps=3 * 4 * 8, num_steps=8, minibatch_size=16, hidden=(16, 16), seed=seed,
                    cost_penalty=0.0)  # fmt: skip
    return DomainAgents(cfg, DomainVectorEnv(4, "testbed-v0", seed=seed, decomposition=decomposition))


@pytest.mark.parametrize("decomposition", ["fixed", "adaptive"])
def test_shapes(decomposition: str) -> None:
    env = DomainVectorEnv(3, "testbed-v0", seed=0, decomposition=decomposition, slots_per_episode=4)
    obs, _ = env.reset(seed=0)
    K = env.n_slices
    for g in GROUPS:
        space = layout.observation_space(g, K)
        assert obs[g].shape == (3, space.shape[0])
        assert obs[g].dtype == np.float32
        assert env.act_sizes[g] == len(layout.GROUP_ROWS[g]) * K
    rng = np.random.default_rng(0)
    for t in range(4):
        obs, rewards, terminated, truncated, info = env.step(_actions(env, rng))
        assert rewards.shape == (3, len(GROUPS))
        assert (rewards <= 0.0).all()
        assert info["cost"].shape == info["latency_ms"].shape == info["budget_ms"].shape == (3, K, len(GROUPS))
        assert info["cost_e2e"].shape == (3, K)
        assert info["usage"].shape == (3, 4)
        assert ((info["cost"] >= 0.0) & (info["cost"] <= 1.0)).all()
        assert not terminated.any()
        assert truncated.all() == (t == 3)
        for g in GROUPS:
            space = layout.observation_space(g, K)
            assert ((obs[g] >= space.low) & (obs[g] <= space.high)).all()
    assert set(info["final_obs"]) == set(GROUPS)  # the last slot's observations, before the reset
    np.testing.assert_array_equal(env.decomposition_state.budgets_ms[0], env.decomposer.fixed_budgets_ms)


def test_actions_are_checked() -> None:
    env = DomainVectorEnv(2, "testbed-v0", seed=0)
    env.reset(seed=0)
    acts = _actions(env, np.random.default_rng(0))
    with pytest.raises(InvalidAllocationError, match="every group must act"):
        env.step({g: a for g, a in acts.items() if g != "core"})
    with pytest.raises(InvalidAllocationError, match=r"action\[core\]"):
        env.step({**acts, "core": np.ones((2, 1))})
    joint, clips = assemble_batch({**acts, "core": acts["core"] + 1.0}, 2, env.n_slices)
    assert joint.shape == (2, N_RESOURCES, env.n_slices)
    assert (clips[:, GROUPS.index("core")] > 0.0).all()
    assert (clips[:, 0] == 0.0).all()
    np.testing.assert_array_equal(joint[:, list(layout.GROUP_ROWS["transport"]), :].reshape(2, -1),
                                  acts["transport"])  # fmt: skip


def test_one_network_matches_the_parallel_env() -> None:
    """Batched over one network, the env gives the PettingZoo env's observations, rewards and costs exactly."""
    vec = DomainVectorEnv(1, "metro-v0", seed=5, decomposition="adaptive")
    par = DomainParallelEnv("metro-v0", seed=5, decomposition="adaptive")
    obs_v, _ = vec.reset(seed=5)
    obs_p, _ = par.reset(seed=5)
    rng = np.random.default_rng(1)
    for _ in range(5):
        for g in GROUPS:
            np.testing.assert_array_equal(obs_v[g][0], obs_p[g])
        acts = _actions(vec, rng, 0.4)
        obs_v, rewards, _, _, info = vec.step(acts)
        obs_p, rew_p, _, _, info_p = par.step({g: a[0] for g, a in acts.items()})
        for i, g in enumerate(GROUPS):
            assert rewards[0, i] == pytest.approx(rew_p[g], abs=1e-12)
            np.testing.assert_allclose(info["cost"][0, :, i], info_p[g]["cost"], atol=1e-12)
            # no latency term: NaN in the learners' vector env, inf (no bound) in the PettingZoo env's infos
            np.testing.assert_allclose(np.nan_to_num(info["budget_ms"][0, :, i], nan=np.inf), info_p[g]["budget_ms"],
                                       atol=1e-12)  # fmt: skip


def test_rewards_sum_to_the_central_reward() -> None:
    """The groups' rewards sum to the single-agent usage reward of the same slots (and the e2e cost is its cost)."""
    dom = DomainVectorEnv(4, "testbed-v0", seed=2)
    cen = SliceVectorEnv(4, "testbed-v0", seed=2)
    dom.reset(seed=2)
    cen.reset(seed=2)
    rng = np.random.default_rng(2)
    for _ in range(6):
        acts = _actions(dom, rng)
        joint, _ = assemble_batch(acts, 4, dom.n_slices)
        _, rewards, _, _, info = dom.step(acts)
        _, reward, _, _, info_c = cen.step(joint.reshape(4, -1))
        np.testing.assert_allclose(rewards.sum(axis=1), reward, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(info["cost_e2e"], info_c["cost"])


@pytest.mark.parametrize("group", GROUPS)
def test_observation_isolation(group: str) -> None:
    """Another domain's state (its KPIs and rows, the end-to-end KPIs) cannot reach a group's batched observation."""
    env = DomainVectorEnv(3, "metro-v0", seed=3, decomposition="fixed")
    env.reset(seed=3)
    rng = np.random.default_rng(3)
    for _ in range(3):
        env.step(_actions(env, rng, 0.4))
    obs = env.orch.observation()
    assert obs.kpis is not None
    before = env.observe(obs)[group]
    own = set(layout.group_kpis(group)) | set(TRAFFIC_KPIS)
    others = {f.name: np.asarray(getattr(obs.kpis, f.name)) * 3.0 + 1.0 for f in fields(Kpis) if f.name not in own}
    alloc = obs.allocation.copy()
    rows = [r for r in range(N_RESOURCES) if r not in layout.GROUP_ROWS[group]]
    alloc[:, rows] = rng.uniform(0.0, 1.0, alloc[:, rows].shape)
    changed = replace(obs, kpis=replace(obs.kpis, **others), allocation=alloc)
    np.testing.assert_array_equal(env.observe(changed)[group], before)
    for g in GROUPS:  # while the groups whose domains did change see it
        if g != group and any(f in others for f in layout.group_kpis(g)):
            assert not np.array_equal(env.observe(changed)[g], env.observe(obs)[g])


def test_training_is_seeded() -> None:
    a, b, c = _tiny(0), _tiny(0), _tiny(1)
    ha, hb, hc = ([{k: v for k, v in r.items() if k != "charts/sps"} for r in x.train()] for x in (a, b, c))
    assert len(ha) == 3
    assert ha == hb
    assert ha != hc
    for g in GROUPS:
        for pa, pb in zip(a.learners[g].agent.parameters(), b.learners[g].agent.parameters(), strict=True):
            assert bool((pa == pb).all())
    row = ha[-1]
    assert {f"safety/{g}/lambda/{s}" for g in GROUPS for s in a.slice_names} <= set(row)
    assert row["train/slots"] == 3 * 4 * 8


def test_policy_sees_what_the_env_showed() -> None:
    """The wrapped actors, driven through the orchestrator's context, act exactly as on the env's own observations."""
    agents = _tiny(0, "adaptive")
    agents.train(max_updates=1)
    env = DomainVectorEnv(2, "testbed-v0", seed=7, decomposition="adaptive", slots_per_episode=5)
    obs, _ = env.reset(seed=7)
    policy = agents.policy()
    assert isinstance(policy, ContextPolicy)
    for _ in range(8):  # crosses an episode's end: both restart at the fixed split
        acts = {g: policy.actors[g].act(obs[g]) for g in GROUPS}
        joint, _ = assemble_batch(acts, 2, env.n_slices)
        np.testing.assert_allclose(policy.act_context(PolicyContext.of(env.orch)), joint, atol=1e-6)
        np.testing.assert_allclose(policy.act_context(PolicyContext.of(env.orch)), joint, atol=1e-6)  # same slot
        obs, *_ = env.step(acts)


def test_policy_runs_in_the_evaluation() -> None:
    agents = _tiny(0, "fixed")
    agents.train(max_updates=1)
    res = evaluate(agents.policy(), "domains", "testbed-v0", days=1, n_envs=2, seed=1000)
    assert res.cost.shape == (24, 2, 3)
    assert np.isfinite(res.summary()["usage/mean"])
