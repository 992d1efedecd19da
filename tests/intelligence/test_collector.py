"""The rollout collector: equal to the slot loop it was moved out of, and its merge of workers' parts.

``reference_rollout`` is the slot loop of ``PPO._one_update`` as it was before the collector (commit c1ce2f3, without
the shield's branch), kept here as the slow reference the collector must match bit for bit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from netslice.intelligence.agents import lagrangian
from netslice.intelligence.agents.collector import Collected, RolloutCollector, merge, merge_moments
from netslice.intelligence.agents.normalize import RunningMeanStd
from netslice.intelligence.agents.ppo import PPO, PPOConfig
from netslice.intelligence.agents.rollout import Rollout
from netslice.intelligence.agents.safety_config import SafetyConfig
from netslice.intelligence.envs.vector import SliceVectorEnv


def reference_rollout(ppo: PPO, envs: SliceVectorEnv, obs: Any, rng: np.random.Generator) -> dict[str, Any]:
    """The pre-collector slot loop (no shield), on its own envs, observation and noise generator."""
    cfg, n = ppo.cfg, envs.num_envs
    k = len(envs.encoder.slice_names)
    buf = Rollout.zeros(cfg.num_steps, n, ppo.n_obs, ppo.n_act, ppo.n_costs)
    env_reward = cost_sum = violations = 0.0
    j_c = np.zeros(k)
    rms = ppo.obs_rms

    def normalize(x: Any, update: bool) -> Any:
        if rms is None:
            return x
        if update:
            rms.update(x)
        return rms.normalize(x)

    std = ppo.agent.log_std.detach().exp().numpy().astype(np.float64)
    for t in range(cfg.num_steps):
        x = normalize(obs, update=True)
        with torch.no_grad():
            xt = torch.as_tensor(x, dtype=torch.float32)
            loc = ppo.agent.loc(xt).numpy().astype(np.float64)
            v, vc = ppo.agent.values(xt)
            value = v.numpy().astype(np.float64)
            if buf.cost_value is not None:
                buf.cost_value[t] = vc.numpy().astype(np.float64)
        eps = rng.standard_normal(loc.shape) * std
        action = loc + eps
        logp = (-0.5 * (eps / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)).sum(axis=1)
        next_obs, reward, terminated, truncated, info = envs.step(ppo.agent.squash(action))
        cost = np.asarray(info["cost"], dtype=np.float64)
        train_reward = np.asarray(reward, dtype=np.float64) - cfg.cost_penalty * cost.sum(axis=1)
        signal = None if buf.cost is None else lagrangian.constraint_signal(cost, ppo.safety.cost_signal)
        trunc = np.asarray(truncated, dtype=bool) & ~np.asarray(terminated, dtype=bool)
        if trunc.any():
            final = np.stack([np.asarray(o) for o in np.asarray(info["final_obs"], dtype=object)[trunc]])
            with torch.no_grad():
                fv, fvc = ppo.agent.values(torch.as_tensor(normalize(final, False), dtype=torch.float32))
                train_reward[trunc] += cfg.gamma * fv.numpy().astype(np.float64)
                if signal is not None:
                    signal[trunc] += cfg.gamma * fvc.numpy().astype(np.float64)
        buf.obs[t], buf.act[t], buf.logp[t], buf.value[t] = x, action, logp, value
        buf.reward[t] = train_reward
        buf.done[t] = np.asarray(terminated, dtype=bool) | np.asarray(truncated, dtype=bool)
        if buf.cost is not None and signal is not None:
            buf.cost[t] = signal
            j_c += lagrangian.violation_rate(cost) / cfg.num_steps
        env_reward += float(np.mean(reward))
        cost_sum += float(cost.sum(axis=1).mean())
        violations += float((cost > 0.0).any(axis=1).mean())
        obs = next_obs
    with torch.no_grad():
        nv, _ = ppo.agent.values(torch.as_tensor(normalize(obs, False), dtype=torch.float32))
    return {"buf": buf, "next_value": nv.numpy().astype(np.float64), "j_c": j_c, "env_reward": env_reward,
            "cost_sum": cost_sum, "violations": violations, "obs": obs}  # fmt: skip


@pytest.mark.parametrize("method", ["none", "pid"])
def test_the_collector_equals_the_slot_loop_it_replaced(tmp_path: Path, method: str) -> None:
    cfg = PPOConfig(total_steps=4 * 24 * 4, num_steps=24, minibatch_size=32, seed=5)
    safety = SafetyConfig(method=method)  # type: ignore[arg-type]
    ppo = PPO(cfg, SliceVectorEnv(4, "testbed-v0", seed=5, backend="numpy"), tmp_path / "a", safety=safety)
    twin = PPO(cfg, SliceVectorEnv(4, "testbed-v0", seed=5, backend="numpy"), tmp_path / "b", safety=safety)
    envs = SliceVectorEnv(4, "testbed-v0", seed=5, backend="numpy")
    obs, _ = envs.reset(seed=5)
    rng = np.random.default_rng(5)
    for _ in range(3):  # an update between rollouts, so that the weights and statistics move
        got = ppo.collector.collect(ppo.agent, ppo.obs_rms, update_obs=True)
        ref = reference_rollout(twin, envs, obs, rng)
        obs = ref["obs"]
        for name in ("obs", "act", "logp", "value", "reward", "done", "in_loss", "cost", "cost_value"):
            a, b = getattr(got.buf, name), getattr(ref["buf"], name)
            assert (a is None) == (b is None), name
            if a is not None:
                np.testing.assert_array_equal(a, b, err_msg=name)
        np.testing.assert_array_equal(got.next_value, ref["next_value"])
        np.testing.assert_array_equal(got.j_c, ref["j_c"])
        assert (got.env_reward, got.cost_sum, got.violations) == (ref["env_reward"], ref["cost_sum"], ref["violations"])
        assert ppo.obs_rms is not None
        assert twin.obs_rms is not None
        np.testing.assert_array_equal(ppo.obs_rms.mean, twin.obs_rms.mean)
        assert got.obs_moments is None  # updated in place
        np.testing.assert_array_equal(ppo.obs, obs)
        with torch.no_grad():  # the same small change of the weights in both
            for p, q in zip(ppo.agent.parameters(), twin.agent.parameters(), strict=True):
                p.add_(0.01)
                q.add_(0.01)


def test_whole_updates_are_unchanged_by_the_collector_hook(tmp_path: Path) -> None:
    """PPO with its default collector and PPO given an equal collector explicitly train identically."""
    cfg = PPOConfig(total_steps=4 * 24 * 3, minibatch_size=32, seed=2)
    a = PPO(cfg, SliceVectorEnv(4, "testbed-v0", seed=2, backend="numpy"), tmp_path / "a")
    envs = SliceVectorEnv(4, "testbed-v0", seed=2, backend="numpy")
    b = PPO(cfg, None, tmp_path / "b", collector=RolloutCollector(cfg, envs))
    ha, hb = a.train().history, b.train().history
    drop = ("charts/sps", "time/rollout_s", "time/learn_s")
    assert [{k: v for k, v in r.items() if k not in drop} for r in ha] == [
        {k: v for k, v in r.items() if k not in drop} for r in hb
    ]
    assert a.ledger.summary() == b.ledger.summary()


def test_merge_moments_is_the_update_of_the_whole_batch() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=(40, 3))
    whole, parts = RunningMeanStd.zeros(3), RunningMeanStd.zeros(3)
    whole.update(x[:10])
    parts.update(x[:10])
    whole.update(x[10:])
    merge_moments(parts, (x[10:].mean(axis=0), x[10:].var(axis=0), 30))
    np.testing.assert_allclose(parts.mean, whole.mean, rtol=1e-12)
    np.testing.assert_allclose(parts.var, whole.var, rtol=1e-12)
    assert parts.count == whole.count


def _part(n: int, value: float, moments: tuple[Any, Any, int] | None) -> Collected:
    buf = Rollout.zeros(2, n, 3, 2, 1)
    buf.reward[:] = value
    return Collected(buf, np.full(n, value), np.full((n, 1), value), np.array([value]), np.full((2, n, 1), value),
                     np.full((2, n), value), value, 2 * value, 0.5, None, moments, value)  # fmt: skip


def test_merge_puts_the_workers_networks_side_by_side() -> None:
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(6, 3)), rng.normal(5.0, 2.0, size=(6, 3))
    a = _part(3, 1.0, (xa.mean(axis=0), xa.var(axis=0), 6))
    b = _part(3, 3.0, (xb.mean(axis=0), xb.var(axis=0), 6))
    got = merge([a, b])
    assert got.buf.reward.shape == (2, 6)
    np.testing.assert_array_equal(got.buf.reward[:, :3], 1.0)
    np.testing.assert_array_equal(got.buf.reward[:, 3:], 3.0)
    assert got.next_value.tolist() == [1.0, 1.0, 1.0, 3.0, 3.0, 3.0]
    assert got.next_cost is not None
    assert got.next_cost.shape == (6, 1)
    assert got.ledger_cost.shape == (2, 6, 1)
    assert got.ledger_usage.shape == (2, 6)
    assert got.j_c.tolist() == [2.0]
    assert (got.env_reward, got.cost_sum, got.violations, got.seconds) == (2.0, 4.0, 0.5, 3.0)
    assert got.obs_moments is not None
    both = np.concatenate([xa, xb])
    np.testing.assert_allclose(got.obs_moments[0], both.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(got.obs_moments[1], both.var(axis=0), rtol=1e-12)
    assert got.obs_moments[2] == 12
    alone = merge([a])
    np.testing.assert_array_equal(alone.buf.reward, a.buf.reward)
    assert alone.buf.reward is not a.buf.reward
    assert alone.buf.reward.flags.writeable


class _MaskedEnv:
    """Three sub-envs, two cost columns, scripted costs and masks (a stand-in for the per-slice agents' env)."""

    num_envs = 3
    cost_names = ("x", "y")

    def __init__(self, costs: np.ndarray, masks: np.ndarray) -> None:
        from gymnasium import spaces
        from gymnasium.vector import AutoresetMode

        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}
        self.single_observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.single_action_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self.encoder = type("E", (), {"slice_names": ("a", "b", "c")})()  # ignored: cost_names names the columns
        self.costs, self.masks, self.t = costs, masks, 0

    def reset(self, *, seed: int | None = None) -> tuple[Any, dict[str, Any]]:
        return np.zeros((3, 2), np.float32), {}

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        t, self.t = self.t, self.t + 1
        none = np.zeros(3, dtype=bool)
        info = {"cost": self.costs[t], "cost_mask": self.masks[t]}
        return np.zeros((3, 2), np.float32), np.zeros(3), ~self.masks[t].any(axis=1), none, info

    def snapshot(self) -> dict[str, Any]:
        return {}

    def restore(self, snap: dict[str, Any]) -> None:
        pass


def test_masked_costs_rate_each_column_over_its_live_entries_and_leave_empty_samples_out(tmp_path: Path) -> None:
    # slot 0: env 0 live in x (violating), env 1 live in y (fine), env 2 empty
    # slot 1: env 0 live in x (fine), env 1 live in y (violating), env 2 live in x (violating)
    costs = np.array([[[0.5, 0.0], [0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.2], [0.7, 0.0]]])
    masks = np.array([[[True, False], [False, True], [False, False]], [[True, False], [False, True], [True, False]]])
    cfg = PPOConfig(num_steps=2, total_steps=6, minibatch_size=6, seed=0)
    envs = _MaskedEnv(costs, masks)
    collector = RolloutCollector(cfg, envs, SafetyConfig(method="lagrangian"))
    assert collector.slice_names == ("x", "y")
    ppo = PPO(cfg, _MaskedEnv(costs, masks), tmp_path, safety=SafetyConfig(method="lagrangian"))
    got = collector.collect(ppo.agent, None, update_obs=True)
    # x: live 3 times (slot 0 env 0, slot 1 envs 0 and 2), violated twice; y: live twice, violated once
    np.testing.assert_allclose(got.j_c, [2 / 3, 1 / 2])
    np.testing.assert_array_equal(got.buf.in_loss, [[True, True, False], [True, True, True]])
