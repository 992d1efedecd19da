"""PPO with Lagrange multipliers: the Lagrangian training reward, the multipliers' steps and time scale, resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from netslice.errors import NetsliceError
from netslice.intelligence.agents import ppo as ppo_module
from netslice.intelligence.agents.ppo import PPO, PPOConfig
from netslice.intelligence.agents.safety_config import SafetyConfig
from netslice.intelligence.envs.vector import SliceVectorEnv

TIMING = ("charts/sps", "time/rollout_s", "time/learn_s")  # wall-clock figures: never equal twice


class _RecordingEnv(SliceVectorEnv):
    """The vector env, keeping each slot's cost and reward."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.played: list[tuple[np.ndarray, np.ndarray]] = []

    def step(self, actions: np.ndarray) -> Any:
        out = super().step(actions)
        self.played.append((np.asarray(out[4]["cost"], dtype=np.float64).copy(), np.asarray(out[1]).copy()))
        return out


def _cfg(**kw: Any) -> PPOConfig:
    return PPOConfig(**{"total_steps": 4 * 8 * 4, "num_steps": 8, "minibatch_size": 16, "hidden": (16,), **kw})


def _j_c(played: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Per slice: the fraction of (slot, network) pairs with cost > 0."""
    return (np.stack([c for c, _ in played]) > 0.0).mean(axis=(0, 1))


@pytest.mark.parametrize("normalise", [True, False])
def test_policy_learns_on_the_lagrangian_of_reward_and_per_slice_violations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, normalise: bool
) -> None:
    cfg = _cfg(cost_penalty=2.0)
    envs = _RecordingEnv(4, "testbed-v0", seed=1, backend="numpy")  # 8-slot rollouts: no day ends (24 slots)
    safety = SafetyConfig(method="lagrangian", normalise_lagrangian=normalise)
    ppo = PPO(cfg, envs, tmp_path, safety=safety)
    assert ppo.multipliers is not None
    k = len(envs.encoder.slice_names)
    lam = np.array([0.5, 2.0, 0.0][:k])
    ppo.multipliers.lam = lam.copy()
    seen: list[dict[str, Any]] = []
    real_learn = ppo_module.learn

    def spy(
        agent: Any, opt: Any, c: Any, rollout: Any, adv: Any, lam_in: Any, norm: bool, update: int, **kw: Any
    ) -> Any:
        seen.append({"rollout": rollout, "adv": adv, "lam": np.array(lam_in), "normalise": norm})
        return real_learn(agent, opt, c, rollout, adv, lam_in, norm, update, **kw)

    monkeypatch.setattr(ppo_module, "learn", spy)
    ppo.train(max_updates=1)
    cost = np.stack([c for c, _ in envs.played])  # (slots, networks, K)
    reward = np.stack([r for _, r in envs.played])
    assert (cost > 0).any()  # the untrained policy violates: the multipliers matter
    got = seen[0]
    np.testing.assert_array_equal(got["lam"], lam)  # the multipliers in force
    assert got["normalise"] is normalise
    np.testing.assert_allclose(got["rollout"].reward, reward - 2.0 * cost.sum(axis=2), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got["rollout"].cost, (cost > 0.0) + cost)  # the graded constraint signal
    assert got["adv"].cost_adv.shape == cost.shape
    row = ppo.stats.history[-1]
    assert row["losses/cost_value"] > 0.0
    assert {f"safety/cost_value/{s}" for s in envs.encoder.slice_names} <= row.keys()


def test_cost_critic_learns_each_slices_violation_signal(tmp_path: Path) -> None:
    envs = SliceVectorEnv(8, "testbed-v0", seed=6, backend="numpy")
    cfg = _cfg(total_steps=8 * 8 * 30, learning_rate=3e-3, anneal_lr=False)
    ppo = PPO(cfg, envs, tmp_path, safety=SafetyConfig(method="lagrangian", lambda_lr=0.0))  # lambda stays 0
    ppo.train()
    first, last = ppo.stats.history[0]["losses/cost_value"], ppo.stats.history[-1]["losses/cost_value"]
    assert last < 0.5 * first


def test_dual_ascent_steps_on_the_rollout_violation_rate_and_logs_it(tmp_path: Path) -> None:
    envs = _RecordingEnv(4, "testbed-v0", seed=2, backend="numpy")
    safety = SafetyConfig(method="lagrangian", violation_limit=0.05, lambda_lr=3.0)
    ppo = PPO(_cfg(), envs, tmp_path, safety=safety)
    slices = envs.encoder.slice_names
    lam = np.zeros(len(slices))
    for u in range(3):
        ppo.train(max_updates=1)
        jc = _j_c(envs.played[u * 8 : (u + 1) * 8])
        lam = np.maximum(0.0, lam + 3.0 * (jc - 0.05))
        row = ppo.stats.history[-1]
        for k, name in enumerate(slices):
            assert row[f"safety/lambda/{name}"] == pytest.approx(lam[k], abs=1e-12)
            assert row[f"safety/cost/{name}"] == pytest.approx(jc[k], abs=1e-12)
            assert row[f"safety/margin/{name}"] == pytest.approx(0.05 - jc[k], abs=1e-12)
    assert lam.max() > 0.0


def test_multipliers_keep_their_slower_time_scale_in_training(tmp_path: Path) -> None:
    envs = _RecordingEnv(4, "testbed-v0", seed=2, backend="numpy")
    ppo = PPO(_cfg(), envs, tmp_path, safety=SafetyConfig(method="lagrangian", violation_limit=0.0, lambda_every=2))
    assert ppo.multipliers is not None
    ppo.train(max_updates=1)
    np.testing.assert_array_equal(ppo.multipliers.lam, 0.0)  # no step after the first update
    ppo.train(max_updates=1)
    want = (_j_c(envs.played[:8]) + _j_c(envs.played[8:16])) / 2  # one step on the mean of the two
    assert want.max() > 0.0
    np.testing.assert_allclose(ppo.multipliers.lam, want, atol=1e-12)


def test_without_a_safety_method_nothing_changes(tmp_path: Path) -> None:
    plain = PPO(_cfg(), SliceVectorEnv(4, "testbed-v0", seed=3, backend="numpy"), tmp_path / "a")
    none = PPO(_cfg(), SliceVectorEnv(4, "testbed-v0", seed=3, backend="numpy"), tmp_path / "b", safety=SafetyConfig())
    assert plain.multipliers is None
    for p in (plain, none):
        p.train(max_updates=2)
    strip = [[{k: v for k, v in r.items() if k not in TIMING} for r in p.stats.history] for p in (plain, none)]
    assert strip[0] == strip[1]
    assert not any(k.startswith("safety/") for k in strip[0][0])
    for a, b in zip(plain.agent.state_dict().values(), none.agent.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def _pid(run_dir: Path) -> PPO:
    safety = SafetyConfig(method="pid", violation_limit=0.02, pid_kp=1.0, pid_ki=0.5, pid_kd=2.0, lambda_every=2)
    return PPO(_cfg(checkpoint_every=1), SliceVectorEnv(4, "testbed-v0", seed=4, backend="numpy"), run_dir,
               safety=safety)  # fmt: skip


def test_resume_with_multipliers_continues_exactly(tmp_path: Path) -> None:
    straight = _pid(tmp_path / "a")
    straight.train(max_updates=3)  # the checkpoint after update 3 sits mid-window (lambda_every 2)
    first = _pid(tmp_path / "b")
    first.train(max_updates=3)
    resumed = _pid(tmp_path / "b")
    assert resumed.resume()
    straight.train(max_updates=1)
    resumed.train(max_updates=1)
    strip = [[{k: v for k, v in r.items() if k not in TIMING} for r in p.stats.history] for p in (straight, resumed)]
    assert strip[0] == strip[1]
    assert any(v > 0 for k, v in strip[0][-1].items() if k.startswith("safety/lambda/"))
    assert resumed.multipliers is not None
    assert straight.multipliers is not None
    assert resumed.multipliers.state() == straight.multipliers.state()


def test_resuming_with_another_safety_config_is_refused(tmp_path: Path) -> None:
    PPO(_cfg(), SliceVectorEnv(4, "testbed-v0", seed=5, backend="numpy"), tmp_path).save()  # no safety method
    other = PPO(_cfg(), SliceVectorEnv(4, "testbed-v0", seed=5, backend="numpy"), tmp_path,
                safety=SafetyConfig(method="lagrangian"))  # fmt: skip
    with pytest.raises(NetsliceError, match=r"safety\.method: 'none' there, 'lagrangian' here"):
        other.resume()


@pytest.mark.slow
def test_the_lagrangian_meets_a_constraint_that_unconstrained_ppo_violates(tmp_path: Path) -> None:
    """single-v0 with the usage reward alone (no penalty): plain PPO starves the slice, the PID Lagrangian keeps it.

    Same learner, seed and budget; the only difference is the constraint (violation rate <= d = 5 %).
    """
    from netslice.intelligence.evaluate import evaluate
    from netslice.network.scenarios import load

    scenario = load("single-v0")
    cfg = PPOConfig(total_steps=600_000, minibatch_size=512, seed=0, cost_penalty=0.0, checkpoint_every=10**6)
    rates = {}
    for method in ("none", "pid"):
        envs = SliceVectorEnv(64, "single-v0", seed=0)
        safety = SafetyConfig(method=method, violation_limit=0.05)
        ppo = PPO(cfg, envs, tmp_path / method, safety=safety)
        ppo.train()
        rates[method] = evaluate(ppo.policy(), method, scenario, days=2, n_envs=8, seed=7).summary()
    assert rates["none"]["sla/violation_rate"] >= 0.5, rates  # unconstrained: usage is all that counts
    assert rates["pid"]["sla/violation_rate"] <= 0.05 * 1.2, rates
    assert rates["pid"]["usage/mean"] < 1.0  # not by provisioning everything


def test_the_indicator_signal_is_the_violation_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    envs = _RecordingEnv(4, "testbed-v0", seed=1, backend="numpy")
    ppo = PPO(_cfg(), envs, tmp_path, safety=SafetyConfig(method="pid", cost_signal="indicator"))
    seen: list[Any] = []
    real_learn = ppo_module.learn
    monkeypatch.setattr(ppo_module, "learn", lambda *a, **kw: seen.append(a[3]) or real_learn(*a, **kw))
    ppo.train(max_updates=1)
    cost = np.stack([c for c, _ in envs.played])
    np.testing.assert_array_equal(seen[0].cost, (cost > 0.0).astype(float))
