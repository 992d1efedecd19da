"""The rollout's per-slice GAE and the surrogate's mask, on known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netslice.intelligence.agents.gae import gae
from netslice.intelligence.agents.ppo_update import surrogate
from netslice.intelligence.agents.rollout import Rollout


def test_each_slices_constraint_gets_its_own_gae_with_the_episode_boundaries() -> None:
    rng = np.random.default_rng(0)
    steps, n, k = 5, 3, 2
    r = Rollout.zeros(steps, n, 4, 6, n_costs=k)
    assert r.cost is not None
    assert r.cost_value is not None
    r.reward[:] = rng.normal(size=(steps, n))
    r.value[:] = rng.normal(size=(steps, n))
    r.done[2, 1] = 1.0
    r.cost[:] = rng.integers(0, 2, size=(steps, n, k))
    r.cost_value[:] = rng.random((steps, n, k))
    next_v, next_c = rng.normal(size=n), rng.random((n, k))
    out = r.advantages(next_v, next_c, 0.5, 0.9)
    adv, ret = gae(r.reward, r.value, r.done, next_v, 0.5, 0.9)
    np.testing.assert_array_equal(out.adv, adv)
    np.testing.assert_array_equal(out.ret, ret)
    assert out.cost_adv is not None
    assert out.cost_ret is not None
    for j in range(k):  # column by column: the reward's GAE run on slice j's signal and V_C
        a_j, r_j = gae(r.cost[..., j], r.cost_value[..., j], r.done, next_c[:, j], 0.5, 0.9)
        np.testing.assert_allclose(out.cost_adv[..., j], a_j, rtol=0, atol=1e-15)
        np.testing.assert_allclose(out.cost_ret[..., j], r_j, rtol=0, atol=1e-15)
    # the episode that ended at t=2 in network 1 does not see what follows: delta only
    want = r.cost[2, 1, 0] - r.cost_value[2, 1, 0]
    np.testing.assert_allclose(out.cost_adv[2, 1, 0], want)


def test_without_constraints_the_rollout_has_no_cost_buffers() -> None:
    r = Rollout.zeros(2, 2, 3, 4)
    assert r.cost is None
    assert r.cost_value is None
    out = r.advantages(np.zeros(2), None, 0.5, 0.9)
    assert out.cost_adv is None
    assert out.cost_ret is None
    assert r.in_loss.all()


def test_surrogate_counts_only_the_masked_samples() -> None:
    adv = torch.tensor([1.0, -2.0, 3.0, 100.0])
    ratio = torch.tensor([1.0, 1.5, 0.5, 2.0])
    mask = torch.tensor([True, True, True, False])
    got = surrogate(adv, ratio, 0.2, mask, standardise=False)
    # per sample: max(-A r, -A clip(r)): 1 -> -1; A=-2, r=1.5 (clip 1.2) -> max(3, 2.4) = 3; A=3, r=0.5 (clip 0.8)
    # -> max(-1.5, -2.4) = -1.5; the fourth is left out
    assert float(got) == pytest.approx((-1.0 + 3.0 - 1.5) / 3)
    whole = surrogate(adv[:3], ratio[:3], 0.2, None, standardise=True)
    masked = surrogate(adv, ratio, 0.2, mask, standardise=True)  # standardised over the counted samples only
    assert torch.equal(whole, masked)
    nothing = surrogate(adv, ratio, 0.2, torch.zeros(4, dtype=torch.bool), standardise=True)
    assert float(nothing) == 0.0
