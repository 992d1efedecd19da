"""netslice driven only through the public APIs of Gymnasium and Stable-Baselines3 (issue 10 items 1-6)."""

from __future__ import annotations

import subprocess
import sys

import gymnasium
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import netslice.intelligence.envs  # noqa: F401  # registers the id (gymnasium >= 1.0 loads no plugins)
from netslice.intelligence.envs import ENV_ID
from netslice.intelligence.envs.features import ALLOC_START, N_SLICE_FEATURES
from netslice.intelligence.envs.vector import SliceVectorEnv

K = 3
A = 7 * K


def _kpis(obs: np.ndarray) -> np.ndarray:
    return np.asarray(obs)[..., : K * N_SLICE_FEATURES].reshape(*np.shape(obs)[:-1], K, N_SLICE_FEATURES)[
        ..., :ALLOC_START
    ]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


# ------------------------------------------------------------------------------------ item 1: registration


def test_module_qualified_id_works_in_a_fresh_interpreter_without_torch() -> None:
    done = _python(
        "import sys, gymnasium\n"
        "env = gymnasium.make('netslice.intelligence.envs:netslice/Slicing-v0')\n"
        "env.reset(seed=0)\n"
        "assert 'torch' not in sys.modules, 'registration imported torch'\n"
        "print(env.spec.id, env.spec.max_episode_steps)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [ENV_ID, "24"]


def _entry_point_installed() -> bool:
    from importlib.metadata import entry_points

    return any(ep.name == "netslice" for ep in entry_points(group="gymnasium.envs"))


@pytest.mark.skipif(
    not _entry_point_installed(),
    reason="the gymnasium.envs entry point of pyproject.toml is not installed (pip install --no-deps -e .)",
)
def test_gymnasium_plugin_entry_point_registers_the_id() -> None:
    # What gymnasium 0.26-0.29 do on import (gymnasium 1.x dropped plugin loading).
    done = _python(
        "from importlib.metadata import entry_points\n"
        "import gymnasium, sys\n"
        "(ep,) = [ep for ep in entry_points(group='gymnasium.envs') if ep.name == 'netslice']\n"
        "ep.load()()\n"
        "assert 'netslice.intelligence.envs.single' not in sys.modules  # registration is lazy\n"
        "gymnasium.make('netslice/Slicing-v0').reset(seed=0)\n"
    )
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------------------------ items 3, 5: make()


def _length(env: gymnasium.Env, cap: int = 200) -> int:
    env.reset(seed=0)
    for t in range(1, cap + 1):
        _, _, terminated, truncated, _ = env.step(np.full(A, 0.4, dtype=np.float32))
        if terminated or truncated:
            return t
    return cap + 1


def test_make_episode_length_follows_max_episode_steps() -> None:
    assert _length(gymnasium.make(ENV_ID)) == 24  # the spec's default: testbed-v0's day
    assert _length(gymnasium.make(ENV_ID, max_episode_steps=48)) == 48
    assert _length(gymnasium.make(ENV_ID, max_episode_steps=5)) == 5
    assert _length(gymnasium.make(ENV_ID, slots_per_episode=6, max_episode_steps=-1)) == 6  # the env's own


def test_make_defaults_to_the_penalized_reward_and_usage_is_selectable() -> None:
    env = gymnasium.make(ENV_ID)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.full(A, 0.02, dtype=np.float32))
    assert info["cost"].sum() > 0.0
    assert reward == pytest.approx(info["reward_usage"] - 8.0 * info["cost"].sum())
    env = gymnasium.make(ENV_ID, reward="usage")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.full(A, 0.02, dtype=np.float32))
    assert reward == pytest.approx(-info["usage"].mean())
    env = gymnasium.make(ENV_ID, cost_penalty=2.0)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.full(A, 0.02, dtype=np.float32))
    assert reward == pytest.approx(info["reward_usage"] - 2.0 * info["cost"].sum())


def test_gymnasium_env_checker_passes_with_rendering() -> None:
    from gymnasium.utils.env_checker import check_env

    for mode in ("ansi", "rgb_array"):
        env = gymnasium.make(ENV_ID, render_mode=mode, disable_env_checker=True)
        check_env(env.unwrapped)


# ------------------------------------------------------------------------------------ item 6: make_vec


@pytest.mark.parametrize("vectorization_mode", ["sync", "async", "vector_entry_point"])
@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_make_vec_every_mode_episode_lengths_and_final_obs(vectorization_mode: str, mode: AutoresetMode) -> None:
    L, n = 3, 2
    extra: dict[str, object] = (
        {"autoreset_mode": mode}
        if vectorization_mode == "vector_entry_point"
        else {"vector_kwargs": {"autoreset_mode": mode}}
    )
    envs = gymnasium.make_vec(ENV_ID, num_envs=n, vectorization_mode=vectorization_mode, max_episode_steps=L, **extra)
    try:
        assert envs.metadata["autoreset_mode"] == mode
        envs.reset(seed=0)
        action = np.full((n, A), 0.4, dtype=np.float32)
        truncs = []
        for _ in range(2 * (L + 1)):
            if mode == AutoresetMode.DISABLED and truncs and truncs[-1]:
                envs.reset(options={"reset_mask": np.ones(n, dtype=bool)})
            obs, _reward, terminated, truncated, info = envs.step(action)
            assert not terminated.any()
            truncs.append(bool(truncated.all()))
            assert truncated.all() == truncated.any()  # the envs stay in step
            if truncated.any() and mode == AutoresetMode.SAME_STEP:
                assert info["_final_obs"].all()
                assert (_kpis(np.stack(list(info["final_obs"])))[..., 0] > 0.0).all()
                np.testing.assert_array_equal(_kpis(obs), 0.0)  # already the next episode's first obs
            else:
                assert "final_obs" not in info
            if truncated.any() and mode != AutoresetMode.SAME_STEP:
                assert (_kpis(obs)[..., 0] > 0.0).all()  # the episode's last observation
        if mode == AutoresetMode.SAME_STEP:
            assert truncs == [False, False, True, False, False, True, False, False]
        elif mode == AutoresetMode.NEXT_STEP:
            assert truncs == [False, False, True, False, False, False, True, False]  # step 3 resets
        else:
            assert truncs == [False, False, True, False, False, True, False, False]
    finally:
        envs.close()


def test_make_vec_defaults_to_next_step_native_env() -> None:
    envs = gymnasium.make_vec(ENV_ID, num_envs=4)
    assert isinstance(envs.unwrapped, SliceVectorEnv)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert envs.unwrapped.slots_per_episode == 24
    assert gymnasium.make_vec(ENV_ID, num_envs=2, max_episode_steps=48).unwrapped.slots_per_episode == 48


def test_gymnasium_vector_wrappers_work_in_next_step() -> None:
    from gymnasium.wrappers.vector import DtypeObservation, FlattenObservation, NormalizeObservation

    envs = gymnasium.make_vec(ENV_ID, num_envs=4, max_episode_steps=3)
    wrapped = FlattenObservation(DtypeObservation(NormalizeObservation(envs), np.float64))
    obs, _ = wrapped.reset(seed=0)
    assert obs.dtype == np.float64
    assert obs.shape == (4, 14 * K + 2)
    for _ in range(8):
        obs, *_ = wrapped.step(np.full((4, A), 0.4, dtype=np.float32))
    assert np.isfinite(obs).all()


# ------------------------------------------------------------------------------------ item 2: SB3


def test_sb3_make_vec_env_with_the_registered_id() -> None:
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env

    default = make_vec_env(ENV_ID, n_envs=2, seed=0)
    try:  # the registered id's default: the log-scaled symmetric box (wrappers.py)
        assert (default.action_space.low == -5.0).all()
        assert (default.action_space.high == 5.0).all()
        default.reset()
        _, _, _, infos = default.step(np.full((2, A), 5.0001, dtype=np.float32))  # capped at the full share
        assert not any(info["action_clipped"] for info in infos)
    finally:
        default.close()
    venv = make_vec_env(ENV_ID, n_envs=8, seed=0, env_kwargs={"action": "share"})  # passes render_mode="rgb_array"
    try:
        assert (venv.action_space.low == 0.0).all()
        assert (venv.action_space.high == 1.0).all()
        obs = venv.reset()
        assert obs.shape == (8, 14 * K + 2)
        frames = venv.get_images()
        assert len(frames) == 8
        assert all(f.dtype == np.uint8 and f.ndim == 3 for f in frames)
        dones_seen = 0
        for _ in range(24):
            obs, _reward, dones, infos = venv.step(np.full((8, A), 1.0001, dtype=np.float32))
            assert all(info["action_clipped"] for info in infos)
            dones_seen += int(dones.sum())
        assert dones_seen == 8  # one 24-slot episode each (the spec's TimeLimit)
        assert all(info["TimeLimit.truncated"] for info in infos)
    finally:
        venv.close()
