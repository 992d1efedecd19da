"""The ``action`` parametrisations of the registered id (:mod:`netslice.intelligence.envs.wrappers`)."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import netslice.intelligence.envs  # noqa: F401  # registers the id
from netslice.errors import ConfigError, InvalidAllocationError
from netslice.intelligence.envs import ENV_ID, SliceEnv, SliceVectorEnv
from netslice.intelligence.envs.wrappers import (
    ScaledShareAction,
    ScaledShareVectorAction,
    scaled_to_share,
    share_to_scaled,
)

A = 21


def test_scaled_map_centre_ends_and_cap() -> None:
    np.testing.assert_allclose(scaled_to_share([-5.0, 0.0, 1.0, 5.0]), [0.01, 0.1, 0.1 * 10**0.2, 1.0], rtol=1e-6)
    np.testing.assert_allclose(scaled_to_share([-9.0, 9.0]), [0.01, 1.0], rtol=1e-6)  # clipped to [-5, 5]
    np.testing.assert_allclose(scaled_to_share([-1.0, 0.0, 1.0], bound=1.0), [0.01, 0.1, 1.0], rtol=1e-6)
    np.testing.assert_allclose(scaled_to_share([0.0, 1.0], center=0.3, spread=30.0, bound=1.0), [0.3, 1.0], rtol=1e-6)
    assert scaled_to_share(np.zeros((2, 3))).shape == (2, 3)
    assert np.isnan(scaled_to_share([np.nan])).all()  # left to the env to reject


def test_share_to_scaled_inverts_the_map_on_its_range() -> None:
    a = np.linspace(-5.0, 4.99, 50)
    np.testing.assert_allclose(share_to_scaled(scaled_to_share(a)), a, atol=1e-4)
    np.testing.assert_allclose(share_to_scaled([0.0, 0.001, 1.0]), [-5.0, -5.0, 5.0])


def test_default_make_is_the_scaled_box_and_steps_like_the_share_env() -> None:
    scaled = gymnasium.make(ENV_ID)
    share = gymnasium.make(ENV_ID, action="share")
    assert scaled.action_space == gymnasium.spaces.Box(-5.0, 5.0, (A,), np.float32)
    assert share.action_space == gymnasium.spaces.Box(0.0, 1.0, (A,), np.float32)
    assert isinstance(scaled.unwrapped, SliceEnv)
    assert isinstance(share.unwrapped, SliceEnv)
    rng = np.random.default_rng(0)
    o1, _ = scaled.reset(seed=3)
    o2, _ = share.reset(seed=3)
    for _ in range(6):
        a = rng.uniform(-5.0, 5.0, A).astype(np.float32)
        o1, r1, *_ = scaled.step(a)
        o2, r2, *_ = share.step(scaled_to_share(a))
        np.testing.assert_array_equal(o1, o2)
        assert r1 == r2


def test_vector_wrapper_matches_the_single_map() -> None:
    envs = gymnasium.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    raw = SliceVectorEnv(3, reward="penalized", autoreset_mode="next-step")
    assert isinstance(envs, ScaledShareVectorAction)
    assert envs.action_space.shape == (3, A)
    assert envs.single_action_space.shape == (A,)
    assert isinstance(gymnasium.make_vec(ENV_ID, num_envs=2, action="share"), SliceVectorEnv)
    envs.reset(seed=1)
    raw.reset(seed=1)
    a = np.random.default_rng(1).uniform(-5.0, 5.0, (3, A)).astype(np.float32)
    o1, r1, *_ = envs.step(a)
    o2, r2, *_ = raw.step(scaled_to_share(a))
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(r1, r2)


def test_bad_options_are_config_errors_and_nan_is_rejected() -> None:
    with pytest.raises(ConfigError, match="action"):
        gymnasium.make(ENV_ID, action="logit")
    with pytest.raises(ConfigError, match="action"):
        gymnasium.make_vec(ENV_ID, num_envs=2, action="logit")
    with pytest.raises(ConfigError, match="center"):
        ScaledShareAction(SliceEnv(), center=0.0)
    with pytest.raises(ConfigError, match="spread"):
        ScaledShareAction(SliceEnv(), spread=1.0)
    with pytest.raises(ConfigError, match="bound"):
        ScaledShareAction(SliceEnv(), bound=0.0)
    env = gymnasium.make(ENV_ID, disable_env_checker=True)
    env.reset(seed=0)
    with pytest.raises(InvalidAllocationError):
        env.step(np.full(A, np.nan, dtype=np.float32))
