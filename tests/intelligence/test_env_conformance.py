"""Library conformance of the envs themselves: action clipping, rendering, reward formulations,
episode length, autoreset modes and per-env seeds (issue 10 items 2, 3, 4, 5, 6)."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode

from netslice.errors import ConfigError, InvalidAllocationError
from netslice.intelligence.envs.features import ALLOC_START, N_SLICE_FEATURES
from netslice.intelligence.envs.parallel import SliceParallelEnv
from netslice.intelligence.envs.single import SliceEnv
from netslice.intelligence.envs.vector import SliceVectorEnv

K = 3  # testbed-v0 slices
A = 7 * K


def _kpis(obs: np.ndarray) -> np.ndarray:
    """KPI features (0-5) of each slice block, ``(..., K, 6)``."""
    return obs[..., : K * N_SLICE_FEATURES].reshape(*obs.shape[:-1], K, N_SLICE_FEATURES)[..., :ALLOC_START]


# ------------------------------------------------------------------------------------ item 4: clipping


def test_single_env_clips_slightly_out_of_range_actions() -> None:
    env, ref = SliceEnv("testbed-v0", seed=0), SliceEnv("testbed-v0", seed=0)
    env.reset(seed=3)
    ref.reset(seed=3)
    action = np.full(A, 0.4, dtype=np.float32)
    action[0], action[1] = 1.0001, -0.002
    obs, reward, _, _, info = env.step(action)
    obs_ref, reward_ref, _, _, info_ref = ref.step(np.clip(action, 0.0, 1.0))
    np.testing.assert_array_equal(obs, obs_ref)
    assert reward == reward_ref
    assert info["action_clipped"] is True
    assert info["action_clip"] == pytest.approx(0.002, abs=1e-6)
    assert info_ref["action_clipped"] is False
    assert info_ref["action_clip"] == 0.0


def test_vector_env_clips_per_env_and_reports_which() -> None:
    envs = SliceVectorEnv(2, "testbed-v0", seed=0)
    envs.reset(seed=0)
    actions = np.full((2, A), 0.4)
    actions[1, 5] = 1.5
    _, _, _, _, info = envs.step(actions)
    np.testing.assert_array_equal(info["action_clipped"], [False, True])
    np.testing.assert_allclose(info["action_clip"], [0.0, 0.5])


def test_parallel_env_clips_per_agent() -> None:
    env = SliceParallelEnv("testbed-v0", seed=0)
    env.reset(seed=0)
    actions = {a: np.full(7, 0.3, dtype=np.float32) for a in env.possible_agents}
    actions["slice_video"][2] = 1.25
    _, _, _, _, infos = env.step(actions)
    assert infos["slice_video"]["action_clipped"] is True
    assert infos["slice_video"]["action_clip"] == pytest.approx(0.25)
    assert infos["slice_mar"]["action_clipped"] is False


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_actions_stay_errors(bad: float) -> None:
    env = SliceEnv("testbed-v0", seed=0)
    env.reset(seed=0)
    action = np.full(A, 0.3)
    action[4] = bad
    with pytest.raises(InvalidAllocationError, match=r"action\[4\]: must be finite"):
        env.step(action)
    envs = SliceVectorEnv(2, "testbed-v0", seed=0)
    envs.reset(seed=0)
    with pytest.raises(InvalidAllocationError, match="must be finite"):
        envs.step(np.where(np.arange(A) == 4, bad, 0.3)[None].repeat(2, axis=0))
    par = SliceParallelEnv("testbed-v0", seed=0)
    par.reset(seed=0)
    with pytest.raises(InvalidAllocationError, match=r"action\[slice_mar\]\[2\]: must be finite"):
        par.step({"slice_mar": np.where(np.arange(7) == 2, bad, 0.3)})


# ------------------------------------------------------------------------------------ item 2: rendering


def test_single_env_renders_text_and_picture() -> None:
    assert set(SliceEnv.metadata["render_modes"]) == {"ansi", "rgb_array"}
    assert SliceEnv.metadata["render_fps"] > 0
    text_env = SliceEnv("testbed-v0", seed=0, render_mode="ansi")
    text_env.reset(seed=0)
    text_env.step(np.full(A, 0.5, dtype=np.float32))
    text = text_env.render()
    assert isinstance(text, str)
    assert "prb_ul" in text
    assert "edge_cpu" in text
    assert "mar" in text
    assert "0.500" in text
    img_env = SliceEnv("testbed-v0", seed=0, render_mode="rgb_array")
    img_env.reset(seed=0)
    img_env.step(np.full(A, 0.2, dtype=np.float32))
    low = img_env.render()
    img_env.step(np.full(A, 0.9, dtype=np.float32))
    high = img_env.render()
    assert isinstance(low, np.ndarray)
    assert low.dtype == np.uint8
    assert low.ndim == 3
    assert low.shape[2] == 3
    assert low.shape == high.shape
    # Taller bars: fewer background pixels.
    assert (high == 255).all(axis=2).sum() < (low == 255).all(axis=2).sum()
    assert SliceEnv("testbed-v0", seed=0).render() is None


def test_vector_and_parallel_envs_render() -> None:
    envs = SliceVectorEnv(2, "testbed-v0", seed=0, render_mode="rgb_array")
    envs.reset(seed=0)
    frames = envs.render()
    assert isinstance(frames, tuple)
    assert len(frames) == 2
    assert all(isinstance(f, np.ndarray) and f.dtype == np.uint8 for f in frames)
    par = SliceParallelEnv("testbed-v0", seed=0, render_mode="ansi")
    par.reset(seed=0)
    assert "sla" in par.render()


@pytest.mark.parametrize("cls", [SliceEnv, SliceVectorEnv, SliceParallelEnv])
def test_unknown_render_mode_names_the_field(cls: type) -> None:
    with pytest.raises(ConfigError, match="render_mode: must be None or one of 'ansi', 'rgb_array', got 'human'"):
        cls(scenario="testbed-v0", render_mode="human")


# ------------------------------------------------------------------------------------ item 3: reward


def test_penalized_reward_subtracts_the_summed_cost() -> None:
    usage_env = SliceEnv("testbed-v0", seed=0)
    pen_env = SliceEnv("testbed-v0", seed=0, reward="penalized", cost_penalty=5.0)
    usage_env.reset(seed=1)
    pen_env.reset(seed=1)
    saw_cost = False
    for _ in range(6):
        action = np.full(A, 0.05, dtype=np.float32)  # starved slices: SLA cost
        _, r_usage, _, _, info_u = usage_env.step(action)
        _, r_pen, _, _, info_p = pen_env.step(action)
        assert "reward_usage" not in info_u
        assert info_p["reward_usage"] == r_usage
        assert r_pen == pytest.approx(r_usage - 5.0 * info_p["cost"].sum(), abs=1e-12)
        saw_cost |= info_p["cost"].sum() > 0
    assert saw_cost


def test_penalized_reward_in_vector_and_parallel_envs() -> None:
    envs = SliceVectorEnv(2, "testbed-v0", seed=0, reward="penalized")
    envs.reset(seed=0)
    _, reward, _, _, info = envs.step(np.full((2, A), 0.05))
    np.testing.assert_allclose(reward, info["reward_usage"] - 8.0 * info["cost"].sum(axis=1))
    par = SliceParallelEnv("testbed-v0", seed=0, reward="penalized")
    single = SliceEnv("testbed-v0", seed=0, reward="penalized")
    par.reset(seed=2)
    single.reset(seed=2)
    _, rewards, _, _, _ = par.step({a: np.full(7, 0.05) for a in par.possible_agents})
    _, r_single, _, _, _ = single.step(np.full(A, 0.05))
    assert sum(rewards.values()) == pytest.approx(r_single, abs=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reward": "cost"}, "reward: must be one of 'usage', 'penalized', got 'cost'"),
        ({"cost_penalty": -1.0}, "cost_penalty: must be a finite number >= 0, got -1.0"),
        ({"cost_penalty": float("nan")}, "cost_penalty: must be a finite number >= 0"),
    ],
)
def test_bad_reward_options_name_the_field(kwargs: dict[str, object], message: str) -> None:
    for cls in (SliceEnv, SliceVectorEnv, SliceParallelEnv):
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            cls(scenario="testbed-v0", **kwargs)


# ------------------------------------------------------------------------------------ item 5: episode length


def _episode_length(env: SliceEnv, cap: int = 200) -> int:
    env.reset(seed=0)
    for t in range(1, cap + 1):
        _, _, terminated, truncated, _ = env.step(np.full(A, 0.4, dtype=np.float32))
        if terminated or truncated:
            return t
    return cap + 1


def test_slots_per_episode_sets_the_env_own_length() -> None:
    assert _episode_length(SliceEnv("testbed-v0", seed=0)) == 24  # the scenario's day
    assert _episode_length(SliceEnv("testbed-v0", seed=0, slots_per_episode=5)) == 5
    assert _episode_length(SliceEnv("testbed-v0", seed=0, max_episode_steps=7)) == 7  # former name
    assert _episode_length(SliceEnv("testbed-v0", seed=0, slots_per_episode=None), cap=60) == 61  # never
    with pytest.raises(ConfigError, match="slots_per_episode: give slots_per_episode or max_episode_steps"):
        SliceEnv("testbed-v0", slots_per_episode=5, max_episode_steps=5)
    with pytest.raises(ConfigError, match="slots_per_episode: must be >= 1, got 0"):
        SliceEnv("testbed-v0", slots_per_episode=0)
    with pytest.raises(ConfigError, match="max_episode_steps: must be >= 1, got -2"):
        SliceVectorEnv(2, "testbed-v0", max_episode_steps=-2)


# ------------------------------------------------------------------------------------ item 6: autoreset modes


def _run(envs: SliceVectorEnv, steps: int) -> list[tuple[np.ndarray, ...]]:
    envs.reset(seed=4)
    out = []
    for _ in range(steps):
        # The action depends on the slot of the episode only (NEXT_STEP ignores it on reset steps).
        action = 0.1 + 0.05 * (envs.episode_slot[:, None] % 5) + np.zeros((envs.num_envs, A))
        obs, reward, terminated, truncated, info = envs.step(action)
        out.append((obs, reward, terminated, truncated, info))
    return out


def test_autoreset_mode_is_selectable_and_declared() -> None:
    for mode in AutoresetMode:
        envs = SliceVectorEnv(2, "testbed-v0", seed=0, autoreset_mode=mode.value)
        assert envs.metadata["autoreset_mode"] == mode
    assert SliceVectorEnv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP  # netslice PPO's mode
    with pytest.raises(ConfigError, match="autoreset_mode: must be an AutoresetMode or one of"):
        SliceVectorEnv(2, "testbed-v0", autoreset_mode="sometimes")


def test_next_step_returns_the_final_obs_then_resets_on_the_next_step() -> None:
    L = 3
    steps = _run(SliceVectorEnv(2, "testbed-v0", seed=0, max_episode_steps=L, autoreset_mode="next-step"), 2 * (L + 1))
    for t, (obs, reward, terminated, truncated, info) in enumerate(steps):
        phase = t % (L + 1)  # slots 0..L-1 run, slot L is the reset step
        assert not terminated.any()
        assert "final_obs" not in info
        if phase == L:
            assert not truncated.any()
            np.testing.assert_array_equal(reward, 0.0)
            np.testing.assert_array_equal(_kpis(obs), 0.0)  # first observation of the new episode
            assert not info["_cost"].any()
        else:
            np.testing.assert_array_equal(truncated, phase == L - 1)
            assert (_kpis(obs)[..., 0] > 0.0).all()  # a measured slot, also the final observation
            assert info["_cost"].all()
            assert (reward < 0.0).all()


def test_next_step_and_same_step_give_the_same_episodes() -> None:
    L = 4
    same = _run(SliceVectorEnv(3, "testbed-v0", seed=0, max_episode_steps=L), 3 * L)
    nxt = _run(SliceVectorEnv(3, "testbed-v0", seed=0, max_episode_steps=L, autoreset_mode="next-step"), 3 * (L + 1))
    nxt_run = [s for t, s in enumerate(nxt) if t % (L + 1) != L]  # drop the reset steps
    assert len(nxt_run) == len(same)
    for (o_s, r_s, _, tr_s, info_s), (o_n, r_n, _, tr_n, _) in zip(same, nxt_run, strict=True):
        np.testing.assert_array_equal(r_s, r_n)
        np.testing.assert_array_equal(tr_s, tr_n)
        final = np.stack(list(info_s["final_obs"])) if tr_s.any() else o_s
        np.testing.assert_array_equal(final, o_n)


def test_next_step_with_desynchronised_envs() -> None:
    envs = SliceVectorEnv(2, "testbed-v0", seed=0, max_episode_steps=3, autoreset_mode="next-step")
    envs.reset(seed=0)
    action = np.full((2, A), 0.4)
    envs.step(action)
    envs.reset(options={"reset_mask": np.array([True, False])})
    truncs = []
    for _ in range(6):
        _obs, _reward, _, truncated, _info = envs.step(action)
        truncs.append(truncated.tolist())
    # env 1 ends after slot 3 (step 2), env 0 one step later; each then spends one step resetting.
    assert truncs == [[False, False], [False, True], [True, False], [False, False], [False, False], [False, True]]
    np.testing.assert_array_equal(envs.episode_slot, [2, 3])  # env 1 ended, resets on the next step


def test_disabled_refuses_to_step_a_finished_env_until_reset() -> None:
    envs = SliceVectorEnv(2, "testbed-v0", seed=0, max_episode_steps=2, autoreset_mode=AutoresetMode.DISABLED)
    envs.reset(seed=0)
    action = np.full((2, A), 0.4)
    envs.step(action)
    obs, _, _, truncated, info = envs.step(action)
    assert truncated.all()
    assert "final_obs" not in info
    assert (_kpis(obs)[..., 0] > 0.0).all()  # the last observation, not a reset one
    with pytest.raises(ResetNeeded, match=r"envs \[0, 1\] ended their episode and autoreset_mode is DISABLED"):
        envs.step(action)
    envs.reset(options={"reset_mask": np.array([True, True])})
    _, _, _, truncated, _ = envs.step(action)
    assert not truncated.any()


# ------------------------------------------------------------------------------------ item 6: per-env seeds


def test_reset_accepts_one_seed_per_env() -> None:
    envs = SliceVectorEnv(3, "testbed-v0", seed=0)

    def rollout(seed: list[int | None]) -> np.ndarray:
        first, _ = envs.reset(seed=seed)
        observed = [envs.step(np.full((3, A), 0.3))[0] for _ in range(3)]
        return np.concatenate([first.ravel(), np.ravel(observed)])

    a, b, c = rollout([1, 2, 3]), rollout([1, 2, 3]), rollout([1, 2, 4])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    rollout([None, None, None])  # no seed: continues the generator
    with pytest.raises(ConfigError, match=r"seed\[1\]: must be a non-negative int or None, got -1"):
        envs.reset(seed=[0, -1, 2])
