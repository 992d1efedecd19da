"""Action checking and capacity enforcement (the orchestrator's "action modification").

An agent's action is an allocation ``(n_envs, n_resources, n_slices)`` in [0, 1]. Before anything
reaches a domain manager the orchestrator

1. rejects malformed actions (wrong shape, NaN/inf, values outside [0, 1]) with an
   :class:`~netslice.errors.InvalidAllocationError` that names the resource and the rule, and
2. modifies over-capacity actions with a pluggable :data:`CapacityEnforcer`: by default
   :func:`proportional_scaling`, which scales the shares of every over-subscribed node down in
   proportion so that they sum to 1 (the original testbed's rule).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from netslice.errors import InvalidAllocationError
from netslice.network.allocation import (
    EDGE_CPU,
    MCS_DL,
    MCS_UL,
    N_RESOURCES,
    check_capacity,
    check_values,
    site_sums,
    slice_sum,
)

KNOB_ROWS = (MCS_UL, MCS_DL)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: ``enforcer(allocation, site_of_slice) -> allocation`` within capacity (must not modify its input).
CapacityEnforcer = Callable[[FloatArray, IntArray], FloatArray]


def check_action(action: object, n_envs: int, n_slices: int) -> FloatArray:
    """Return ``action`` as a float array after checking its shape, finiteness and range.

    Args:
        action: candidate allocation, ``(n_envs, n_resources, n_slices)`` or ``(n_resources, n_slices)``
            (then used for every env).
        n_envs: number of envs.
        n_slices: number of slices.

    Raises:
        InvalidAllocationError: naming the field and the rule.
    """
    try:
        raw = np.asarray(action)
        if raw.dtype.kind not in "biuf":  # strings, objects, complex numbers: not an allocation
            raise TypeError(raw.dtype)
        alloc = raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError) as err:
        raise InvalidAllocationError(f"action: must be an array of real numbers, got {type(action).__name__}") from err
    if alloc.ndim == 2:
        alloc = np.broadcast_to(alloc, (n_envs, *alloc.shape))
    expected = (n_envs, N_RESOURCES, n_slices)
    if alloc.shape != expected:
        raise InvalidAllocationError(f"action: shape must be (n_envs, n_resources, n_slices) = {expected}, "
                                     f"got {alloc.shape}")  # fmt: skip
    check_values(alloc, "action")
    return alloc


def proportional_scaling(alloc: FloatArray, site_of_slice: IntArray) -> FloatArray:
    """Scale the shares of every over-subscribed node down in proportion, so that they sum to 1.

    >>> a = np.zeros((1, 7, 2)); a[0, 0] = [0.8, 0.4]
    >>> proportional_scaling(a, np.array([0, 0]))[0, 0].round(4).tolist()
    [0.6667, 0.3333]
    """
    scale = 1.0 / np.maximum(slice_sum(alloc), 1.0)  # (E, n_resources)
    scale[:, list(KNOB_ROWS)] = 1.0
    out: FloatArray = alloc * scale[:, :, None]
    if int(site_of_slice.max()) > 0:  # several edge sites: scale each site's shares on their own
        edge_scale = 1.0 / np.maximum(site_sums(alloc[:, EDGE_CPU, :], site_of_slice), 1.0)  # (E, n_sites)
        out[:, EDGE_CPU, :] = alloc[:, EDGE_CPU, :] * edge_scale[:, site_of_slice]
    return out


def reject_over_capacity(alloc: FloatArray, site_of_slice: IntArray) -> FloatArray:
    """A strict enforcer: raise on any over-subscribed node instead of modifying the action."""
    check_capacity(alloc, site_of_slice, "action")
    return np.array(alloc, dtype=np.float64, copy=True)


ENFORCERS: dict[str, CapacityEnforcer] = {"proportional": proportional_scaling, "reject": reject_over_capacity}
