"""Budget arithmetic of the SLA decomposition: pure, vectorised functions of arrays ``(..., G)``, groups last.

The agent groups and their domains (:data:`GROUPS`, :data:`GROUP_DOMAINS`, :data:`MEMBERSHIP`), the fixed
proportional split (:func:`shares_from_domain_latency`, :func:`floor_shares`, :func:`split_latency`), the
adaptive step (:func:`rebalance`), the log-space reliability split (:func:`split_reliability`) and the
per-group latency cost (:func:`local_cost`). This module holds no state: the per-slot budgets are a
:class:`~netslice.intelligence.decomposition.DecompositionState`, which
:class:`~netslice.intelligence.decomposition.SlaDecomposer` builds and updates with these functions. The
module docstring of :mod:`netslice.intelligence.decomposition` gives the method; import the names from there.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from netslice.network.allocation import DOMAINS, read_only
from netslice.orchestration.decomposition import LATENCY_FIELD, proportional_weights

FloatArray = NDArray[np.float64]

#: The agent groups of Fig. 4(c), in order: the last axis of every per-group array.
GROUPS: tuple[str, ...] = ("ran_edge", "transport", "core")
N_GROUPS = len(GROUPS)
#: The technical domains (:data:`~netslice.network.allocation.DOMAINS`) each group orchestrates, defined once.
GROUP_DOMAINS: dict[str, tuple[str, ...]] = {"ran_edge": ("ran", "edge"), "transport": ("tn",), "core": ("cn",)}
#: ``(4, 3)`` membership: ``MEMBERSHIP[d, g]`` is 1 where domain d (DOMAINS order) belongs to group g.
MEMBERSHIP: FloatArray = read_only(np.array([[float(d in GROUP_DOMAINS[g]) for g in GROUPS] for d in DOMAINS]))
#: The KPI field holding each domain's part of the latency (ms), in DOMAINS order (the orchestration table).
LATENCY_FIELDS: tuple[str, ...] = tuple(LATENCY_FIELD[d] for d in DOMAINS)
#: Nominal group shares without a design point: each domain a quarter (ran_edge 1/2, transport and core 1/4).
DEFAULT_SHARES: FloatArray = read_only(MEMBERSHIP.sum(axis=0) / len(DOMAINS))
#: Where each group's nominal share of a slice's latency budget comes from (``netslice train --domain-shares``):
#: ``"design"``, each domain's latency at the slice's design point (the orchestrator's admission budgets), or
#: ``"equal"``, :data:`DEFAULT_SHARES`.
SHARES: tuple[str, ...] = ("design", "equal")


def close_sum(budgets: FloatArray, total: FloatArray) -> FloatArray:
    """``budgets`` ``(..., G)`` made to sum exactly to ``total`` ``(...)``: the last group takes the remainder.

    Every group but the last is rounded to a multiple of ``q = ulp(total)`` (a change of at most half an
    ulp of the total). All partial sums are then multiples of ``q`` no larger than about ``total``, so they
    are exact, and ``total - (others)`` is exact too. ``budgets.sum(axis=-1)`` then equals ``total``
    bit for bit.

    >>> close_sum(np.array([0.25, 0.5, 0.5]), np.array(1.0)).tolist()
    [0.25, 0.5, 0.25]
    >>> b = close_sum(np.array([0.1, 0.2, 0.3]), np.array(0.6))
    >>> float(b.sum()) == 0.6
    True
    """
    out = np.array(budgets, dtype=np.float64, copy=True)
    T = np.asarray(total, dtype=np.float64)
    q = np.spacing(np.abs(T))[..., None]
    with np.errstate(invalid="ignore"):
        head = np.round(out[..., :-1] / q) * q
    out[..., :-1] = np.where(np.isfinite(head), head, out[..., :-1])
    out[..., -1] = T - out[..., :-1].sum(axis=-1)
    return out


def floor_shares(shares: ArrayLike, min_fraction: float) -> FloatArray:
    """Normalise shares ``(..., G)`` to sum to 1 with every share at least ``min_fraction``.

    Shares below the floor are raised to it. The others give up the difference in proportion to how far they
    are above the floor; shares that all reach the floor are only normalised. Shares that are all zero or
    non-finite become equal.

    Args:
        shares: non-negative weights ``(..., G)``.
        min_fraction: the floor, in ``[0, 1 / G)``.

    >>> floor_shares([0.6, 0.4, 0.0], 0.1).round(6).tolist()
    [0.5375, 0.3625, 0.1]
    >>> floor_shares([2.0, 1.0, 1.0], 0.1).tolist()
    [0.5, 0.25, 0.25]
    """
    w = np.asarray(shares, dtype=np.float64)
    G = w.shape[-1]
    w = proportional_weights(np.where(np.isfinite(w) & (w > 0.0), w, 0.0))
    excess = np.maximum(w - min_fraction, 0.0)  # sums to > 0: the shares sum to 1 > G * min_fraction
    floored = min_fraction + (1.0 - G * min_fraction) * excess / excess.sum(axis=-1, keepdims=True)
    out: FloatArray = np.where((w < min_fraction).any(axis=-1, keepdims=True), floored, w)
    return out


def shares_from_domain_latency(domain_ms: ArrayLike, min_fraction: float = 0.0) -> FloatArray:
    """Group shares ``(..., G)`` in proportion to each domain's latency ``(..., 4)`` (DOMAINS order).

    Args:
        domain_ms: latency of each domain at the slice's design point (ms).
        min_fraction: floor of every group's share (:func:`floor_shares`).

    >>> shares_from_domain_latency([20.0, 10.0, 0.0, 70.0]).round(6).tolist()
    [0.9, 0.1, 0.0]
    """
    grouped = np.asarray(domain_ms, dtype=np.float64) @ MEMBERSHIP
    return floor_shares(grouped, min_fraction)


def split_latency(total_ms: ArrayLike, shares: ArrayLike) -> FloatArray:
    """The fixed split: budgets ``(..., K, G)`` of the latency budgets ``total_ms`` ``(..., K)``.

    ``shares`` ``(K, G)`` sum to 1 per slice (:func:`floor_shares`). The budgets sum to ``total_ms`` (see
    :func:`close_sum`), and no group's budget decreases when ``total_ms`` grows (to within an ulp of the total).

    >>> split_latency([90.0], [[0.5, 0.3, 0.2]]).round(6).tolist()
    [[45.0, 27.0, 18.0]]
    """
    total = np.asarray(total_ms, dtype=np.float64)
    return close_sum(total[..., None] * np.asarray(shares, dtype=np.float64), total)


def rebalance(
    budgets_ms: FloatArray, smoothed_ms: FloatArray, total_ms: FloatArray, *, step_size: float, min_fraction: float
) -> FloatArray:
    """One adaptive update: budget moves from groups with slack to groups over their budget.

    Args:
        budgets_ms: ``(..., G)`` budgets in force; they sum to ``total_ms`` and keep their floors.
        smoothed_ms: ``(..., G)`` each group's smoothed observed latency. NaN (nothing observed) counts
            as on budget, and values above ``total_ms`` (a starved group) count as ``total_ms``.
        total_ms: ``(...)`` the slices' latency budgets.
        step_size: fraction in (0, 1] of the possible transfer made in one update.
        min_fraction: the floor, as a fraction of ``total_ms``.

    Returns:
        The new budgets ``(..., G)``: they sum to ``total_ms``, stay at or above their floors, and no
        group that had slack is pushed below its own smoothed latency.

    >>> rebalance(np.array([50.0, 30.0, 20.0]), np.array([70.0, 10.0, 20.0]), np.array(100.0),
    ...           step_size=0.5, min_fraction=0.1).tolist()
    [60.0, 20.0, 20.0]
    """
    total = np.asarray(total_ms, dtype=np.float64)[..., None]
    m = np.where(np.isnan(smoothed_ms), budgets_ms, np.minimum(smoothed_ms, total))
    excess = m - budgets_ms
    over = np.maximum(excess, 0.0)
    room = np.minimum(np.maximum(-excess, 0.0), np.maximum(budgets_ms - min_fraction * total, 0.0))
    over_sum = over.sum(axis=-1, keepdims=True)
    room_sum = room.sum(axis=-1, keepdims=True)
    moved = step_size * np.minimum(over_sum, room_sum)
    with np.errstate(invalid="ignore", divide="ignore"):
        gain = np.where(over_sum > 0.0, moved * over / over_sum, 0.0)
        loss = np.where(room_sum > 0.0, moved * room / room_sum, 0.0)
    return close_sum(budgets_ms + gain - loss, total[..., 0])


def split_reliability(reliability: ArrayLike, weights: ArrayLike = DEFAULT_SHARES) -> FloatArray:
    """Per-group reliability ``(..., G)`` of end-to-end targets ``(...)``: ``R_g = R ** w_g``.

    The allowed loss is split in log space with ``weights`` ``(G,)``, normalised to sum to 1. The product
    of the group targets is at least ``R``: rounding is corrected upwards, a stricter target. NaN (no term)
    stays NaN.

    >>> r = split_reliability(0.9999)
    >>> r.round(8).tolist(), bool(np.prod(r) >= 0.9999)
    ([0.99995, 0.999975, 0.999975], True)
    """
    # Not shared with orchestration.decomposition.proportional: its per-domain R ** (1/4) is not rounded up
    # (the product can fall an ulp short of R), so one code path would change the other's results.
    R = np.asarray(reliability, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.exp(np.log(R)[..., None] * w)
    for _ in range(8):  # each pass raises every group by one ulp where the product fell short
        short = np.prod(out, axis=-1) < R
        if not short.any():
            break
        out = np.where(short[..., None], np.minimum(np.nextafter(out, 2.0), 1.0), out)
    return out


def local_cost(budgets_ms: FloatArray, observed_ms: FloatArray) -> FloatArray:
    """Each group's latency cost ``(..., G)``: ``clip(observed / budget - 1, 0, 1)``.

    The cost is 0 where the budget is NaN (the slice has no latency term) and 1 where the observed latency
    is NaN or infinite, or positive on a zero budget.

    >>> local_cost(np.array([10.0, 10.0, 10.0, np.nan]), np.array([5.0, 12.0, 50.0, 9.0])).round(6).tolist()
    [0.0, 0.2, 1.0, 0.0]
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = observed_ms / budgets_ms - 1.0
    cost = np.clip(np.nan_to_num(ratio, nan=1.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    within = observed_ms <= budgets_ms
    out: FloatArray = np.where(np.isnan(budgets_ms) | within, 0.0, cost)
    return out
