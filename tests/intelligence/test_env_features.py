"""Observation layout and bounds, reward and cost of the slicing environments."""

from __future__ import annotations

import numpy as np
import pytest

from netslice.errors import ConfigError, InvalidAllocationError
from netslice.intelligence.envs.features import (
    ALLOC_START,
    COST_INDEX,
    N_SLICE_FEATURES,
    SLICE_FEATURES,
    Encoder,
    flatten_allocation,
    to_allocation,
)
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.network.scenarios import Scenario

K = 3  # testbed-v0 slices: mar, video, iot


def test_layout(encoder: Encoder) -> None:
    assert N_SLICE_FEATURES == 14
    assert encoder.n_features == 14 * K + 2
    names = encoder.feature_names
    assert names[:2] == ("mar/active_ues", "mar/offered_dl")
    assert names[N_SLICE_FEATURES + COST_INDEX] == "video/cost"
    assert names[-2:] == ("hour_sin", "hour_cos")
    space = encoder.observation_space()
    assert space.shape == (encoder.n_features,)
    assert space.dtype == np.float32
    assert np.isfinite(space.low).all()
    assert np.isfinite(space.high).all()
    assert encoder.action_space().shape == (7 * K,)


def test_action_order_is_resource_major() -> None:
    alloc = np.arange(2 * 7 * K, dtype=np.float64).reshape(2, 7, K)
    flat = flatten_allocation(alloc)
    assert flat[1, 4 * K + 2] == alloc[1, 4, 2]  # row tn_bw (4) of slice iot (2)
    np.testing.assert_array_equal(to_allocation(flat, 2, K), alloc)
    with pytest.raises(InvalidAllocationError, match="resource-major"):
        to_allocation(np.zeros(5), 1, K)


def test_reset_observation(venv4: SliceVectorEnv, testbed: Scenario) -> None:
    obs, info = venv4.reset(seed=3)
    assert info == {}
    blocks = obs[:, : K * N_SLICE_FEATURES].reshape(4, K, N_SLICE_FEATURES)
    np.testing.assert_array_equal(blocks[:, :, :ALLOC_START], 0.0)  # no KPIs yet
    np.testing.assert_array_equal(blocks[:, :, COST_INDEX], 0.0)
    alloc = blocks[:, :, ALLOC_START : ALLOC_START + 7].swapaxes(1, 2)
    np.testing.assert_allclose(alloc, np.broadcast_to(testbed.params.initial_allocation, (4, 7, K)), atol=1e-7)
    np.testing.assert_allclose(obs[:, -2:], [[0.0, 1.0]] * 4, atol=1e-7)  # hour 0 of testbed-v0


@pytest.mark.parametrize("scenario", ["testbed-v0", "metro-v0"])
def test_observations_within_bounds_on_random_and_extreme_actions(scenario: str) -> None:
    envs = SliceVectorEnv(8, scenario, seed=1)
    rng = np.random.default_rng(0)
    obs, _ = envs.reset(seed=1)
    space = envs.single_observation_space
    n_act = envs.single_action_space.shape[0]
    for t in range(40):
        kind = t % 4
        if kind == 0:
            actions = np.zeros((8, n_act))  # every slice starved: huge latency, zero reliability
        elif kind == 1:
            actions = np.ones((8, n_act))  # every slice asks for everything: proportional scaling
        else:
            actions = rng.uniform(0.0, 1.0, (8, n_act)) ** rng.uniform(0.2, 5.0)
        obs, reward, _, _, info = envs.step(actions)
        assert obs.dtype == np.float32
        assert np.isfinite(obs).all()
        assert all(o in space for o in obs), f"slot {t}: observation outside its bounds"
        assert ((info["cost"] >= 0.0) & (info["cost"] <= 1.0)).all()
        assert (reward <= 0.0).all()
        assert (reward >= -1.0).all()


def _usage_by_hand(a: np.ndarray) -> np.ndarray:
    """Usage of each domain (ran, tn, cn, edge) of a (7, K) testbed allocation within capacity."""
    ran = 0.5 * (a[0].sum() + a[1].sum())
    return np.array([ran, a[4].sum(), a[5].sum(), a[6].sum()])  # one edge site: share of its cores


def test_reward_is_minus_mean_usage_of_a_known_action(venv4: SliceVectorEnv) -> None:
    a = np.array(
        [
            [0.30, 0.10, 0.20],  # prb_ul
            [0.10, 0.50, 0.10],  # prb_dl
            [0.00, 0.00, 0.30],  # mcs_ul (knob, no usage)
            [0.00, 0.00, 0.30],  # mcs_dl
            [0.30, 0.40, 0.10],  # tn_bw
            [0.20, 0.20, 0.20],  # cn_cpu
            [0.40, 0.20, 0.10],  # edge_cpu
        ]
    )
    venv4.reset(seed=0)
    action = np.tile(flatten_allocation(a[None]), (4, 1))
    _, reward, _, _, info = venv4.step(action)
    np.testing.assert_allclose(reward, -info["usage"].mean(axis=1), rtol=0, atol=1e-12)
    assert not info["modified"].any()  # within capacity: the orchestrator left it alone
    # The second slot runs the action for the whole slot (no enforcement-delay mix with the previous one).
    _, reward, _, _, info = venv4.step(action)
    expected = _usage_by_hand(a)
    np.testing.assert_allclose(info["usage"], np.tile(expected, (4, 1)), atol=1e-12)
    np.testing.assert_allclose(reward, -expected.mean(), atol=1e-12)


def test_reward_weights(testbed: Scenario) -> None:
    envs = SliceVectorEnv(2, testbed, seed=0, weights=np.array([1.0, 0.0, 0.0, 0.0]))
    envs.reset(seed=0)
    _, reward, _, _, info = envs.step(np.full((2, 7 * K), 0.2))
    np.testing.assert_allclose(reward, -info["usage"][:, 0], atol=1e-12)
    for bad in ([1.0, 1.0], [-1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [np.nan, 1.0, 1.0, 1.0]):
        with pytest.raises(ConfigError, match="weights"):
            Encoder.from_scenario(testbed, weights=np.array(bad))


@pytest.mark.parametrize("starved", [0, 1, 2])
def test_cost_order_is_slice_order(starved: int) -> None:
    """The slice that gets nothing carries the cost, in its own column; the others meet their SLA."""
    envs = SliceVectorEnv(2, "testbed-v0", seed=0, include_kpis=True)
    envs.reset(seed=0)
    a = np.full((7, K), 0.5)
    a[[2, 3], :] = 0.2  # MCS caps two CQI steps down: IoT's low-SINR link needs them for 99.99 %
    a[:, starved] = 0.0
    for _ in range(3):
        _, _, _, _, info = envs.step(np.tile(flatten_allocation(a[None]), (2, 1)))
    others = [k for k in range(K) if k != starved]
    assert (info["cost"][:, starved] > 0.0).all(), info["cost"]
    np.testing.assert_array_equal(info["cost"][:, others], 0.0)
    assert (info["cost_raw"] >= info["cost"]).all()
    assert set(info["kpis"]) >= {"latency_ms", "reliability", "fps", "active_ues"}


def test_slice_features_match_kpis(encoder: Encoder, testbed: Scenario) -> None:
    envs = SliceVectorEnv(2, testbed, seed=5, encoder=encoder, include_kpis=True)
    envs.reset(seed=5)
    obs, _, _, _, info = envs.step(np.full((2, 7 * K), 0.3))
    kp = info["kpis"]
    blocks = obs[:, : K * N_SLICE_FEATURES].reshape(2, K, N_SLICE_FEATURES).astype(np.float64)
    col = SLICE_FEATURES.index
    np.testing.assert_allclose(blocks[:, :, col("active_ues")], kp["active_ues"] / [5.0, 2.0, 100.0], rtol=1e-6)
    np.testing.assert_allclose(blocks[:, :, col("latency")], np.log1p(kp["latency_ms"] / 100.0), rtol=1e-6)
    np.testing.assert_allclose(blocks[:, :, col("fps")], kp["fps"] / 30.0, rtol=1e-6, atol=1e-7)
    shortfall = np.log10(1.0 + 1e6 * (1.0 - kp["reliability"])) / 6.0
    np.testing.assert_allclose(blocks[:, :, col("rel_shortfall")], shortfall, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(blocks[:, :, COST_INDEX], info["cost"], atol=1e-7)
    video_ref_dl = 2.0 * 6000.0  # scale x 6 Mbit/s per UE
    np.testing.assert_allclose(blocks[:, 1, col("offered_dl")], kp["offered_dl_kbps"][:, 1] / video_ref_dl, rtol=1e-6)
