"""validate_allocation accepts valid allocations and names the row of every invalid one."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import pytest

from netslice.errors import InvalidAllocationError
from netslice.network.allocation import (
    EDGE_CPU,
    MCS_DL,
    MCS_UL,
    N_RESOURCES,
    RESOURCES,
    SHARE_ROWS,
    equal_split,
    validate_allocation,
)

N_ENVS, N_SLICES = 2, 3
ONE_SITE = np.zeros(N_SLICES, dtype=np.int64)
Alloc = np.ndarray


def _valid() -> Alloc:
    alloc = equal_split(N_ENVS, N_SLICES)
    alloc[1, :, 0] = 0.0  # exact zeros are fine
    return alloc


def _check(alloc: Alloc, site_of_slice: np.ndarray = ONE_SITE) -> None:
    validate_allocation(alloc, N_ENVS, N_SLICES, site_of_slice)


def _set(row: int, k: int, value: float) -> Callable[[Alloc], Alloc]:
    def mutate(alloc: Alloc) -> Alloc:
        alloc[1, row, k] = value
        return alloc

    return mutate


def test_equal_split_is_valid_and_uses_every_share_fully() -> None:
    alloc = equal_split(N_ENVS, N_SLICES)
    _check(alloc)
    np.testing.assert_allclose(alloc[:, list(SHARE_ROWS)].sum(axis=2), 1.0)
    assert np.all(alloc[:, [MCS_UL, MCS_DL]] == 0.0)


@pytest.mark.parametrize(
    "alloc",
    [
        _valid(),
        np.zeros((N_ENVS, N_RESOURCES, N_SLICES)),
        np.ones((N_ENVS, N_RESOURCES, N_SLICES)) * np.array([1.0, 0.0, 0.0]),  # one slice takes everything
        np.broadcast_to(np.array([0.5, 0.3, 0.2]), (N_ENVS, N_RESOURCES, N_SLICES)).copy(),
    ],
)
def test_valid_allocations_are_accepted(alloc: Alloc) -> None:
    _check(alloc)


def test_mcs_knobs_are_per_slice_and_may_all_be_one() -> None:
    alloc = _valid()
    alloc[:, [MCS_UL, MCS_DL], :] = 1.0  # 3 slices x 1.0: not shares, so no sum rule
    _check(alloc)


def test_shares_summing_to_one_within_tolerance_are_accepted() -> None:
    alloc = _valid()
    alloc[0, EDGE_CPU] = [0.1, 0.2, 0.7 + 1e-9]
    _check(alloc)


@pytest.mark.parametrize(
    "shape",
    [(N_ENVS, N_RESOURCES - 1, N_SLICES), (N_ENVS + 1, N_RESOURCES, N_SLICES), (N_RESOURCES, N_SLICES)],
)
def test_wrong_shape_is_rejected(shape: tuple[int, ...]) -> None:
    with pytest.raises(InvalidAllocationError, match="shape"):
        _check(np.zeros(shape))


def test_non_array_is_rejected() -> None:
    with pytest.raises(InvalidAllocationError, match="shape"):
        _check(_valid().tolist())  # type: ignore[arg-type]


BAD_VALUES = [
    pytest.param(np.nan, "finite", id="nan"),
    pytest.param(np.inf, "finite", id="inf"),
    pytest.param(-np.inf, "finite", id="-inf"),
    pytest.param(-0.01, r"\[0, 1\]", id="negative"),
    pytest.param(1.01, r"\[0, 1\]", id="above-one"),
]


@pytest.mark.parametrize("row", range(N_RESOURCES), ids=RESOURCES)
@pytest.mark.parametrize(("value", "rule"), BAD_VALUES)
def test_bad_value_is_rejected_naming_the_row(row: int, value: float, rule: str) -> None:
    alloc = _set(row, 2, value)(_valid())
    with pytest.raises(InvalidAllocationError, match=rule) as err:
        _check(alloc)
    assert f"[{RESOURCES[row]}]" in str(err.value)


@pytest.mark.parametrize("row", [r for r in SHARE_ROWS if r != EDGE_CPU], ids=lambda r: RESOURCES[r])
def test_shares_summing_above_one_are_rejected_naming_the_row(row: int) -> None:
    alloc = _valid()
    alloc[1, row] = [0.5, 0.3, 0.3]
    with pytest.raises(InvalidAllocationError, match="sum to at most 1") as err:
        _check(alloc)
    assert f"[{RESOURCES[row]}]" in str(err.value)


def test_edge_shares_above_one_on_a_site_are_rejected() -> None:
    alloc = _valid()
    alloc[0, EDGE_CPU] = [0.9, 0.6, 0.5]
    with pytest.raises(InvalidAllocationError, match=r"\[edge_cpu\].*edge site 1"):
        _check(alloc, np.array([0, 1, 1]))


def test_edge_shares_are_summed_per_site_not_over_all_slices() -> None:
    alloc = _valid()
    alloc[:, EDGE_CPU] = [0.9, 0.9, 0.9]  # 2.7 in total, but each slice has its own site
    _check(alloc, np.array([0, 1, 2]))
    with pytest.raises(InvalidAllocationError, match="edge_cpu"):
        _check(alloc, ONE_SITE)


@pytest.mark.parametrize(
    "mutate",
    [lambda a: a, _set(0, 0, np.nan), _set(4, 1, -1.0), _set(EDGE_CPU, 0, 0.9)],
    ids=["valid", "nan", "negative", "edge-over"],
)
def test_validation_does_not_modify_its_input(mutate: Callable[[Alloc], Alloc]) -> None:
    alloc = mutate(_valid())
    before = alloc.copy()
    with contextlib.suppress(InvalidAllocationError):
        _check(alloc)
    np.testing.assert_array_equal(alloc, before)
