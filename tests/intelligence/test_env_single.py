"""The single-network Gymnasium env and its registration."""

from __future__ import annotations

import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env

from netslice.errors import ConfigError
from netslice.intelligence.envs import ENV_ID, SliceEnv, SliceVectorEnv
from netslice.network import scenarios
from netslice.orchestration.orchestrator import Orchestrator


@pytest.mark.parametrize("scenario", scenarios.available())
def test_check_env_passes_without_warnings(scenario: str) -> None:
    env = gymnasium.make(ENV_ID, scenario=scenario)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []


def test_city_constructs_and_steps() -> None:
    env = SliceEnv("city-v0", seed=0)
    obs, _ = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert obs in env.observation_space
    assert np.isfinite(reward)
    assert not terminated
    assert not truncated
    assert info["cost"].shape == (10,)


def test_episode_is_one_day_then_reset_needed() -> None:
    env = SliceEnv("testbed-v0", seed=0)
    env.reset(seed=0)
    action = np.full(env.action_space.shape, 0.3, dtype=np.float32)
    flags = [env.step(action)[3] for _ in range(24)]
    assert flags == [False] * 23 + [True]
    with pytest.raises(ResetNeeded):
        env.step(action)
    env.reset()
    assert not env.step(action)[3]


def test_info_is_per_slice_in_slice_order() -> None:
    env = SliceEnv("testbed-v0", seed=0)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.full(env.action_space.shape, 0.3, dtype=np.float32))
    assert set(info) == {"cost", "cost_raw", "usage", "modified", "action_clipped", "action_clip"}
    assert info["cost"].shape == (3,)
    assert info["usage"].shape == (4,)
    assert isinstance(info["modified"], bool)
    assert reward == pytest.approx(-info["usage"].mean(), abs=1e-12)


def _rollout(env: SliceEnv, seed: int | None, n: int = 10) -> np.ndarray:
    obs = [env.reset(seed=seed)[0]]
    action = np.full(env.action_space.shape, 0.25, dtype=np.float32)
    obs += [env.step(action)[0] for _ in range(n)]
    return np.array(obs)


def test_seeding_same_and_different() -> None:
    env = SliceEnv("testbed-v0")
    a, b, c = _rollout(env, 11), _rollout(env, 11), _rollout(env, 12)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(a, _rollout(SliceEnv("testbed-v0"), 11))  # a fresh env too


def test_make_vec_uses_the_native_vector_env() -> None:
    envs = gymnasium.make_vec(ENV_ID, num_envs=3, scenario="testbed-v0")
    assert isinstance(envs.unwrapped, SliceVectorEnv)
    assert envs.num_envs == 3
    assert envs.single_observation_space.shape == (44,)


def test_orchestrator_must_run_one_network() -> None:
    with pytest.raises(ConfigError, match="one network"):
        SliceEnv(orchestrator=Orchestrator.create("testbed-v0", n_envs=2, seed=0))
    with pytest.raises(ConfigError, match="render_mode"):
        SliceEnv(render_mode="human")
