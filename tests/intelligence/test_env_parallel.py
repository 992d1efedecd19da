"""The per-slice PettingZoo ParallelEnv."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from netslice.intelligence.envs.features import ALLOC_START, N_SLICE_FEATURES
from netslice.intelligence.envs.parallel import N_AGENT_FEATURES, SliceParallelEnv
from netslice.network import scenarios


@pytest.mark.parametrize("scenario", scenarios.available())
def test_parallel_api(scenario: str) -> None:
    env = SliceParallelEnv(scenario, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parallel_api_test(env, num_cycles=100)  # crosses the end of the testbed's 24-slot episode
    assert [str(w.message) for w in caught] == []


def test_agents_spaces_and_episode_end() -> None:
    env = SliceParallelEnv("testbed-v0", seed=0)
    assert env.possible_agents == ["slice_mar", "slice_video", "slice_iot"]
    obs, infos = env.reset(seed=0)
    assert env.agents == env.possible_agents
    assert set(infos) == set(env.agents)
    assert all(o.shape == (N_AGENT_FEATURES,) and o in env.observation_space(a) for a, o in obs.items())
    actions = {a: np.full(7, 0.2, dtype=np.float32) for a in env.agents}
    for t in range(24):
        _, _, terminations, truncations, _ = env.step(actions)
        assert not any(terminations.values())
        assert all(truncations.values()) == (t == 23)
    assert env.agents == []


def test_rewards_costs_and_observations_per_slice() -> None:
    env = SliceParallelEnv("testbed-v0", seed=1)
    env.reset(seed=1)
    cols = np.array(
        [
            [0.3, 0.1, 0.2],
            [0.1, 0.5, 0.1],
            [0.0, 0.0, 0.3],
            [0.0, 0.0, 0.3],
            [0.3, 0.4, 0.1],
            [0.2] * 3,
            [0.4, 0.2, 0.1],
        ]
    )
    actions = {a: cols[:, k].astype(np.float32) for k, a in enumerate(env.possible_agents)}
    env.step(actions)
    obs, rewards, _, _, infos = env.step(actions)  # second slot: the action runs the whole slot
    usage = np.stack([infos[a]["usage"] for a in env.possible_agents], axis=1)  # (4, K)
    expected = [0.5 * (cols[0] + cols[1]), cols[4], cols[5], cols[6]]
    np.testing.assert_allclose(usage, expected, atol=1e-7)
    for k, a in enumerate(env.possible_agents):
        assert rewards[a] == pytest.approx(-usage[:, k].mean(), abs=1e-7)
        assert 0.0 <= infos[a]["cost"] <= 1.0
        own = obs[a][ALLOC_START : ALLOC_START + 7]
        np.testing.assert_allclose(own, cols[:, k], atol=1e-7)
        others = obs[a][N_SLICE_FEATURES + 2 :]
        np.testing.assert_allclose(others, cols.sum(axis=1) - cols[:, k], atol=1e-6)
    state = env.state()
    assert state in env.state_space
    np.testing.assert_allclose(state[:N_SLICE_FEATURES], obs["slice_mar"][:N_SLICE_FEATURES])


def test_missing_agent_keeps_its_allocation() -> None:
    env = SliceParallelEnv("testbed-v0", seed=0)
    obs, _ = env.reset(seed=0)
    before = obs["slice_iot"][ALLOC_START : ALLOC_START + 7].copy()
    obs, rewards, _, _, _ = env.step({"slice_mar": np.full(7, 0.1, np.float32)})
    np.testing.assert_allclose(obs["slice_iot"][ALLOC_START : ALLOC_START + 7], before, atol=1e-7)
    assert set(rewards) == set(env.possible_agents)
