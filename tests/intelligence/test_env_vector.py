"""The native vector env: SAME_STEP autoreset at episode boundaries, masked resets, seeding, snapshots."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode

from netslice.errors import ConfigError
from netslice.intelligence.envs.features import ALLOC_START, N_SLICE_FEATURES
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.network.scenarios import Scenario

K, T = 3, 24  # testbed-v0: 3 slices, 24 slots a day


def _kpi_part(obs: np.ndarray) -> np.ndarray:
    """The KPI features (0-5) of every slice block, ``(n, K, 6)``."""
    return obs[..., : K * N_SLICE_FEATURES].reshape(*obs.shape[:-1], K, N_SLICE_FEATURES)[..., :ALLOC_START]


def test_declares_same_step_autoreset(venv4: SliceVectorEnv) -> None:
    assert venv4.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert venv4.num_envs == 4
    assert venv4.action_space.shape == (4, 7 * K)
    assert venv4.observation_space.shape == (4, 14 * K + 2)


def test_step_before_reset_raises(venv4: SliceVectorEnv) -> None:
    with pytest.raises(ResetNeeded):
        venv4.step(np.zeros((4, 7 * K)))


def test_episode_boundaries_and_final_obs(venv4: SliceVectorEnv, testbed: Scenario) -> None:
    venv4.reset(seed=0)
    action = np.full((4, 7 * K), 0.3)
    for day in range(2):
        for t in range(T):
            obs, reward, terminated, truncated, info = venv4.step(action)
            assert not terminated.any()
            last = t == T - 1
            assert (truncated == last).all(), f"day {day} slot {t}"
            assert ("final_obs" in info) == last
            assert reward.shape == (4,)
        # The episode ended: obs is the next episode's first observation, final_obs the last one.
        assert info["_final_obs"].all()
        assert info["_final_info"].all()
        final = np.stack(list(info["final_obs"]))
        assert final.shape == obs.shape
        assert (_kpi_part(final)[..., 0] > 0.0).all()  # measured active UEs
        np.testing.assert_array_equal(_kpi_part(obs), 0.0)  # fresh episode: nothing measured
        alloc = obs[:, : K * N_SLICE_FEATURES].reshape(4, K, N_SLICE_FEATURES)[:, :, ALLOC_START : ALLOC_START + 7]
        np.testing.assert_allclose(alloc.swapaxes(1, 2), np.broadcast_to(testbed.params.initial_allocation, (4, 7, K)))
        np.testing.assert_array_equal(info["final_info"]["cost"], info["cost"])
        assert info["final_info"]["_cost"].all()
        np.testing.assert_array_equal(venv4.episode_slot, 0)


def test_masked_reset_desynchronises_episodes(venv4: SliceVectorEnv) -> None:
    venv4.reset(seed=0)
    action = np.full((4, 7 * K), 0.3)
    for _ in range(5):
        venv4.step(action)
    obs, _ = venv4.reset(options={"reset_mask": np.array([False, True, False, False])})
    np.testing.assert_array_equal(venv4.episode_slot, [5, 0, 5, 5])
    np.testing.assert_array_equal(_kpi_part(obs[1]), 0.0)
    assert (_kpi_part(obs[[0, 2, 3]])[..., 0] > 0.0).all()  # the others keep their last observation
    for _ in range(T - 5 - 1):
        _, _, _, truncated, _ = venv4.step(action)
        assert not truncated.any()
    _, _, _, truncated, info = venv4.step(action)
    np.testing.assert_array_equal(truncated, [True, False, True, True])
    assert info["final_obs"][1] is None
    assert info["final_obs"][0] is not None
    np.testing.assert_array_equal(info["_final_obs"], truncated)
    for _ in range(4):
        _, _, _, truncated, _ = venv4.step(action)
        assert not truncated.any()
    _, _, _, truncated, _ = venv4.step(action)
    np.testing.assert_array_equal(truncated, [False, True, False, False])


def _rollout(envs: SliceVectorEnv, seed: int | None, n: int = 30) -> np.ndarray:
    obs = [envs.reset(seed=seed)[0]]
    rng = np.random.default_rng(0)
    for _ in range(n):
        obs.append(envs.step(rng.uniform(0.0, 0.5, envs.action_space.shape))[0])
    return np.array(obs)


def test_seeding_same_and_different(venv4: SliceVectorEnv) -> None:
    a, b, c = _rollout(venv4, 1), _rollout(venv4, 1), _rollout(venv4, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(a, _rollout(SliceVectorEnv(4, "testbed-v0"), 1))
    assert not np.array_equal(a[1:, 0], a[1:, 1])  # the networks of one batch differ
    with pytest.raises(ConfigError, match=r"seed: a list needs one entry per env \(4\), got 3"):
        venv4.reset(seed=[1, 2, 3])


def test_snapshot_restore_continues_identically(venv4: SliceVectorEnv) -> None:
    venv4.reset(seed=4)
    action = np.full((4, 7 * K), 0.3)
    for _ in range(20):
        venv4.step(action)
    snap = venv4.snapshot()
    orch = venv4.orch
    ahead = [venv4.step(action) for _ in range(8)]  # crosses the episode boundary at slot 24
    venv4.restore(snap)
    assert venv4.orch is orch
    again = [venv4.step(action) for _ in range(8)]
    for x, y in zip(ahead, again, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1], y[1])
        np.testing.assert_array_equal(x[3], y[3])
    with pytest.raises(ConfigError, match="another scenario"):
        SliceVectorEnv(2, "testbed-v0", seed=0).restore(snap)


def test_runs_over_http_like_in_process() -> None:
    """The env uses only the agent API: over the REST client it gives the in-process results."""
    pytest.importorskip("fastapi")
    import warnings

    from netslice.orchestration.api import create_app
    from netslice.orchestration.api.client import OrchestratorClient
    from netslice.orchestration.orchestrator import Orchestrator

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient` is deprecated")
        from fastapi.testclient import TestClient

    app = create_app(Orchestrator.create("testbed-v0", n_envs=2, seed=0), "token")
    with TestClient(app) as http:
        remote = SliceVectorEnv(scenario="testbed-v0", orchestrator=OrchestratorClient(token="token", http=http))
        local = SliceVectorEnv(2, "testbed-v0", seed=0)
        np.testing.assert_array_equal(remote.reset(seed=3)[0], local.reset(seed=3)[0])
        rng = np.random.default_rng(0)
        for _ in range(T + 2):  # across the autoreset
            action = rng.uniform(0.0, 0.5, (2, 7 * K))
            got, want = remote.step(action), local.step(action)
            for x, y in zip(got[:4], want[:4], strict=True):
                np.testing.assert_array_equal(x, y)
            np.testing.assert_array_equal(got[4]["cost"], want[4]["cost"])
