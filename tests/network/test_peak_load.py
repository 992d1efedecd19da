"""The ``prb_load_peak_*`` KPIs: the PRB load of each slice's most loaded cell, a known answer from the link model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from netslice.network import scenarios
from netslice.network.allocation import MCS_DL, MCS_UL, PRB_DL, PRB_UL
from netslice.network.kernel import Kpis, SimParams, SimState, reset, step
from netslice.network.ran import ran_link

N_ENVS = 4


def _slot(params: SimParams, alloc: np.ndarray, seed: int = 0) -> tuple[SimState, Kpis]:
    """A fresh state already running ``alloc`` (no enforcement mixing), and one slot's KPIs on it."""
    state = dataclasses.replace(reset(params, N_ENVS, np.random.default_rng(seed)), alloc=alloc)
    return state, step(params, state, alloc, np.random.default_rng(seed + 1))[1]


def _allocation(params: SimParams) -> np.ndarray:
    return np.broadcast_to(params.initial_allocation, (N_ENVS, *params.initial_allocation.shape)).copy()


@pytest.fixture(scope="module")
def metro() -> SimParams:
    return scenarios.load("metro-v0").params  # 7 cells with shadowing: the cells differ


def test_peak_load_is_the_largest_cell_load_of_the_link_model(metro: SimParams) -> None:
    alloc = _allocation(metro)
    state, kpis = _slot(metro, alloc)
    link = ran_link(metro.ran, alloc[:, PRB_UL : PRB_DL + 1], alloc[:, MCS_UL : MCS_DL + 1], state.shadow)
    cell_bits = (state.traffic.load[:, None, :] * metro.per_ue_bits)[:, :, None, :] * metro.traffic.cell_share
    per_cell = cell_bits / link.rate  # (E, 2, C, K) offered over carried
    open_loop = ~metro.service.interactive
    assert open_loop.any()
    expected = per_cell.max(axis=2)
    np.testing.assert_allclose(kpis.prb_load_peak_ul[:, open_loop], expected[:, 0][:, open_loop], rtol=1e-12)
    np.testing.assert_allclose(kpis.prb_load_peak_dl[:, open_loop], expected[:, 1][:, open_loop], rtol=1e-12)
    # the peak is a cell's, not the mean: above the traffic-weighted mean load wherever the cells differ
    mean = (per_cell * metro.traffic.cell_share).sum(axis=2)
    assert np.all(expected >= mean * (1.0 - 1e-12))
    assert np.any(expected > 1.1 * mean)


def test_half_the_prbs_doubles_the_peak_load_and_the_mcs_cap_raises_it(metro: SimParams) -> None:
    alloc = _allocation(metro)
    _, full = _slot(metro, alloc)
    half = alloc.copy()
    half[:, PRB_UL : PRB_DL + 1] *= 0.5
    _, halved = _slot(metro, half)
    # open-loop slices: the same offered load on half the PRBs (an interactive loop slows down instead)
    loaded = (full.prb_load_peak_dl > 0.0) & ~metro.service.interactive
    assert loaded.any()
    np.testing.assert_allclose(halved.prb_load_peak_dl[loaded], 2.0 * full.prb_load_peak_dl[loaded], rtol=1e-9)
    capped = alloc.copy()
    capped[:, MCS_UL : MCS_DL + 1] = 1.0  # the MCS cap 10 CQI steps down: fewer bits per PRB
    _, slower = _slot(metro, capped)
    assert np.all(slower.prb_load_peak_dl[loaded] > full.prb_load_peak_dl[loaded])


def test_no_traffic_reads_zero_load(metro: SimParams) -> None:
    state, _ = _slot(metro, _allocation(metro))
    no_load = dataclasses.replace(state.traffic, load=np.zeros_like(state.traffic.load))
    idle = dataclasses.replace(state, traffic=no_load)
    kpis = step(metro, idle, state.alloc, np.random.default_rng(3))[1]
    open_loop = ~metro.service.interactive
    np.testing.assert_array_equal(kpis.prb_load_peak_ul[:, open_loop], 0.0)
    np.testing.assert_array_equal(kpis.prb_load_peak_dl[:, open_loop], 0.0)
