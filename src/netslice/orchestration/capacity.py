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
    NODE_ROWS,
    SHARE_ROWS,
    check_capacity,
    check_values,
    ones,
    read_only,
    site_sums,
    slice_sum,
)

KNOB_ROWS = (MCS_UL, MCS_DL)
#: :data:`KNOB_ROWS` as a slice (they are consecutive): a view instead of a fancy index.
_KNOB_SLICE = slice(MCS_UL, MCS_DL + 1)
assert tuple(range(N_RESOURCES))[_KNOB_SLICE] == KNOB_ROWS

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Per row, the sum over the slices within which no scaling happens: 1 for the rows summed over a node's slices
#: (with one edge site the edge row too; with several, each site is checked on its own), inf for the others.
_CEILING = read_only(np.array([1.0 if r in SHARE_ROWS else np.inf for r in range(N_RESOURCES)]))
_CEILING_SITES = read_only(np.array([1.0 if r in NODE_ROWS else np.inf for r in range(N_RESOURCES)]))
#: Total change of an env's shares above which capacity enforcement "modified" it (0-d, like ``_ONE``).
_MODIFIED_TOL = read_only(np.array(1e-12))
#: 1 as a read-only 0-d float64 array: a ufunc converts a Python float operand on every call, which costs about
#: half of a call on one env's allocation (the sums it meets are float64: the same result).
_ONE = read_only(np.array(1.0))

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

    Always a new array (a copy where no node is over-subscribed).

    >>> a = np.zeros((1, 7, 2)); a[0, 0] = [0.8, 0.4]
    >>> proportional_scaling(a, np.array([0, 0]))[0, 0].round(4).tolist()
    [0.6667, 0.3333]
    """
    scaled = _scaled_down(alloc, site_of_slice)
    return alloc.copy() if scaled is None else scaled


def _scaled_down(alloc: FloatArray, site_of_slice: IntArray) -> FloatArray | None:
    """:func:`proportional_scaling`'s result, or ``None`` where no node is over-subscribed.

    There every scale would be 1 and ``x * 1`` is ``x``: the result would be a copy of ``alloc``.
    """
    sums = slice_sum(alloc)  # (E, n_resources)
    several_sites = np.count_nonzero(site_of_slice) > 0  # site_of_slice.max() > 0 (site ids are >= 0)
    edge_sums = site_sums(alloc[:, EDGE_CPU, :], site_of_slice) if several_sites else None  # (E, n_sites)
    if np.count_nonzero(sums <= (_CEILING_SITES if several_sites else _CEILING)) == sums.size and (
        edge_sums is None or np.count_nonzero(edge_sums <= _ONE) == edge_sums.size
    ):  # every node within capacity (NaN sums are not: they take the general path)
        return None
    scale = np.maximum(sums, _ONE)  # then 1 / that in place
    np.divide(_ONE, scale, out=scale)
    scale[:, _KNOB_SLICE] = 1.0
    out: FloatArray = alloc * scale[:, :, None]
    if edge_sums is not None:  # several edge sites, each on its own
        edge_scale = 1.0 / np.maximum(edge_sums, 1.0)
        out[:, EDGE_CPU, :] = alloc[:, EDGE_CPU, :] * edge_scale[:, site_of_slice]
    return out


def enforce_capacity(
    enforcer: CapacityEnforcer, alloc: FloatArray, site_of_slice: IntArray
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """``enforcer``'s allocation for ``alloc`` ``(n_envs, n_resources, n_slices)``, and which envs it modified.

    An env is modified when its shares changed by more than 1e-12 in total. :func:`proportional_scaling`
    modifies no env where no node is over-subscribed (its result is then a copy, and no change is measured).
    """
    n_envs = alloc.shape[0]
    if enforcer is proportional_scaling:
        scaled = _scaled_down(alloc, site_of_slice)
        if scaled is None:
            return alloc.copy(), np.zeros(n_envs, dtype=bool)
        enforced = scaled
    else:
        enforced = enforcer(alloc, site_of_slice)
    change = enforced - alloc
    np.abs(change, out=change)
    modified: NDArray[np.bool_] = change.reshape(n_envs, -1) @ ones(alloc.size // n_envs) > _MODIFIED_TOL
    return enforced, modified


def reject_over_capacity(alloc: FloatArray, site_of_slice: IntArray) -> FloatArray:
    """A strict enforcer: raise on any over-subscribed node instead of modifying the action."""
    check_capacity(alloc, site_of_slice, "action")
    return np.array(alloc, dtype=np.float64, copy=True)


def make_room(
    shares: FloatArray, k: int, value: FloatArray, floor: FloatArray, groups: NDArray[np.int64]
) -> FloatArray:
    """Shares of one resource with slice ``k`` set to ``value``, the others cut back so that every node fits.

    The slices sharing slice ``k``'s node (same entry in ``groups``) give up what they hold above their
    ``floor`` (their own reservations), in proportion to it, until the node's shares sum to at most 1;
    only if that is not enough (it is whenever the reservations fit) are they scaled down further.

    Args:
        shares: ``(n_envs, n_slices)`` shares in force.
        k: the slice to set.
        value: ``(n_envs,)`` its new share.
        floor: ``(n_slices,)`` share each other slice keeps if it can.
        groups: ``(n_slices,)`` node of each slice (the edge site for edge CPU, all zeros otherwise).

    Returns:
        The new ``(n_envs, n_slices)`` shares (the input is not modified).

    >>> make_room(np.array([[0.5, 0.3, 0.2]]), 0, np.array([0.7]), np.array([0.0, 0.2, 0.0]), np.zeros(3, int))
    array([[0.7       , 0.23333333, 0.06666667]])
    """
    out = np.array(shares, dtype=np.float64, copy=True)
    out[:, k] = value
    others = (groups == groups[k]) & (np.arange(out.shape[1]) != k)
    excess = np.maximum(out[:, groups == groups[k]].sum(axis=-1) - 1.0, 0.0)  # (E,)
    slack = np.maximum(out[:, others] - floor[others], 0.0)
    total = slack.sum(axis=-1)
    cut = np.minimum(excess, total)
    out[:, others] -= slack * (cut / np.maximum(total, 1e-300))[:, None]
    rest = excess - cut
    held = out[:, others].sum(axis=-1)
    out[:, others] *= (1.0 - np.minimum(rest / np.maximum(held, 1e-300), 1.0))[:, None]
    result: FloatArray = np.clip(out, 0.0, 1.0)
    return result


ENFORCERS: dict[str, CapacityEnforcer] = {"proportional": proportional_scaling, "reject": reject_over_capacity}

#: Enforcers whose output, for an action that passed :func:`check_action` (finite, in [0, 1]), passes
#: :func:`~netslice.network.allocation.check_values` and :func:`~netslice.network.allocation.check_capacity`
#: under the same ``site_of_slice``, so that nothing downstream needs to check them again:
#:
#: * :func:`reject_over_capacity` returns a copy of its input after ``check_capacity`` passed;
#: * :func:`proportional_scaling` multiplies shares a in [0, 1] by scales s = 1 / max(S, 1) in (0, 1]: a * s
#:   rounds to a value in [0, a], and a node's scaled sum is S * s (= 1 when S > 1) up to a few roundings
#:   of 1e-16, far within the 1e-6 tolerance of ``check_capacity``.
WITHIN_RULES: tuple[CapacityEnforcer, ...] = (proportional_scaling, reject_over_capacity)
#: The identities of :data:`WITHIN_RULES` (``id(enforcer) in`` it: one look-up, and identity only, never ``==``).
_WITHIN_RULE_IDS = frozenset(map(id, WITHIN_RULES))


def within_rules(enforcer: CapacityEnforcer) -> bool:
    """Whether ``enforcer`` is one of :data:`WITHIN_RULES` (the very function, not an equal object)."""
    return id(enforcer) in _WITHIN_RULE_IDS
