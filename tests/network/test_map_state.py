"""kernel.map_state (one walk over every array of a SimState) and the fused backend's field lists derived from it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from netslice.network import fused, scenarios
from netslice.network.kernel import Kpis, SimState, map_state, reset
from netslice.network.traffic import TrafficState


def _state(n_envs: int = 2, seed: int = 0) -> SimState:
    return reset(scenarios.load("testbed-v0").params, n_envs, np.random.default_rng(seed))


def _leaves(state: SimState) -> dict[str, np.ndarray]:
    """Every array of ``state`` by dotted name, in field order."""
    out: dict[str, np.ndarray] = {}
    for f in dataclasses.fields(state):
        if f.name == "traffic":
            out.update({f"traffic.{g.name}": getattr(state.traffic, g.name) for g in dataclasses.fields(TrafficState)})
        else:
            out[f.name] = getattr(state, f.name)
    return out


def test_map_state_applies_fn_to_every_array_including_the_traffic_state() -> None:
    state = _state()
    seen: list[int] = []

    def record(a: np.ndarray) -> np.ndarray:
        seen.append(id(a))
        return a.copy()

    copied = map_state(record, state)
    assert isinstance(copied, SimState)
    assert isinstance(copied.traffic, TrafficState)
    assert sorted(seen) == sorted(id(a) for a in _leaves(state).values())
    for name, value in _leaves(copied).items():
        assert value is not _leaves(state)[name]
        np.testing.assert_array_equal(value, _leaves(state)[name], err_msg=name)


def test_map_state_tiles_a_state_along_the_env_axis() -> None:
    """The oracle's use: every env repeated n times, C-contiguous (copy c of env e is env c * n_envs + e)."""
    state = _state(n_envs=2)
    tiled = map_state(lambda x: np.ascontiguousarray(np.concatenate([x] * 3, axis=0)), state)
    assert tiled.n_envs == 6
    for name, value in _leaves(tiled).items():
        assert value.flags.c_contiguous, name
        np.testing.assert_array_equal(value[4], _leaves(state)[name][0], err_msg=name)


def test_map_state_combines_matching_arrays_of_several_states() -> None:
    a, b = _state(seed=0), _state(seed=1)
    mixed = map_state(lambda x, y: x - y, a, b)
    for name, value in _leaves(mixed).items():
        np.testing.assert_array_equal(value, _leaves(a)[name] - _leaves(b)[name], err_msg=name)


def test_map_state_needs_a_state() -> None:
    with pytest.raises(TypeError, match="at least one state"):
        map_state(np.copy)


def test_fused_field_lists_follow_the_dataclasses() -> None:
    assert fused.KpiArrays._fields == tuple(f.name for f in dataclasses.fields(Kpis))
    assert fused.StateArrays._fields == tuple(name.rpartition(".")[2] for name in _leaves(_state()))
    state = _state()
    arrays = fused.state_arrays(state)
    for name, value in _leaves(state).items():
        assert getattr(arrays, name.rpartition(".")[2]) is value  # already contiguous: no copy
