"""PPO building blocks (GAE, normaliser, checkpoints), resume continuation, and a learning test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from netslice.errors import ConfigError
from netslice.intelligence.agents.checkpoint import load_checkpoint, save_checkpoint
from netslice.intelligence.agents.gae import gae
from netslice.intelligence.agents.nets import ActorCritic, NoiseSpace
from netslice.intelligence.agents.normalize import RunningMeanStd
from netslice.intelligence.agents.ppo import PPO, PPOConfig, PPOPolicy
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.policies.oracle import Oracle
from netslice.network.scenarios import load


def _gae_reference(r: np.ndarray, v: np.ndarray, d: np.ndarray, v_next: np.ndarray, gamma: float, lam: float):
    """Definition: A_t = sum_l (gamma lam)^l delta_{t+l}, cut at episode ends (scalar loops)."""
    steps, n = r.shape
    adv = np.zeros_like(r)
    for e in range(n):
        for t in range(steps):
            total, factor = 0.0, 1.0
            for u in range(t, steps):
                nxt = v_next[e] if u == steps - 1 else v[u + 1, e]
                delta = r[u, e] + gamma * nxt * (1.0 - d[u, e]) - v[u, e]
                total += factor * delta
                if d[u, e]:
                    break
                factor *= gamma * lam
            adv[t, e] = total
    return adv


def test_gae_matches_its_definition_with_episode_ends() -> None:
    rng = np.random.default_rng(0)
    r, v = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    d = np.zeros((7, 3))
    d[2, 0] = d[5, 1] = d[6, 2] = 1.0
    v_next = rng.normal(size=3)
    adv, ret = gae(r, v, d, v_next, 0.9, 0.8)
    np.testing.assert_allclose(adv, _gae_reference(r, v, d, v_next, 0.9, 0.8), rtol=1e-12)
    np.testing.assert_allclose(ret, adv + v)


def test_gae_with_lambda_one_gives_discounted_returns() -> None:
    r = np.array([[1.0], [2.0], [3.0]])
    _, ret = gae(r, np.zeros((3, 1)), np.zeros((3, 1)), np.array([10.0]), 0.5, 1.0)
    # G_0 = 1 + 0.5 * 2 + 0.25 * 3 + 0.125 * 10
    np.testing.assert_allclose(ret[:, 0], [1 + 1 + 0.75 + 1.25, 2 + 1.5 + 2.5, 3 + 5.0])


def test_running_mean_std_equals_numpy_over_all_batches() -> None:
    rng = np.random.default_rng(1)
    batches = [rng.normal(3.0, 2.0, size=(n, 4)) for n in (5, 17, 1, 40)]
    rms = RunningMeanStd.zeros(4)
    for b in batches:
        rms.update(b)
    everything = np.concatenate(batches)
    np.testing.assert_allclose(rms.mean, everything.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(rms.var, everything.var(axis=0), rtol=1e-4)
    restored = RunningMeanStd.from_state_dict(rms.state_dict())
    np.testing.assert_array_equal(restored.normalize(everything), rms.normalize(everything))


def test_a_failed_checkpoint_write_keeps_the_previous_file(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.pt", {"x": torch.ones(3)})
    with pytest.raises(Exception):  # noqa: B017, PT011 - pickling a lambda fails inside torch.save
        save_checkpoint(path, {"bad": lambda: 0})
    assert torch.equal(load_checkpoint(path)["x"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind


def _ppo(run_dir: Path, noise_space: NoiseSpace = "share") -> PPO:
    cfg = PPOConfig(
        total_steps=8 * 24 * 8, num_steps=24, minibatch_size=64, checkpoint_every=1, seed=3, noise_space=noise_space
    )
    return PPO(cfg, SliceVectorEnv(8, "testbed-v0", seed=3, backend="numpy"), run_dir)


@pytest.mark.parametrize("noise_space", ["share", "logit"])
def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path: Path, noise_space: NoiseSpace) -> None:
    straight = _ppo(tmp_path / "a", noise_space)
    straight.train(max_updates=4)
    first = _ppo(tmp_path / "b", noise_space)
    first.train(max_updates=2)
    resumed = _ppo(tmp_path / "b", noise_space)
    assert resumed.resume()
    assert resumed.update == 2
    resumed.train(max_updates=2)
    timing = ("charts/sps", "time/rollout_s", "time/learn_s")  # wall-clock figures: never equal twice
    strip = [{k: v for k, v in row.items() if k not in timing} for row in resumed.stats.history]
    assert strip == [{k: v for k, v in row.items() if k not in timing} for row in straight.stats.history]
    for a, b in zip(straight.agent.state_dict().values(), resumed.agent.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(straight.obs, resumed.obs)
    assert resumed.ledger.summary() == straight.ledger.summary()  # the ledger's open days continue too
    assert resumed.ledger.state().keys() == straight.ledger.state().keys()
    for key, value in straight.ledger.state().items():
        np.testing.assert_array_equal(resumed.ledger.state()[key], value)
    assert strip[-1]["train/slots"] == 4 * 24 * 8


class _RecordingEnv(SliceVectorEnv):
    """The vector env, keeping each slot's cost, reward and episode ends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.played: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def step(self, actions: np.ndarray) -> Any:
        out = super().step(actions)
        self.played.append((out[4]["cost"].copy(), np.asarray(out[1]).copy(), np.asarray(out[3]).copy()))
        return out


def test_update_rows_carry_the_cumulative_training_violations_of_every_slot_played(tmp_path: Path) -> None:
    cfg = PPOConfig(total_steps=4 * 30 * 3, num_steps=30, minibatch_size=64, seed=5)
    envs = _RecordingEnv(4, "testbed-v0", seed=5, backend="numpy")  # 30-slot rollouts over 24-slot days
    ppo = PPO(cfg, envs, tmp_path)
    ppo.train()
    slices = envs.encoder.slice_names
    for u, row in enumerate(ppo.stats.history, start=1):
        played = envs.played[: u * cfg.num_steps]
        missed = np.stack([c for c, _, _ in played]) > 0.0  # (slots, envs, K)
        assert row["train/slots"] == missed.shape[0] * 4 == row["charts/global_step"]
        assert row["train/violation_rate"] == missed.any(axis=2).sum() / missed[..., 0].size
        for k, name in enumerate(slices):
            assert row[f"train/violation_rate/{name}"] == missed[..., k].sum() / missed[..., k].size
        usage = -np.stack([r for _, r, _ in played])
        assert row["train/usage_mean"] == pytest.approx(usage.mean(), rel=1e-12)
        assert row["train/days"] == np.stack([t for _, _, t in played]).sum()
    missed_slots = (np.stack([c for c, _, _ in envs.played])[:72] > 0.0).any(axis=2)  # 3 complete days
    rates = np.sort(missed_slots.reshape(3, 24, 4).sum(axis=1).ravel() / 24)  # per (day, network)
    summary = ppo.ledger.summary()
    assert summary["days"] == 12  # 90 slots per network: 3 days and 18 slots
    assert summary["partial_days"] == 4
    cdf = summary["day_violation_rate_cdf"]
    np.testing.assert_array_equal(cdf["rate"], np.unique(rates))
    np.testing.assert_array_equal(cdf["fraction"], [np.mean(rates <= r) for r in np.unique(rates)])


def test_logit_noise_is_relative_to_the_share_and_the_mean_is_the_same() -> None:
    torch.manual_seed(0)
    share = ActorCritic(5, 3, (8,), init_log_std=-1.0, init_mean=0.05, noise_space="share")
    logit = ActorCritic(5, 3, (8,), init_log_std=-1.0, init_mean=0.05, noise_space="logit")
    logit.load_state_dict(share.state_dict())
    obs = torch.randn(4000, 5)
    torch.testing.assert_close(share.mean(obs), logit.mean(obs))
    with torch.no_grad():
        a_share = share.squash(share.dist(obs).sample().numpy())
        a_logit = logit.squash(logit.dist(obs).sample().numpy())
    assert ((a_logit > 0.0) & (a_logit < 1.0)).all()
    assert (a_share == 0.0).mean() > 0.3  # share noise of sd 0.37 around 0.05: clipped to 0 a third of the time
    # Logit noise of sd s: the share's log-ratio to the mean has sd close to s for small shares.
    ratio = np.log(a_logit / logit.mean(obs).detach().numpy())
    assert abs(ratio.std() - np.exp(-1.0)) < 0.05


def test_unknown_noise_space_or_activation_is_refused() -> None:
    with pytest.raises(ConfigError, match="noise_space"):
        ActorCritic(5, 3, (8,), -1.0, 0.3, noise_space="tanh")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="activation"):
        ActorCritic(5, 3, (8,), -1.0, 0.3, activation="gelu")  # type: ignore[arg-type]


def test_a_relu_checkpoint_loads_as_the_same_policy(tmp_path: Path) -> None:
    cfg = PPOConfig(total_steps=8 * 24 * 8, minibatch_size=64, seed=3, activation="relu")
    ppo = PPO(cfg, SliceVectorEnv(8, "testbed-v0", seed=3, backend="numpy"), tmp_path)
    assert any(isinstance(m, torch.nn.ReLU) for m in ppo.agent.actor)
    ppo.train(max_updates=1)
    ppo.save()
    obs = np.asarray(ppo.obs, dtype=np.float64)
    np.testing.assert_array_equal(PPOPolicy.load(ppo.checkpoint_path).act(obs), ppo.policy().act(obs))


def test_a_logit_noise_checkpoint_loads_as_the_same_policy(tmp_path: Path) -> None:
    ppo = _ppo(tmp_path, "logit")
    ppo.train(max_updates=1)
    ppo.save()
    obs = np.asarray(ppo.obs, dtype=np.float64)
    np.testing.assert_array_equal(PPOPolicy.load(ppo.checkpoint_path).act(obs), ppo.policy().act(obs))


@pytest.mark.slow
def test_ppo_learns_the_known_optimum_of_a_one_slice_scenario(tmp_path: Path) -> None:
    """single-v0: constant traffic, so the oracle's usage is the optimum; PPO must get close with few violations."""
    envs = SliceVectorEnv(64, "single-v0", seed=0)
    ppo = PPO(PPOConfig(total_steps=1_000_000, minibatch_size=512, seed=0), envs, tmp_path)
    ppo.train()
    scenario = load("single-v0")
    agent = evaluate(ppo.policy(), "ppo", scenario, days=2, n_envs=8, seed=7).summary()
    oracle = evaluate(Oracle.create(None), "oracle", scenario, days=2, n_envs=8, seed=7).summary()
    assert agent["sla/violation_rate"] <= 0.02
    assert agent["usage/mean"] <= 1.5 * oracle["usage/mean"], (agent["usage/mean"], oracle["usage/mean"])


def test_ppo_refuses_envs_without_same_step_autoreset(tmp_path: Path) -> None:
    envs = SliceVectorEnv(2, "testbed-v0", seed=0, autoreset_mode="next-step")
    with pytest.raises(ConfigError, match="autoreset_mode SAME_STEP"):
        PPO(PPOConfig(total_steps=48), envs, tmp_path)


def test_the_exploration_cap_runs_linearly_from_the_initial_to_the_final_log_std() -> None:
    cfg = PPOConfig(init_log_std=-1.5, final_log_std=-4.0)
    caps = [cfg.log_std_cap(u, 6) for u in range(6)]
    np.testing.assert_allclose(caps, [-1.5, -2.0, -2.5, -3.0, -3.5, -4.0])
    assert cfg.log_std_cap(9, 6) == -4.0  # past the end (a resumed run given more updates): the final value
    assert PPOConfig(init_log_std=-1.5).log_std_cap(3, 6) is None  # no cap: the learned value
    assert PPOConfig(noise_space="share", final_log_std=-3.5).log_std_cap(0, 4) == -2.5  # from the space's default
    for bad in (float("nan"), -11.0, 3.0):
        with pytest.raises(ConfigError, match=r"final_log_std: must be in \[-10, 2\]"):
            PPOConfig(final_log_std=bad)


def test_every_rollout_is_played_within_the_exploration_cap(tmp_path: Path) -> None:
    cfg = PPOConfig(total_steps=4 * 24 * 5, minibatch_size=32, seed=2, init_log_std=-1.0, final_log_std=-3.0)
    ppo = PPO(cfg, SliceVectorEnv(4, "testbed-v0", seed=2, backend="numpy"), tmp_path)
    seen: list[np.ndarray] = []
    collect = ppo.collector.collect

    def recording(agent: ActorCritic, *args: Any, **kwargs: Any) -> Any:
        seen.append(agent.log_std.detach().numpy().copy())  # the noise this rollout is played with
        return collect(agent, *args, **kwargs)

    ppo.collector.collect = recording  # type: ignore[method-assign]
    ppo.train()
    assert len(seen) == ppo.n_updates == 5
    for u, log_std in enumerate(seen):
        cap = -1.0 - 2.0 * u / 4
        assert (log_std <= cap + 1e-6).all()
        assert np.isclose(log_std.max(), cap) or u == 0  # the learned value is above the falling cap: it binds
    assert ppo.stats.history[-1]["policy/std"] == pytest.approx(np.exp(seen[-1]).mean(), rel=1e-6)
    # Without the cap the same run keeps the learned noise (about the initial value after 5 updates).
    free = PPO(PPOConfig(total_steps=4 * 24 * 5, minibatch_size=32, seed=2, init_log_std=-1.0),
               SliceVectorEnv(4, "testbed-v0", seed=2, backend="numpy"), tmp_path / "free")  # fmt: skip
    free.train()
    assert free.agent.log_std.detach().numpy().max() > -1.5
