"""Day-history features: known answers, vectorised = one network at a time, PPO and behaviour cloning with them
(exact resume, checkpoints, warm starts), and what they refuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from netslice.errors import ConfigError
from netslice.intelligence.agents.checkpoint import CheckpointError
from netslice.intelligence.agents.policy import PPOPolicy
from netslice.intelligence.agents.ppo import PPO, PPOConfig
from netslice.intelligence.agents.warm_config import WarmStartConfig
from netslice.intelligence.envs.day_history import DayHistory, n_features
from netslice.intelligence.envs.features import N_SLICE_FEATURES
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.imitation.bc import clone
from netslice.intelligence.imitation.bc_config import BCConfig
from netslice.intelligence.imitation.dataset import collect
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.intelligence.run_config import RunConfig
from netslice.network.scenarios import Scenario
from netslice.network.traffic import diurnal_profile

K = 3
TIMING = ("charts/sps", "time/rollout_s", "time/learn_s")


def _obs(testbed: Scenario, hour_coming: float, factors: list[float] | None) -> np.ndarray:
    """One encoded observation whose measured load is the profile times ``factors`` (None: a reset observation)."""
    p = testbed.params.traffic
    o = np.zeros(N_SLICE_FEATURES * K + 2)
    angle = 2 * np.pi * hour_coming / 24.0
    o[-2], o[-1] = np.sin(angle), np.cos(angle)
    if factors is not None:
        profile = diurnal_profile(p.harmonics, np.array(hour_coming - 1.0)) / p.profile_peak
        o[np.arange(K) * N_SLICE_FEATURES] = profile * np.asarray(factors)  # active UEs / scale
    return o


def test_the_features_are_the_days_log_ratio_to_the_profile(testbed: Scenario) -> None:
    h = DayHistory.create(testbed, 1)
    first = h.features(_obs(testbed, 0.0, None)[None])[0]
    assert first.shape == (N_SLICE_FEATURES * K + 2 + n_features(K),)
    np.testing.assert_array_equal(first[-9:], 0.0)  # nothing measured yet
    p = testbed.params.traffic
    h.features(_obs(testbed, 1.0, [np.exp(0.3), np.exp(-0.2), 1.0])[None])
    out = h.features(_obs(testbed, 2.0, [np.exp(0.1), 0.0, np.exp(1.0)])[None])[0]  # slice 1 not provisioned
    np.testing.assert_allclose(out[-9:-6], [0.2, -0.2, 0.5], atol=1e-6)  # means over each slice's measured slots
    np.testing.assert_allclose(out[-6:-3], [0.1, -0.2, 1.0], atol=1e-6)  # the last measured ratio
    np.testing.assert_allclose(out[-3:], np.array([2, 1, 2]) / 24)  # measured slots / slots per day
    clipped = _obs(testbed, 3.0, [1.0, 1.0, 1.0])
    clipped[2 * N_SLICE_FEATURES] = np.float32(p.min_fraction)  # slice 2's load at the lower clip: no information
    at_clip = h.features(clipped[None], update=False)[0]
    np.testing.assert_allclose(at_clip[[-9, -6, -3]], [0.4 / 3, 0.0, 3 / 24], atol=1e-6)  # slice 0: 0.3, 0.1, 0
    np.testing.assert_allclose(at_clip[[-7, -4, -1]], [0.5, 1.0, 2 / 24], atol=1e-6)  # slice 2 as before
    peek = h.features(_obs(testbed, 3.0, [1.0, 1.0, 1.0])[None], update=False)[0]
    again = h.features(_obs(testbed, 3.0, [1.0, 1.0, 1.0])[None])[0]
    np.testing.assert_array_equal(peek, again)  # update=False: the same features, the history unchanged
    reset = h.features(_obs(testbed, 0.0, None)[None])[0]
    np.testing.assert_array_equal(reset[-9:], 0.0)  # a reset observation clears the day


def test_vectorised_equals_one_network_at_a_time(testbed: Scenario) -> None:
    envs = SliceVectorEnv(4, testbed, seed=3)
    obs, _ = envs.reset(seed=3)
    rule = RuleBasedPolicy.from_scenario(testbed)
    together = DayHistory.create(testbed, 4)
    alone = [DayHistory.create(testbed, 1) for _ in range(4)]
    for _ in range(30):  # across the day's end
        batch = together.features(obs)
        for i, h in enumerate(alone):
            np.testing.assert_allclose(h.features(obs[i : i + 1])[0], batch[i], rtol=1e-12, atol=1e-14)
        obs, *_ = envs.step(rule.act(obs))
    assert np.abs(batch[:, -9:-6]).max() > 0.01  # the days differ from the profile


def _ppo(run_dir: Path, warm: WarmStartConfig | None = None, **kw: object) -> PPO:
    envs = SliceVectorEnv(4, "testbed-v0", seed=5, backend="numpy")
    cfg = PPOConfig(**{"total_steps": 4 * 8 * 4, "num_steps": 8, "minibatch_size": 16, "hidden": (16,),  # type: ignore[arg-type]
                       "checkpoint_every": 1, "day_history": True, **kw})  # fmt: skip
    return PPO(cfg, envs, run_dir, warm=warm)


def test_ppo_with_the_features_resumes_exactly_and_its_checkpoint_acts_alike(tmp_path: Path) -> None:
    straight = _ppo(tmp_path / "a")
    assert straight.n_obs == N_SLICE_FEATURES * K + 2 + n_features(K)
    straight.train(max_updates=2)
    first = _ppo(tmp_path / "b")
    first.train(max_updates=2)
    resumed = _ppo(tmp_path / "b")
    assert resumed.resume()  # 16 slots into a 24-slot day: the histories matter
    straight.train(max_updates=1)
    resumed.train(max_updates=1)
    rows = [[{k: v for k, v in r.items() if k not in TIMING} for r in p.stats.history] for p in (straight, resumed)]
    assert rows[0] == rows[1]
    for x, y in zip(straight.agent.state_dict().values(), resumed.agent.state_dict().values(), strict=True):
        assert torch.equal(x, y)
    loaded = PPOPolicy.load(straight.save())
    live = straight.policy()
    envs = SliceVectorEnv(3, "testbed-v0", seed=8)
    obs, _ = envs.reset(seed=8)
    for _ in range(5):
        a = live.act(obs)
        np.testing.assert_array_equal(loaded.act(obs), a)
        obs, *_ = envs.step(a)
    with pytest.raises(ConfigError, match="observations of 44 values"):
        loaded.act(np.zeros((3, 45)))


def test_a_clone_with_the_features_warm_starts_ppo_and_a_plain_run_refuses_it(
    tmp_path: Path, testbed: Scenario
) -> None:
    demos = collect(RuleBasedPolicy.from_scenario(testbed), "rule", testbed, days=2, n_envs=2, seed=0)
    ppo_cfg = PPOConfig(hidden=(16,), day_history=True)
    with pytest.raises(ConfigError, match="day_history: behaviour cloning with the day-history features"):
        clone(demos, ppo_cfg, BCConfig(epochs=1, holdout=0.0))
    c = clone(demos, ppo_cfg, BCConfig(epochs=3, holdout=0.0), scenario=testbed)
    assert c.agent.n_obs == N_SLICE_FEATURES * K + 2 + n_features(K)
    assert c.history[-1]["bc/loss"] < c.history[0]["bc/loss"]
    path = c.policy().save(tmp_path / "clone.pt", ppo_cfg)
    warm = WarmStartConfig(actor=str(path))
    started = _ppo(tmp_path / "w", warm=warm)
    for x, y in zip(c.agent.actor.parameters(), started.agent.actor.parameters(), strict=True):
        assert torch.equal(x, y)
    with pytest.raises(CheckpointError, match="day_history"):
        _ppo(tmp_path / "p", warm=warm, day_history=False)


@pytest.mark.parametrize("kw", [{"agents": "per-slice"}, {"agents": "per-domain"}, {"workers": 2}])
def test_the_features_are_refused_where_the_collector_does_not_keep_them(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="day_history: the day-history features"):
        RunConfig.from_dict({"ppo": {"day_history": True}, **kw})
