"""The per-slice PettingZoo ParallelEnv."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from netslice.intelligence.envs.features import ALLOC_START, N_SLICE_FEATURES
from netslice.intelligence.envs.parallel import N_AGENT_FEATURES, SliceParallelEnv
from netslice.network import scenarios
from netslice.orchestration.lifecycle import scenario_profile
from netslice.orchestration.orchestrator import Orchestrator


def _static(name: str) -> bool:
    """Whether every slice of the scenario is provisioned for good (no ``arrivals`` section)."""
    return getattr(scenarios.load(name).spec, "arrivals", None) is None


STATIC = [name for name in scenarios.available() if _static(name)]
DYNAMIC = [name for name in scenarios.available() if not _static(name)]


@pytest.mark.parametrize("scenario", STATIC + DYNAMIC)
def test_parallel_api(scenario: str) -> None:
    env = SliceParallelEnv(scenario, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parallel_api_test(env, num_cycles=100)  # crosses the end of the testbed's 24-slot episode
    messages = [str(w.message) for w in caught]
    if scenario in DYNAMIC:  # most of a slot's possible successors never arrive in an episode
        messages = [m for m in messages if not m.startswith("No agents present but not all possible_agents")]
    assert messages == []


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


def test_agents_leave_and_join_with_the_orchestrators_lifecycle() -> None:
    env = SliceParallelEnv("metro-v0", seed=0)
    orch = env.orch
    assert isinstance(orch, Orchestrator)
    env.reset(seed=0)
    cols = {a: np.full(7, 0.15, np.float32) for a in env.possible_agents}
    env.step(cols)
    orch.terminate_slice("urllc")
    obs, rewards, terminations, truncations, infos = env.step({a: cols[a] for a in env.agents})
    assert terminations["slice_urllc"]
    assert rewards["slice_urllc"] == 0.0
    assert infos["slice_urllc"]["cost"] == 0.0
    assert not any(v for a, v in terminations.items() if a != "slice_urllc")
    assert "slice_urllc" not in env.agents
    assert len(env.agents) == 4
    assert env.possible_agents == [f"slice_{n}" for n in ("embb", "urllc", "mmtc", "mar", "v2x")]
    # the others' totals count present slices only (the released one holds nothing)
    alloc = {a: o[ALLOC_START : ALLOC_START + 7] for a, o in obs.items()}
    np.testing.assert_allclose(obs["slice_embb"][N_SLICE_FEATURES + 2 :],
                               sum(alloc[a] for a in env.agents if a != "slice_embb"), atol=1e-6)  # fmt: skip
    obs, rewards, terminations, _, _ = env.step({a: cols[a] for a in env.agents})
    assert "slice_urllc" not in obs
    assert "slice_urllc" not in rewards
    orch.create_slice("urllc-2", scenario_profile(orch.scenario, 1))
    obs, rewards, terminations, truncations, infos = env.step({a: cols[a] for a in env.agents})
    # a newly provisioned slice appears in the next observation dict, with reward 0 and not done, under a new id:
    # a terminated agent never comes back (the id is added to possible_agents, a static scenario listing none)
    assert "slice_urllc" not in obs
    assert "slice_urllc#1" in obs
    assert env.possible_agents[-1] == "slice_urllc#1"
    assert obs["slice_urllc#1"] in env.observation_space("slice_urllc#1")
    assert rewards["slice_urllc#1"] == 0.0
    assert not terminations["slice_urllc#1"]
    assert not truncations["slice_urllc#1"]
    assert "slice_urllc#1" in env.agents
    # it ran that slot on the allocation its admission put in force (not starved)
    assert obs["slice_urllc#1"][ALLOC_START : ALLOC_START + 7].any()
    cols["slice_urllc#1"] = cols["slice_urllc"]
    obs, rewards, terminations, _, _ = env.step({a: cols[a] for a in env.agents})
    assert rewards["slice_urllc#1"] < 0.0
    assert not terminations["slice_urllc#1"]
    # a new episode starts from the slot ids again
    env.reset(seed=0)
    assert all("#" not in a for a in env.agents)


def _slot(env: SliceParallelEnv, agent: str) -> int:
    """The slice slot an agent id stands for (``slice_<name>`` or ``slice_<name>#<n>``)."""
    return env.spaces.slices.index(agent.split("#")[0].removeprefix("slice_"))


@pytest.mark.parametrize("scenario", DYNAMIC)
def test_dynamic_scenario_agents_follow_the_slices(scenario: str) -> None:
    env = SliceParallelEnv(scenario, seed=0, slots_per_episode=96)
    assert len(env.possible_agents) == len(set(env.possible_agents)) == env.n_slices * 97  # each slot's 96 successors
    obs, infos = env.reset(seed=0)
    assert set(obs) == set(infos) == set(env.agents)
    active = env.orch.observation().active
    assert sorted(_slot(env, a) for a in env.agents) == [k for k in range(env.n_slices) if active[k]]
    joined = left = 0
    finished: set[str] = set()
    for _ in range(96):
        before = set(env.agents)
        obs, rewards, terminations, truncations, infos = env.step({a: np.full(7, 0.2, np.float32) for a in before})
        active = env.orch.observation().active
        assert set(obs) == set(rewards) == set(terminations) == set(truncations) == set(infos)
        assert before <= set(obs)
        assert all(active[_slot(env, a)] for a in set(obs) - before)
        assert not (set(obs) - before) & finished  # a terminated agent never comes back
        finished |= {a for a, t in terminations.items() if t}
        left += sum(terminations.values())
        joined += len(set(obs) - before)
        if not env.agents:
            break
        assert sorted(_slot(env, a) for a in env.agents) == [k for k in range(env.n_slices) if active[k]]
        assert set(env.agents) <= set(env.possible_agents)
        assert all(o in env.observation_space(a) for a, o in obs.items())
        assert all(not terminations[a] for a in env.agents)
    assert joined > 0
    assert left > 0
    assert any("#" in a for a in finished | set(env.agents))  # some slot had a second tenant
