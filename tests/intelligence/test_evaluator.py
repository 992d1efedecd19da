"""EnsembleEvaluator (issue 12.3): per-slice cost margins with ensemble uncertainty, on a known function."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from numpy.typing import NDArray

from netslice.intelligence.agents.evaluator import EnsembleConfig, EnsembleEvaluator, classification_metrics
from netslice.intelligence.policies.switching import Evaluator, SwitchingPolicy

THRESHOLD = np.array([0.5, 0.7])
Data = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]


def _data(rng: np.random.Generator, n: int, lo: float = 0.0, hi: float = 1.0) -> Data:
    """Noise-free transitions: cost_k = max(0, a_k - threshold_k), obs irrelevant."""
    obs = rng.uniform(lo, hi, (n, 2))
    action = rng.uniform(lo, hi, (n, 2))
    return obs, action, np.maximum(0.0, action - THRESHOLD)


@pytest.fixture(scope="module")
def fitted() -> EnsembleEvaluator:
    # Inputs already in [0, 1]: no normalisation (with it, precision at z = 0 reaches 0.88 here, not 0.9).
    ev = EnsembleEvaluator(2, 2, 2, EnsembleConfig(seed=0, normalise=False))
    ev.fit(*_data(np.random.default_rng(0), 1500), epochs=60)
    return ev


def test_learns_the_known_function(fitted: EnsembleEvaluator) -> None:
    assert isinstance(fitted, Evaluator)
    held_out = _data(np.random.default_rng(1), 2000)
    for z in (0.0, 1.0, 2.0):
        m = fitted.precision_recall(*held_out, z=z)
        assert set(m) == {"shield/precision", "shield/recall"}
        assert m["shield/precision"] >= 0.9, (z, m)
        assert m["shield/recall"] >= 0.9, (z, m)
    mean, std = fitted.predict(held_out[0], held_out[1])
    assert mean.shape == std.shape == (2000, 2)
    np.testing.assert_allclose(mean + fitted.config.tolerance, held_out[2], atol=0.15)


def test_std_is_larger_away_from_the_data(fitted: EnsembleEvaluator) -> None:
    inside = _data(np.random.default_rng(2), 500)
    far = _data(np.random.default_rng(3), 500, lo=3.0, hi=5.0)
    _, std_in = fitted.predict(inside[0], inside[1])
    _, std_far = fitted.predict(far[0], far[1])
    assert np.median(std_far) > 5.0 * np.median(std_in)


def test_deterministic_given_the_seed() -> None:
    data = _data(np.random.default_rng(4), 300)
    probe = _data(np.random.default_rng(5), 50)
    preds = []
    for seed in (7, 7, 8):
        global_state = torch.random.get_rng_state()  # the global torch RNG is left alone
        ev = EnsembleEvaluator(2, 2, 2, EnsembleConfig(seed=seed, hidden=(16,)))
        ev.fit(*data, epochs=2)
        ev.update(*probe)
        preds.append(ev.predict(probe[0], probe[1]))
        assert torch.equal(torch.random.get_rng_state(), global_state)
    np.testing.assert_array_equal(preds[0][0], preds[1][0])
    np.testing.assert_array_equal(preds[0][1], preds[1][1])
    assert not np.array_equal(preds[0][0], preds[2][0])


def test_update_learns_online_and_bounds_the_buffer() -> None:
    cfg = EnsembleConfig(seed=0, buffer_size=1000, update_steps=4, hidden=(32, 32))
    ev = EnsembleEvaluator(2, 2, 2, cfg)
    rng = np.random.default_rng(6)
    held_out = _data(np.random.default_rng(7), 1000)
    before = np.abs(ev.predict(held_out[0], held_out[1])[0] + cfg.tolerance - held_out[2]).mean()
    for _ in range(300):
        ev.update(*_data(rng, 8))  # one slot of 8 networks
    assert ev.n_buffered == 1000
    after = np.abs(ev.predict(held_out[0], held_out[1])[0] + cfg.tolerance - held_out[2]).mean()
    assert after < 0.5 * before


def test_classification_metrics_by_hand() -> None:
    mean = np.array([[0.1, -1.0], [-0.1, -0.1], [0.3, 0.0], [-1.0, -1.0]])
    std = np.array([[0.0, 0.0], [0.0, 0.0], [0.2, 0.0], [0.0, 0.0]])
    cost = np.array([[0.2, 0.0], [0.0, 0.4], [0.0, 0.0], [0.0, 0.0]])
    # z = 1: predicted rows 0 and 2; actual rows 0 and 1.
    assert classification_metrics(mean, std, cost, 1.0) == {"shield/precision": 0.5, "shield/recall": 0.5}
    # z = 2: predicted row 0 only.
    assert classification_metrics(mean, std, cost, 2.0) == {"shield/precision": 1.0, "shield/recall": 0.5}
    none = classification_metrics(-np.ones((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)), 0.0)
    assert none == {"shield/precision": 1.0, "shield/recall": 1.0}


def test_malformed_inputs_are_refused() -> None:
    ev = EnsembleEvaluator(2, 2, 2, EnsembleConfig(hidden=(8,)))
    with pytest.raises(ValueError, match="rows"):
        ev.predict(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="cost"):
        ev.update(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="members"):
        EnsembleConfig(members=1)


def test_drives_a_switching_policy(fitted: EnsembleEvaluator) -> None:
    """Agent actions above the thresholds are replaced by the (safe) baseline's; the evaluator keeps learning."""

    class Const:
        def __init__(self, level: float) -> None:
            self.level = level

        def act(self, obs: NDArray[np.floating]) -> NDArray[np.float64]:
            return np.full((np.asarray(obs).shape[0], 2), self.level)

    evaluator = copy.deepcopy(fitted)  # observe() teaches it: leave the module's fixture alone
    policy = SwitchingPolicy(Const(0.95), Const(0.1), evaluator, confidence_z=1.0)
    obs = np.random.default_rng(8).uniform(0.0, 1.0, (6, 2))
    np.testing.assert_array_equal(policy.act(obs), 0.1)
    switched = policy.last_switched
    assert switched is not None
    assert switched.all()
    n = evaluator.n_buffered
    policy.observe(np.zeros((6, 2)))
    assert evaluator.n_buffered == n + 6
    safe = SwitchingPolicy(Const(0.2), Const(0.1), evaluator, confidence_z=1.0)
    np.testing.assert_array_equal(safe.act(obs), 0.2)
    assert safe.metrics()["shield/switches"] == 0.0


def test_pretraining_data_stay_as_an_anchor() -> None:
    ev = EnsembleEvaluator(2, 2, 2, EnsembleConfig(hidden=(8,), buffer_size=50, update_steps=2))
    ev.fit(*_data(np.random.default_rng(9), 100), epochs=1)
    for _ in range(4):
        ev.update(*_data(np.random.default_rng(10), 30))
    assert ev.n_buffered == 100 + 50  # the anchor, and the ring's newest 50


def test_per_slice_needs_the_encoder_layout_and_predicts_every_slice() -> None:
    k = 3
    n_obs, n_act = 14 * k + 2, 7 * k
    ev = EnsembleEvaluator(n_obs, n_act, k, EnsembleConfig(hidden=(8,), per_slice=True, log_action=True))
    rng = np.random.default_rng(11)
    obs, action = rng.uniform(size=(5, n_obs)), rng.uniform(size=(5, n_act))
    ev.fit(obs, action, rng.uniform(-1, 1, (5, k)), epochs=1)
    mean, std = ev.predict(obs, action)
    assert mean.shape == std.shape == (5, k)
    # Slice 0's prediction depends on its own block and column only (and on each resource's total).
    other = action.copy()
    other[:, 1::k], other[:, 2::k] = action[:, 2::k], action[:, 1::k]  # swap slices 1 and 2: same totals
    obs2 = obs.copy()
    obs2[:, 14:28], obs2[:, 28:42] = obs[:, 28:42], obs[:, 14:28]
    np.testing.assert_allclose(ev.predict(obs2, other)[0][:, 0], mean[:, 0], rtol=1e-5)  # float32 totals
    with pytest.raises(ValueError, match="per_slice"):
        EnsembleEvaluator(5, n_act, k, EnsembleConfig(per_slice=True))


@pytest.mark.parametrize("tau", [0.5, 0.9, 0.99])
def test_a_quantile_evaluator_predicts_the_quantile_of_a_noisy_target(tau: float) -> None:
    """target = a_0 + U(-0.5, 0.5) noise the inputs do not show: its tau quantile is a_0 + tau - 0.5."""
    rng = np.random.default_rng(3)
    n = 20_000
    obs, action = rng.uniform(0.0, 1.0, (n, 2)), rng.uniform(0.0, 1.0, (n, 2))
    noise = rng.uniform(-0.5, 0.5, n)
    target = np.stack([action[:, 0] + noise, np.zeros(n)], axis=1)
    cfg = EnsembleConfig(seed=0, hidden=(32,), normalise=False, tolerance=0.0, quantile=tau, batch_size=256,
                         target_low=-1.0, target_high=2.0)  # fmt: skip
    ev = EnsembleEvaluator(2, 2, 2, cfg)
    ev.fit(obs, action, target, epochs=8)
    grid = np.linspace(0.1, 0.9, 9)
    probe = np.stack([grid, np.full(9, 0.5)], axis=1)
    mean, _ = ev.predict(np.full((9, 2), 0.5), probe)
    np.testing.assert_allclose(mean[:, 0], grid + tau - 0.5, atol=0.06)
    with pytest.raises(ValueError, match="quantile"):
        EnsembleConfig(quantile=1.0)


def test_the_expectation_heads_predict_the_violation_probability_and_the_expected_cost() -> None:
    """target = a_0 - 0.5 + U(-0.5, 0.5): P(target > 0) = a_0 and E[clip(target, 0, 1)] = a_0^2 / 2 (a_0 in [0, 1])."""
    rng = np.random.default_rng(4)
    n = 20_000
    obs, action = rng.uniform(0.0, 1.0, (n, 2)), rng.uniform(0.0, 1.0, (n, 2))
    target = np.stack([action[:, 0] - 0.5 + rng.uniform(-0.5, 0.5, n), np.full(n, -0.5)], axis=1)
    cfg = EnsembleConfig(seed=0, hidden=(32,), normalise=False, tolerance=0.0, quantile=0.9, batch_size=256,
                         target_low=-1.0, target_high=1.0, expectation=True)  # fmt: skip
    ev = EnsembleEvaluator(2, 2, 2, cfg)
    ev.fit(obs, action, target, epochs=8)
    grid = np.linspace(0.1, 0.9, 9)
    probe = np.stack([grid, np.full(9, 0.5)], axis=1)
    mean, _, p, cost = ev.predict_all(np.full((9, 2), 0.5), probe)
    np.testing.assert_allclose(mean[:, 0], grid + 0.4 - 0.5, atol=0.06)  # the quantile head still learns
    np.testing.assert_allclose(p[:, 0], grid, atol=0.08)
    np.testing.assert_allclose(cost[:, 0], grid**2 / 2, atol=0.05)
    assert (p[:, 1] < 0.05).all()  # a slice that never violates
    assert (cost[:, 1] < 0.03).all()
    np.testing.assert_array_equal(ev.predict(np.full((9, 2), 0.5), probe)[0], mean)
    np.testing.assert_array_equal(ev.expected(np.full((9, 2), 0.5), probe)[0], p)
    with pytest.raises(ValueError, match="expectation"):
        EnsembleEvaluator(2, 2, 2, EnsembleConfig(seed=0)).expected(obs[:1], action[:1])
