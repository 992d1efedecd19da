"""The orchestrator's single-env fast paths give the same bits as the general code they stand for.

* capacity enforcement skips the scaling where no node is over-subscribed (``enforce_capacity``);
* the RAN computes its need estimate when its RRM quotas are read, not on every slot;
* ``enforce_all`` hands the managers views of one read-only copy of the allocation;
* one network's hour of day is remembered per slot index.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from netslice.network import scenarios
from netslice.network.allocation import EDGE_CPU, MCS_DL, MCS_UL, N_RESOURCES, slice_sum
from netslice.network.kernel import hour_of
from netslice.orchestration.capacity import enforce_capacity, proportional_scaling, reject_over_capacity
from netslice.orchestration.domains import make_managers
from netslice.orchestration.enforcement import enforce_all
from netslice.orchestration.orchestrator import Orchestrator
from netslice.orchestration.rrm import measurements


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _old_scaling(alloc: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """proportional_scaling as first written: every row scaled, within capacity too."""
    scale = 1.0 / np.maximum(slice_sum(alloc), 1.0)
    scale[:, [MCS_UL, MCS_DL]] = 1.0
    out: np.ndarray = alloc * scale[:, :, None]
    if sites.max() > 0:
        n_sites = int(sites.max()) + 1
        sums = alloc[:, EDGE_CPU, :] @ np.eye(n_sites)[sites]
        out[:, EDGE_CPU, :] = alloc[:, EDGE_CPU, :] * (1.0 / np.maximum(sums, 1.0))[:, sites]
    return out


def _old_modified(enforced: np.ndarray, checked: np.ndarray) -> np.ndarray:
    n = checked.shape[0]
    out: np.ndarray = np.abs(enforced - checked).reshape(n, -1) @ np.ones(checked[0].size) > 1e-12
    return out


@pytest.mark.parametrize("scenario", ["testbed-v0", "metro-v0"])
def test_capacity_enforcement_equals_the_scaling_of_every_row(scenario: str) -> None:
    sites = scenarios.load(scenario).params.edge.site_of_slice
    k = sites.size
    rng = np.random.default_rng(5)
    for high in (0.5 / k, 1.0 / k, 2.0 / k, 1.0):  # within capacity, at it, and over
        for n_envs in (1, 6):
            alloc = rng.uniform(0.0, high, (n_envs, N_RESOURCES, k))
            alloc[0, 1, :] = 1.0 / k  # a node summing to exactly 1
            expected = _old_scaling(alloc, sites)
            out = proportional_scaling(alloc, sites)
            assert _same_bits(out, expected)
            assert not np.shares_memory(out, alloc)
            enforced, modified = enforce_capacity(proportional_scaling, alloc, sites)
            assert _same_bits(enforced, expected)
            assert not np.shares_memory(enforced, alloc)
            assert _same_bits(modified, _old_modified(expected, alloc))
    nan = np.full((1, N_RESOURCES, k), np.nan)  # NaN sums take the general path, as before
    assert _same_bits(proportional_scaling(nan, sites), _old_scaling(nan, sites))


def test_capacity_enforcement_with_another_enforcer_measures_its_change() -> None:
    sites = np.zeros(3, dtype=np.int64)
    alloc = np.full((2, N_RESOURCES, 3), 0.2)
    enforced, modified = enforce_capacity(reject_over_capacity, alloc, sites)
    assert _same_bits(enforced, alloc)
    assert not np.shares_memory(enforced, alloc)
    assert modified.tolist() == [False, False]
    halve = lambda a, s: a * 0.5  # noqa: E731
    _, modified = enforce_capacity(halve, alloc, sites)
    assert modified.tolist() == [True, True]


def test_the_ran_need_is_computed_when_read_and_equals_the_eager_estimate() -> None:
    orch = Orchestrator.create("testbed-v0", n_envs=3, seed=2)
    ran = orch.managers["ran"]
    rng = np.random.default_rng(6)
    for t in range(8):
        result = orch.step(None if t % 3 == 2 else rng.uniform(0.0, 0.5, (3, N_RESOURCES, 3)))
        if t % 2:  # read after some slots only: the estimate waits for a reader
            rrm = ran.rrm
            assert rrm is not None
            assert not rrm.need.flags.writeable
            assert _same_bits(rrm.need, rrm.with_need_from(result.kpis).need)
            assert _same_bits(rrm.need, rrm.with_need_of(measurements(result.kpis)).need)


def test_enforce_all_puts_read_only_views_of_one_copy_in_force() -> None:
    params = scenarios.load("testbed-v0").params
    managers = make_managers(params, 2, {})
    alloc = np.full((2, N_RESOURCES, 3), 0.25)
    seen: list[bool] = []
    managers["edge"].fault_hook = lambda part: seen.append(part.flags.writeable)
    out, faults = enforce_all(managers, alloc, slot=0)
    assert faults == []
    assert seen == [False]
    assert _same_bits(out, alloc)
    assert not np.shares_memory(out, alloc)
    alloc[:] = 0.0  # the caller's array is not in force
    for mgr in managers.values():
        assert not mgr.in_force.flags.writeable
        assert (mgr.in_force == 0.25).all()
    ran_rrm = managers["ran"].rrm
    assert ran_rrm is not None
    assert (ran_rrm.dedicated == 0.25).all()


@pytest.mark.parametrize("n_envs", [1, 2])
def test_the_hour_of_day_is_the_kernels_and_a_new_array(n_envs: int) -> None:
    orch = Orchestrator.create("testbed-v0", n_envs=n_envs, seed=0)
    action = orch.scenario.params.initial_allocation
    for _ in range(30):
        obs = orch.step(action).observation
        assert _same_bits(obs.hour, hour_of(orch.scenario.params, orch.sim.state.t))
        obs.hour[:] = -1.0  # a caller's writes stay in its copy
    orch.reset()
    obs = orch.step(action).observation
    assert _same_bits(obs.hour, hour_of(orch.scenario.params, orch.sim.state.t))


def test_an_orchestrator_pickled_without_the_memo_attributes_still_steps() -> None:
    """Checkpoints pickle the orchestrator: one written before the fast paths lacks their attributes."""
    orch = Orchestrator.create("testbed-v0", n_envs=1, seed=0)
    orch.step(orch.scenario.params.initial_allocation)
    vars(orch).pop("_hours", None)
    for mgr in orch.managers.values():
        vars(mgr).pop("_measured", None)
    restored = pickle.loads(pickle.dumps(orch))
    obs = restored.step(restored.scenario.params.initial_allocation).observation
    assert _same_bits(obs.hour, hour_of(restored.scenario.params, restored.sim.state.t))
    assert restored.managers["ran"].rrm is not None
