"""stable-baselines3 integration: the env checker, the VecEnv adapter of benchmarks/sb3_comparison.py, SB3 PPO.

Skipped when the ``sb3`` extra (stable-baselines3) is not installed.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.slow

sb3 = pytest.importorskip("stable_baselines3")

from stable_baselines3.common.callbacks import BaseCallback  # noqa: E402
from stable_baselines3.common.env_checker import check_env  # noqa: E402
from stable_baselines3.common.utils import check_for_correct_spaces  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, VecCheckNan, VecMonitor  # noqa: E402

from netslice.intelligence.envs.single import SliceEnv  # noqa: E402
from netslice.intelligence.envs.vector import SliceVectorEnv  # noqa: E402

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "sb3_comparison.py"
SINGLE = "single-v0"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """benchmarks/sb3_comparison.py, imported from its file (the benchmarks folder is not a package)."""
    name = "netslice_bench_sb3_comparison"
    spec = importlib.util.spec_from_file_location(name, BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _actions(rng: np.random.Generator, n: int, n_act: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    return rng.uniform(0.0, 1.0, size=(n, n_act)).astype(np.float32)


def test_single_env_passes_the_sb3_env_checker() -> None:
    env = SliceEnv(SINGLE, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # advice only: "use a symmetric [-1, 1] action space"
        check_env(env, warn=True, skip_render_check=True)


def test_adapter_is_a_well_formed_vec_env(bench: ModuleType) -> None:
    n, horizon, penalty = 4, 5, 6.0
    adapter = bench.SliceVecEnvAdapter(SliceVectorEnv(n, SINGLE, seed=0, max_episode_steps=horizon), penalty)
    single = SliceEnv(SINGLE)
    obs_shape, n_act = single.observation_space.shape, adapter.action_space.shape[0]
    assert obs_shape is not None
    check_for_correct_spaces(adapter, single.observation_space, single.action_space)
    assert adapter.num_envs == n
    assert adapter.render_mode is None
    assert adapter.get_attr("max_episode_steps") == [horizon] * n
    assert adapter.get_attr("n_slices", indices=[1, 2]) == [single.n_slices] * 2
    assert adapter.env_is_wrapped(VecMonitor) == [False] * n
    # SB3 wrappers on top: NaN/inf checks that raise, and episode statistics.
    venv = VecMonitor(VecCheckNan(adapter, raise_exception=True))
    venv.seed(7)
    obs = venv.reset()
    assert isinstance(obs, np.ndarray)
    assert obs.shape == (n, *obs_shape)
    np.testing.assert_array_equal(obs, SliceVectorEnv(n, SINGLE, max_episode_steps=horizon).reset(seed=7)[0])
    rng = np.random.default_rng(0)
    episode_return = np.zeros(n)
    adapter.pop_stats()
    for t in range(1, 2 * horizon + 1):
        obs, rewards, dones, infos = venv.step(_actions(rng, n, n_act))
        assert isinstance(obs, np.ndarray)
        assert all(single.observation_space.contains(o) for o in obs)
        assert rewards.shape == (n,)
        assert rewards.dtype == np.float32
        assert dones.shape == (n,)
        assert dones.dtype == np.bool_
        assert isinstance(infos, list)
        assert len(infos) == n
        for i, info in enumerate(infos):
            expected = info["env_reward"] - penalty * float(np.sum(info["cost"]))
            assert rewards[i] == pytest.approx(expected, rel=1e-6, abs=1e-6)
            episode_return[i] += rewards[i]
            assert info["TimeLimit.truncated"] == bool(dones[i])
            assert ("terminal_observation" in info) == bool(dones[i])
        assert dones.all() == (t % horizon == 0)
        assert dones.any() == dones.all()
        if dones.all():
            for i, info in enumerate(infos):
                assert single.observation_space.contains(info["terminal_observation"])
                assert not np.array_equal(info["terminal_observation"], obs[i])  # obs is the new episode's first
                assert info["episode"]["l"] == horizon  # VecMonitor saw the whole episode
                assert info["episode"]["r"] == pytest.approx(episode_return[i], rel=1e-5, abs=1e-5)
            episode_return[:] = 0.0
    stats = adapter.pop_stats()
    assert stats["steps"] == 2 * horizon * n
    assert stats["train_reward"] == pytest.approx(stats["env_reward"] - penalty * stats["cost"])
    venv.close()


def test_adapter_steps_like_dummy_vec_env_of_single_envs(bench: ModuleType) -> None:
    """One testbed-v0 network (random traffic): the batched env through the adapter and SB3's DummyVecEnv of a
    SliceEnv agree step by step, across episode ends (autoreset, terminal observation, seeding)."""
    horizon = 4
    adapter = bench.SliceVecEnvAdapter(SliceVectorEnv(1, "testbed-v0", seed=0, max_episode_steps=horizon))
    dummy = DummyVecEnv([lambda: SliceEnv("testbed-v0", seed=0, max_episode_steps=horizon)])
    adapter.seed(3)
    dummy.seed(3)
    np.testing.assert_array_equal(adapter.reset(), dummy.reset())
    rng = np.random.default_rng(1)
    for _ in range(3 * horizon):
        action = _actions(rng, 1, adapter.action_space.shape[0])
        obs_a, rew_a, done_a, info_a = adapter.step(action)
        obs_d, rew_d, done_d, info_d = dummy.step(action)
        assert isinstance(obs_d, np.ndarray)
        np.testing.assert_allclose(obs_a, obs_d, rtol=1e-6)
        np.testing.assert_allclose(rew_a, rew_d, rtol=1e-6)
        np.testing.assert_array_equal(done_a, done_d)
        assert info_a[0]["TimeLimit.truncated"] == info_d[0]["TimeLimit.truncated"]
        if done_a[0]:
            np.testing.assert_allclose(info_a[0]["terminal_observation"], info_d[0]["terminal_observation"], rtol=1e-6)


class _RolloutRewards(BaseCallback):
    """Mean training reward per step of every rollout (from the adapter's statistics)."""

    def __init__(self, adapter: Any) -> None:
        super().__init__(verbose=0)
        self.adapter = adapter
        self.rewards: list[float] = []

    def _on_rollout_end(self) -> None:
        self.rewards.append(self.adapter.pop_stats()["train_reward"])

    def _on_step(self) -> bool:
        return True


def test_sb3_ppo_trains_on_single_v0_and_improves(bench: ModuleType) -> None:
    import torch

    torch.set_num_threads(1)
    adapter = bench.SliceVecEnvAdapter(SliceVectorEnv(16, SINGLE, seed=0), cost_penalty=6.0)
    model = sb3.PPO(
        "MlpPolicy", adapter, n_steps=64, batch_size=256, n_epochs=4, gamma=0.5, gae_lambda=0.95,
        learning_rate=1e-3, policy_kwargs={"net_arch": {"pi": [64, 64], "vf": [64, 64]}}, seed=0, device="cpu",
    )  # fmt: skip
    hook = _RolloutRewards(adapter)
    model.learn(total_timesteps=20_000, callback=hook)
    assert model.num_timesteps >= 20_000
    rewards = np.asarray(hook.rewards)
    assert len(rewards) == int(np.ceil(20_000 / (64 * 16)))
    assert np.isfinite(rewards).all()
    assert rewards[-3:].mean() > rewards[0] + 1.0, rewards
    policy = bench.SB3Policy(model)
    obs, _ = SliceVectorEnv(2, SINGLE, seed=1).reset(seed=1)
    action = policy.act(obs)
    assert action.shape == (2, adapter.action_space.shape[0])
    assert ((action >= 0.0) & (action <= 1.0)).all()
