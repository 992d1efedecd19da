"""Slices present or absent in a network: no load, no state, and nothing of a departed slice left to a new one."""

from __future__ import annotations

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.network import scenarios
from netslice.network.presence import change_presence, mask_load, renew, vacate
from netslice.network.simulator import Simulator


@pytest.fixture(scope="module")
def params():
    return scenarios.load("metro-v0").params


def _run(sim: Simulator, slots: int) -> None:
    alloc = sim.params.initial_allocation
    for _ in range(slots):
        sim.step(alloc)


def test_absent_slice_offers_no_load_and_holds_no_queue(params) -> None:
    sim = Simulator(params, n_envs=3, seed=1, backend="numpy")
    present = np.ones((3, params.n_slices), dtype=bool)
    present[1, 2] = False
    sim.set_presence(present)
    alloc = np.broadcast_to(params.initial_allocation, (3, *params.initial_allocation.shape)).copy()
    alloc[1, :, 2] = 0.0
    for _ in range(5):
        kpis = sim.step(alloc)
        assert sim.state.traffic.load[1, 2] == 0.0
        assert kpis.active_ues[1, 2] == 0.0
        assert kpis.offered_ul_kbps[1, 2] == 0.0
        assert sim.state.q_cn[1, 2] == 0.0
        assert sim.state.q_edge[1, 2] == 0.0
        assert np.all(sim.state.q_ran[1, :, :, 2] == 0.0)
        assert np.all(sim.state.q_tn[1, :, 2, :] == 0.0)
    assert np.all(sim.state.traffic.load[0] > 0.0)
    assert np.all(sim.state.traffic.load[2] > 0.0)
    sim.reset()
    assert sim.state.traffic.load[1, 2] == 0.0  # presence outlives an episode reset
    np.testing.assert_array_equal(sim.present, present)


def test_all_present_is_the_static_simulator(params) -> None:
    """A network whose slices are all present runs exactly as before (same draws, same state)."""
    a = Simulator(params, n_envs=2, seed=5, backend="numpy")
    b = Simulator(params, n_envs=2, seed=5, backend="numpy")
    b.set_presence(np.ones(params.n_slices, dtype=bool))
    _run(a, 4)
    _run(b, 4)
    np.testing.assert_array_equal(a.state.traffic.load, b.state.traffic.load)
    np.testing.assert_array_equal(a.state.q_ran, b.state.q_ran)


def test_departure_and_arrival_leave_no_stale_state(params) -> None:
    """A slice that leaves takes its backlog; the next one in the slot starts empty with its own traffic."""
    sim = Simulator(params, n_envs=2, seed=3, backend="numpy")
    starved = np.broadcast_to(params.initial_allocation, (2, *params.initial_allocation.shape)).copy()
    starved[:, :, 1] *= 0.05  # slice 1 (URLLC) builds backlog in every domain
    for _ in range(6):
        sim.step(starved)
    before = sim.state
    assert before.q_edge[:, 1].min() > 0.0
    assert before.q_cn[:, 1].min() > 0.0
    assert before.q_ran[..., 1].max() > 0.0
    gone = np.ones(params.n_slices, dtype=bool)
    gone[1] = False
    sim.set_presence(gone)
    after = sim.state
    assert after.q_edge[:, 1].max() == 0.0
    assert after.q_cn[:, 1].max() == 0.0
    assert after.q_ran[..., 1].max() == 0.0
    assert after.q_tn[:, :, 1].max() == 0.0
    sim.set_presence(np.ones(params.n_slices, dtype=bool))
    new = sim.state
    assert np.all(new.traffic.noise[:, 1] != before.traffic.noise[:, 1])  # a fresh draw, not the departed slice's
    assert np.all(new.traffic.day[:, 1] != before.traffic.day[:, 1])
    assert np.all(new.traffic.load[:, 1] > 0.0)
    assert new.q_edge[:, 1].max() == 0.0
    # The other slices' state is untouched by the slot's changes.
    kept = [k for k in range(params.n_slices) if k != 1]
    np.testing.assert_array_equal(new.q_ran[..., kept], before.q_ran[..., kept])
    np.testing.assert_array_equal(new.traffic.load[:, kept], before.traffic.load[:, kept])


def test_pure_functions_change_only_the_named_pairs(params) -> None:
    sim = Simulator(params, n_envs=2, seed=0, backend="numpy")
    _run(sim, 3)
    state = sim.state
    pairs = np.zeros((2, params.n_slices), dtype=bool)
    pairs[0, 1] = True
    v = vacate(state, pairs)
    assert v.q_cn[0, 1] == 0.0
    assert v.q_cn[1, 1] == state.q_cn[1, 1]
    np.testing.assert_array_equal(v.q_cn[:, 2:], state.q_cn[:, 2:])
    r = renew(params, state, pairs, np.random.default_rng(0))
    np.testing.assert_array_equal(r.traffic.noise[~pairs], state.traffic.noise[~pairs])
    assert r.traffic.noise[0, 1] != state.traffic.noise[0, 1]
    m = mask_load(state, ~pairs)
    assert m.traffic.load[0, 1] == 0.0
    assert m.traffic.load[1, 1] == state.traffic.load[1, 1]
    same = change_presence(params, state, ~pairs, ~pairs, np.random.default_rng(0))
    np.testing.assert_array_equal(same.q_cn, state.q_cn)


def test_same_seed_same_presence_story_is_reproducible(params) -> None:
    runs = []
    for _ in range(2):
        sim = Simulator(params, n_envs=2, seed=11, backend="numpy")
        sim.set_presence(np.array([True, False, True, True, False]))
        _run(sim, 2)
        sim.set_presence(np.array([True, True, True, False, False]))
        _run(sim, 2)
        runs.append(sim.state.traffic.load.copy())
    np.testing.assert_array_equal(runs[0], runs[1])


def test_bad_presence_shape_is_refused(params) -> None:
    sim = Simulator(params, n_envs=2, seed=0)
    with pytest.raises(ConfigError, match="present: must be shaped"):
        sim.set_presence(np.ones(3, dtype=bool))
    np.testing.assert_array_equal(sim.present, np.ones((2, params.n_slices), dtype=bool))
