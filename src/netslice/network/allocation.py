"""The allocation a[m, k]: how much of resource m slice k gets, on every node of the domain.

An allocation is one array shaped ``(n_envs, N_RESOURCES, n_slices)`` with rows in the order of
:data:`RESOURCES`. Share rows are fractions of each node's capacity (a cell's PRBs, a link's
bandwidth, the UPF host's vCPUs, the serving edge site's cores) and must sum to at most 1 over
the slices sharing a node. MCS rows are per-slice knobs in [0, 1]: 0 = no cap, 1 = cap 10 CQI steps
below the link-adapted CQI (see :mod:`netslice.network.ran`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from netslice.errors import InvalidAllocationError

FloatArray = NDArray[np.float64]
ArrayT = TypeVar("ArrayT", bound=NDArray[Any])

#: Row names of an allocation, in order.
RESOURCES: tuple[str, ...] = ("prb_ul", "prb_dl", "mcs_ul", "mcs_dl", "tn_bw", "cn_cpu", "edge_cpu")
N_RESOURCES = len(RESOURCES)
PRB_UL, PRB_DL, MCS_UL, MCS_DL, TN_BW, CN_CPU, EDGE_CPU = range(N_RESOURCES)
#: Rows that are shares of a node's capacity (the others are per-slice knobs).
SHARE_ROWS: tuple[int, ...] = (PRB_UL, PRB_DL, TN_BW, CN_CPU, EDGE_CPU)
#: Technical domains and the share rows that make up each domain's usage.
DOMAINS: tuple[str, ...] = ("ran", "tn", "cn", "edge")
DOMAIN_ROWS: dict[str, tuple[int, ...]] = {
    "ran": (PRB_UL, PRB_DL),
    "tn": (TN_BW,),
    "cn": (CN_CPU,),
    "edge": (EDGE_CPU,),
}
#: Tolerance on "sums to at most 1".
SUM_TOL = 1e-6

#: The ufunc behind :func:`numpy.clip` (``np.clip(x, lo, hi)`` calls it, so results are bit-identical): on the
#: small arrays of one env, ``np.clip``'s Python dispatch costs several times the clip itself.
clip: np.ufunc = (np._core if hasattr(np, "_core") else np.core).umath.clip


def read_only(array: ArrayT) -> ArrayT:
    """Mark an array its owner alone holds read-only (no copy) and return it: others may read, not write it."""
    array.setflags(write=False)
    return array


@lru_cache(maxsize=64)
def ones(n: int) -> FloatArray:
    """A read-only vector of ``n`` ones (cached: the summing vector of :func:`slice_sum` and friends)."""
    return read_only(np.ones(n))


@lru_cache(maxsize=64)
def zeros(n: int) -> FloatArray:
    """A read-only vector of ``n`` zeros (cached; see :func:`has_nonfinite`)."""
    return read_only(np.zeros(n))


def has_nonfinite(x: FloatArray) -> bool:
    """Whether ``x`` holds a NaN or an infinity: ``not np.isfinite(x).all()`` in one call.

    ``x . 0`` is NaN exactly when some entry is NaN or +-inf (``inf * 0`` is NaN), else 0. ``inf * 0`` sets
    the invalid-value flag (a NaN does not): call it where invalid-value warnings are ignored
    (``np.errstate(invalid="ignore")``) or on arrays that hold no infinity (clipped to finite bounds).
    """
    return math.isnan(np.dot(x.ravel(), zeros(x.size)))


def equal_split(n_envs: int, n_slices: int) -> FloatArray:
    """Every share row split equally among the slices, MCS caps off."""
    alloc = np.full((n_envs, N_RESOURCES, n_slices), 1.0 / n_slices)
    alloc[:, [MCS_UL, MCS_DL], :] = 0.0
    return alloc


#: Share rows bounded by one node's capacity, summed over all slices (edge rows sum per site instead).
NODE_ROWS: tuple[int, ...] = (PRB_UL, PRB_DL, TN_BW, CN_CPU)


ALL_ROWS: tuple[int, ...] = tuple(range(N_RESOURCES))


def check_values(alloc: FloatArray, label: str = "allocation", rows: tuple[int, ...] = ALL_ROWS) -> None:
    """Raise :class:`InvalidAllocationError` on non-finite values or values outside [0, 1].

    Args:
        alloc: ``(n_envs, len(rows), n_slices)``.
        label: name of the checked object in messages.
        rows: the resource row of each of ``alloc``'s rows.
    """
    lo = np.minimum.reduce(alloc, axis=None, initial=0.0)  # what alloc.min(initial=0.0) runs
    hi = np.maximum.reduce(alloc, axis=None, initial=0.0)
    # Fast path: one pass each for min and max. NaN propagates into both and fails both comparisons (-inf fails the
    # first, +inf the second): the slow path below then names what is wrong.
    if lo >= 0.0 and hi <= 1.0:
        return
    finite = np.isfinite(alloc)
    if not finite.all():
        env, i, k = np.argwhere(~finite)[0]
        raise InvalidAllocationError(
            f"{label}[{RESOURCES[rows[i]]}]: must be finite, got {alloc[env, i, k]} (env {env}, slice {k})"
        )
    env, i, k = np.argwhere((alloc < 0.0) | (alloc > 1.0))[0]
    raise InvalidAllocationError(
        f"{label}[{RESOURCES[rows[i]]}]: must be in [0, 1], got {alloc[env, i, k]} (env {env}, slice {k})"
    )


def slice_sum(x: FloatArray) -> FloatArray:
    """Sum over the last (slice) axis; a matrix product, much faster than ``sum(axis=-1)`` for a few slices."""
    out: FloatArray = x @ ones(x.shape[-1])
    return out


def site_sums(edge_shares: FloatArray, site_of_slice: NDArray[np.int64]) -> FloatArray:
    """Sum ``(n_envs, n_slices)`` edge shares per site: ``(n_envs, n_sites)``."""
    n_sites = int(np.maximum.reduce(site_of_slice)) + 1  # site_of_slice.max()
    if n_sites == 1:
        return slice_sum(edge_shares)[:, None]
    out: FloatArray = edge_shares @ np.eye(n_sites)[site_of_slice]
    return out


def check_capacity(
    alloc: FloatArray, site_of_slice: NDArray[np.int64], label: str = "allocation", rows: tuple[int, ...] = ALL_ROWS
) -> None:
    """Raise :class:`InvalidAllocationError` when the shares of one node sum above 1.

    Args:
        alloc: ``(n_envs, len(rows), n_slices)``.
        site_of_slice: ``(n_slices,)`` edge site of each slice.
        label: name of the checked object in messages.
        rows: the resource row of each of ``alloc``'s rows.
    """
    sums = slice_sum(alloc)  # (E, len(rows))
    node_idx, edge_idx = _capacity_rows(rows)
    limit = 1.0 + SUM_TOL
    if not _any(sums[:, node_idx] > limit) and not any(
        _any(site_sums(alloc[:, i, :], site_of_slice) > limit) for i in edge_idx
    ):
        return  # every node fits: checked in one pass; the loop below only names the first offender
    for i, row in enumerate(rows):
        if row in NODE_ROWS:
            node_sum = sums[:, i : i + 1]
        elif row == EDGE_CPU:
            node_sum = site_sums(alloc[:, i, :], site_of_slice)
        else:
            continue
        over = node_sum > 1.0 + SUM_TOL
        if over.any():
            env, node = np.argwhere(over)[0]
            where = f"edge site {node}" if row == EDGE_CPU else "the node"
            raise InvalidAllocationError(
                f"{label}[{RESOURCES[row]}]: shares on {where} must sum to at most 1 over slices, got "
                f"{node_sum[env, node]:.6f} (env {env})"
            )


def _any(x: NDArray[np.bool_]) -> bool:
    """``x.any()`` without the method's wrapper (the same reduction)."""
    return bool(np.logical_or.reduce(x, axis=None))


@lru_cache(maxsize=64)
def _capacity_rows(rows: tuple[int, ...]) -> tuple[NDArray[np.intp], list[int]]:
    """Positions in ``rows`` of the node-summed rows (an index array) and of the per-edge-site rows."""
    node = read_only(np.array([i for i, r in enumerate(rows) if r in NODE_ROWS], dtype=np.intp))
    return node, [i for i, r in enumerate(rows) if r == EDGE_CPU]


def validate_allocation(alloc: FloatArray, n_envs: int, n_slices: int, site_of_slice: NDArray[np.int64]) -> None:
    """Check an allocation and raise a clear error naming the resource and the rule.

    Args:
        alloc: candidate allocation.
        n_envs: expected number of envs.
        n_slices: expected number of slices.
        site_of_slice: ``(n_slices,)`` edge site serving each slice (edge shares sum per site).

    Raises:
        InvalidAllocationError: wrong shape, non-finite values, values outside [0, 1], or shares of
            one node summing above 1.
    """
    expected = (n_envs, N_RESOURCES, n_slices)
    if not isinstance(alloc, np.ndarray) or alloc.shape != expected:
        shape = getattr(alloc, "shape", type(alloc).__name__)
        raise InvalidAllocationError(
            f"allocation: shape must be (n_envs, n_resources, n_slices) = {expected}, got {shape}"
        )
    check_values(alloc)
    check_capacity(alloc, site_of_slice)
