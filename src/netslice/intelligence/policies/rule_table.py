"""The rule-based baseline's dimensioning table (steps 1-4 of :mod:`netslice.intelligence.policies.rule`).

Computed once per scenario from its card (SLAs, network, traffic model), never from an agent or from
evaluation results: :func:`dimension` builds a :class:`Dimensioning`, whose :meth:`~Dimensioning.allocation`
turns a design load into an allocation that fits every node (:func:`depth_fit`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.policies.base import FloatArray
from netslice.intelligence.policies.oracle import MCS_KNOBS, Oracle
from netslice.network.allocation import CN_CPU, EDGE_CPU, MCS_DL, MCS_UL, N_RESOURCES, PRB_DL, PRB_UL, TN_BW
from netslice.network.kernel import SimParams, SimState
from netslice.network.model import NetworkModel
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets, sla_cost
from netslice.network.traffic import TrafficParams, profile_load

#: The operator's design risk: fraction of slots in which some slice may leave its design envelope.
RISK = 0.005
#: Ratio of two consecutive ladder levels (the table rounds a design load up by less than this).
LADDER_RATIO = 1.1
#: Fade tiers J: tier j covers a fade of ``j / J x z_fade`` sigma (0: none, J: the design fade); the steps
#: (about 0.4 sigma on metro-v0) are where over-subscribed nodes cut every slice to one common fade depth.
N_TIERS = 8
#: The search of each level's allocation (the oracle's, with less refinement: it runs once per scenario).
SEARCH = Oracle(n_random=4, rounds=2)


@dataclass(frozen=True)
class Dimensioning:
    """Dimensioning tiers and traffic margins of a scenario (steps 1-4 of the rule's module docstring).

    Attributes:
        traffic: the scenario's traffic model.
        slot_h: slot length (h).
        levels: ``(L,)`` ladder loads relative to each slice's scale, increasing.
        tiers: ``(J + 1, L, 7, K)`` allocation of each fade tier and level, non-decreasing in both: tier 0 meets
            the typical and median slots, tier J every design state (:data:`N_TIERS`).
        peak: ``(K,)`` design peak relative to the scale.
        z: standard-normal quantile of the traffic margin.
        site_of_slice: ``(K,)`` edge site of each slice.
    """

    traffic: TrafficParams
    slot_h: float
    levels: FloatArray
    tiers: FloatArray
    peak: FloatArray
    z: float
    site_of_slice: NDArray[np.int64]

    @property
    def table(self) -> FloatArray:
        """``(L, 7, K)`` the allocation of each level in every design state (the deepest tier)."""
        out: FloatArray = self.tiers[-1]
        return out

    def growth(self, hour_next: FloatArray, fresh: NDArray[np.bool_], load: FloatArray | None = None) -> FloatArray:
        """Growth bound ``g`` ``(n_envs, K)`` from the measured slot to the coming one at ``hour_next``.

        Args:
            hour_next: ``(n_envs,)`` hour of day of the coming slot.
            fresh: ``(n_envs,)`` the coming slot starts an episode (fresh noise, day factor and burst state).
            load: ``(n_envs, K)`` the measured load over the scale; where it lies above every load without a
                burst (the profile times the design peak's noise and day factor), the slice is already in a
                burst, which does not stack: no burst factor there.
        """
        p = self.traffic
        before = profile_load(p, hour_next - self.slot_h)
        ratio = profile_load(p, hour_next) / np.maximum(before, 1e-12 * p.scale)
        sd = np.where(
            fresh[:, None],
            np.sqrt(2.0 * p.noise_sigma**2 + 2.0 * p.day_sigma**2),
            p.noise_sigma * np.sqrt(2.0 * (1.0 - p.noise_rho)),
        )
        burst = np.broadcast_to(p.burst_factor, ratio.shape)
        if load is not None:
            bursting = (load * p.scale > before * self.peak / p.burst_factor) & ~fresh[:, None]
            burst = np.where(bursting, 1.0, burst)
        out: FloatArray = ratio * np.exp(self.z * sd) * burst
        return out

    def allocation(self, design: FloatArray, active: NDArray[np.bool_] | None = None) -> FloatArray:
        """Allocations ``(n_envs, 7, K)``: the first ladder level at or above ``design`` ``(n_envs, K)``, fitted.

        Where the slices' deepest tiers over-subscribe a node (a share row, or an edge site), every slice on it
        gets the tier of one common fade depth, the deepest that fits (:func:`depth_fit`). Slices not in
        ``active`` ``(K,)`` (default: all are) get nothing and take no part in the fit.
        """
        d = np.minimum(design, self.peak)
        idx = np.minimum(np.searchsorted(self.levels, d * (1.0 - 1e-12)), len(self.levels) - 1)
        k = np.arange(self.tiers.shape[3])
        tiers = self.tiers.transpose(1, 3, 0, 2)[idx, k[None, :]].transpose(2, 0, 3, 1)  # (J + 1, n_envs, 7, K)
        if active is not None and not bool(np.all(active)):
            tiers = tiers * np.asarray(active, dtype=bool)
        out: FloatArray = tiers[-1].copy()
        for row in (PRB_UL, PRB_DL, TN_BW, CN_CPU):
            out[:, row] = depth_fit(tiers[:, :, row])
        for site in np.unique(self.site_of_slice):
            cols = np.flatnonzero(self.site_of_slice == site)
            out[:, EDGE_CPU, cols] = depth_fit(tiers[:, :, EDGE_CPU][:, :, cols])
        return out


def dimension(scenario: Scenario, search: Oracle = SEARCH) -> Dimensioning:
    """The dimensioning of ``scenario`` (the rule's module docstring, steps 1-3).

    Args:
        scenario: the scenario card.
        search: the search of each level's allocation.
    """
    p = scenario.params
    tr = p.traffic
    k = p.n_slices
    z = NormalDist().inv_cdf(1.0 - RISK / (2 * k))
    var = tr.day_sigma**2 + tr.noise_sigma**2
    peak = np.exp(z * np.sqrt(var) - 0.5 * var) * tr.burst_factor
    n = int(np.ceil(np.log(peak.max() / tr.min_fraction) / np.log(LADDER_RATIO))) + 1
    levels: FloatArray = tr.min_fraction * LADDER_RATIO ** np.arange(n, dtype=np.float64)
    model = NetworkModel.create(p)
    targets = SlaTargets.from_spec(scenario.spec)
    shadow = design_shadow(scenario)
    m = shadow.shape[0]

    state = replace(model.idle(m * n), shadow=np.repeat(shadow, n, axis=0))  # state s * n + level
    probe = model.probe(state, np.tile(levels[:, None] * tr.scale[None, :], (m, 1)), steady=True)

    def costs(candidates: FloatArray) -> tuple[FloatArray, FloatArray]:  # (D, n, 7, K) -> 2 x (D, m, n, K)
        after, kpis = probe.step(np.tile(candidates, (1, m, 1, 1)))
        shape = (candidates.shape[0], m, n, k)
        return sla_cost(targets, kpis).reshape(shape), backlog(after).reshape(shape)

    full = np.ones((len(MCS_KNOBS), n, N_RESOURCES, k))
    full[:, :, [MCS_UL, MCS_DL]] = np.asarray(MCS_KNOBS)[:, None, None, None]
    sla_full, left_full = costs(full)  # (knobs, m, n, K)
    best = (sla_full <= 0.0).sum(axis=1).argmax(axis=0)  # (n, K): the cap meeting the SLA in most states
    pick = best[None, None]
    meets = np.take_along_axis(sla_full <= 0.0, pick, axis=0)[0]  # (m, n, K): SLA states dimensioned for
    drains = np.take_along_axis(left_full <= 0.0, pick, axis=0)[0]  # stability states dimensioned for
    drains[: max(m - 2, 0)] = False  # the fades of one cell only need the SLA; the typical and median slots must drain

    def worst(candidates: FloatArray) -> FloatArray:  # the worst cost over the design states (D, n, K)
        sla, left = costs(candidates)
        out: FloatArray = np.maximum(np.where(meets, sla, 0.0), np.where(drains, left, 0.0)).max(axis=1)
        return out

    table = search.search(worst, (n, k), p, np.ones(k, dtype=bool))
    feasible = (worst(table[None])[0] <= 0.0) & meets.any(axis=0)  # (L, K): levels whose SLA can be met
    first = np.where(feasible.any(axis=0), feasible.argmax(axis=0), 0)
    idx = np.maximum(np.arange(n)[:, None], first[None, :])  # (L, K): levels below the first feasible one

    def monotone(t: FloatArray) -> FloatArray:  # levels below the first feasible one take its row; non-decreasing
        out: FloatArray = np.maximum.accumulate(t[idx, :, np.arange(k)[None, :]].transpose(0, 2, 1), axis=0)
        return out

    table = monotone(table)
    if m <= 2:  # no shadowing: one design state, no fade reserve
        return Dimensioning(tr, p.slot_s / 3600.0, levels, np.stack([table, table]), peak, z, p.edge.site_of_slice)
    meets[: m - 2] = False  # tier 0: the typical and median slots only, with the table's MCS caps

    def worst_base(candidates: FloatArray) -> FloatArray:
        c = candidates.copy()
        c[:, :, [MCS_UL, MCS_DL]] = table[None, :, [MCS_UL, MCS_DL]]
        return worst(c)

    base = search.search(worst_base, (n, k), p, np.ones(k, dtype=bool))
    base[:, [MCS_UL, MCS_DL]] = table[:, [MCS_UL, MCS_DL]]
    base = monotone(base)
    table = np.maximum(table, base)  # more of a share never hurts: the table still meets the fade states
    tiers = fade_tiers(model, targets, scenario, shadow[m - 2], levels, base, table)
    return Dimensioning(tr, p.slot_s / 3600.0, levels, tiers, peak, z, p.edge.site_of_slice)


def fade_tiers(
    model: NetworkModel,
    targets: SlaTargets,
    scenario: Scenario,
    typical: FloatArray,
    levels: FloatArray,
    base: FloatArray,
    table: FloatArray,
    steps: int = 12,
) -> FloatArray:
    """Fade tiers ``(J + 1, L, 7, K)`` between ``base`` (tier 0) and ``table`` (tier J) (module docstring, step 1).

    Tier ``j`` is ``base + alpha (table - base)`` with the least ``alpha`` (bisection, ``steps`` halvings) that meets
    the SLA at each level in the typical slot with a ``j / J x z_fade`` fade of :func:`fade_cell`, in the UL and
    in the DL (``alpha`` = 1 where the deepest tier does not); made non-decreasing in the level and the tier.
    """
    p = scenario.params
    k, sigma, n = p.n_slices, p.ran.shadow_sigma_db, len(levels)
    depths = fade_depth(k) * np.arange(1, N_TIERS) / N_TIERS
    t = len(depths)
    states = np.broadcast_to(typical, (t, 2, *typical.shape)).copy()  # (tier, faded direction, 2, cells, K)
    for i, depth in enumerate(depths):
        cell = fade_cell(p, depth)
        for d in (0, 1):
            states[i, d, d, cell[d], np.arange(k)] = -depth * sigma
    start = replace(model.idle(2 * t * n), shadow=np.repeat(states.reshape(2 * t, *typical.shape), n, axis=0))
    probe = model.probe(start, np.tile(levels[:, None] * p.traffic.scale[None, :], (2 * t, 1)), steady=True)

    def meets(alpha: FloatArray) -> NDArray[np.bool_]:  # alpha (t, L, K): the SLA holds in both fades
        cand = base[None] + alpha[:, :, None, :] * (table - base)[None]  # (t, L, 7, K)
        cand = np.repeat(cand, 2, axis=0).reshape(1, 2 * t * n, *table.shape[1:])
        cost = sla_cost(targets, probe.step(cand)[1]).reshape(t, 2, n, k)
        out: NDArray[np.bool_] = np.all(cost <= 0.0, axis=1)
        return out

    lo, hi = np.zeros((t, n, k)), np.ones((t, n, k))
    feasible = meets(hi)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        ok = meets(mid)
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    alpha = np.where(feasible, hi, 1.0)
    inner = np.maximum.accumulate(base[None] + alpha[:, :, None, :] * (table - base)[None], axis=1)
    out: FloatArray = np.maximum.accumulate(np.concatenate([base[None], inner, table[None]]), axis=0)
    return out


def fade_depth(k: int) -> float:
    """``z_fade``: the design fade (sigma) of a scenario with ``k`` slices, ``Phi^-1(1 - RISK / 4K)``."""
    return NormalDist().inv_cdf(1.0 - RISK / (4 * k))


def design_shadow(scenario: Scenario) -> FloatArray:
    """Shadowing ``(S, 2, n_cells, K)`` (dB) of the design states (the rule's module docstring, step 1).

    State 2: a typical slot arranged at its worst, the ``n_cells`` quantiles ``(i + 1/2) / n_cells`` of the
    shadowing in each direction, the deeper in the cells with the lower mean SINR. States 0 and 1: the same with
    the :func:`fade_cell` in a ``z_fade`` fade in the UL, then the DL. State 3 (the only one without shadowing):
    the median.
    """
    p = scenario.params
    k, sigma = p.n_slices, p.ran.shadow_sigma_db
    if sigma <= 0.0:
        return np.zeros((1, 2, p.n_cells, k))
    quantiles = np.array([NormalDist().inv_cdf((i + 0.5) / p.n_cells) for i in range(p.n_cells)])
    rank = np.argsort(np.argsort(p.ran.sinr_db, axis=1), axis=1)  # (2, n_cells, K): 0 = the weakest cell
    out: FloatArray = np.broadcast_to(sigma * quantiles[rank][None], (4, 2, p.n_cells, k)).copy()
    out[3] = 0.0
    z_fade = fade_depth(k)
    cell = fade_cell(p, z_fade)
    for d in (0, 1):
        out[d, d, cell[d], np.arange(k)] = -z_fade * sigma
    return out


def fade_cell(p: SimParams, z: float) -> NDArray[np.int64]:
    """``(2, K)``: per direction and slice, the cell whose ``z``-sigma fade costs the most PRBs and is survivable.

    A cell's PRB need is its traffic share over the spectral efficiency (the RAT's CQI table) at its mean SINR
    less the fade. A fade that takes a cell below CQI 1 is an outage no share fixes, so such a cell is passed
    over (the busiest cell is taken when every cell is). Ties (equal shares and CQI) go to the lower mean SINR.
    """
    ran = p.ran
    cqi = np.searchsorted(ran.thresholds_db, ran.sinr_db - z * ran.shadow_sigma_db, side="right") - 1
    need = p.traffic.cell_share[None] / np.maximum(ran.se_table[cqi], 1e-12) - 1e-9 * ran.sinr_db  # ties: weaker
    need = np.where(cqi > 0, need, -1.0)
    busiest = np.broadcast_to(p.traffic.cell_share.argmax(axis=0), (2, p.n_slices))
    out: NDArray[np.int64] = np.where(need.max(axis=1) > 0.0, need.argmax(axis=1), busiest)
    return out


def backlog(state: SimState) -> FloatArray:
    """``(n_envs, K)``: 1 where the slot left a backlog at some stage of the slice (RAN, TN, UPF, edge), else 0."""
    left = (
        (state.q_ran > 0.0).any(axis=(1, 2))
        | (state.q_tn > 0.0).any(axis=(1, 3))
        | (state.q_cn > 0.0)
        | (state.q_edge > 0.0)
    )
    return left.astype(np.float64)


def depth_fit(tiers: FloatArray) -> FloatArray:
    """Shares ``(n_envs, n)`` of one node of capacity 1 from the slices' fade tiers ``(J + 1, n_envs, n)``.

    Where the deepest tiers fit they are kept. Else every slice gets the same fractional tier ``u``, the largest
    at which the shares fit (linear between tiers): all slices on the node are covered down to one common fade
    depth, instead of the slices asking most (the deepest fade reserves) giving way. Where even tier 0 does not
    fit, it is cut max-min fair (:func:`max_min_fit`).
    """
    total = tiers.sum(axis=2)  # (J + 1, n_envs), non-decreasing in the tier
    top = tiers.shape[0] - 1
    j = (total <= 1.0 + 1e-12).sum(axis=0) - 1  # the deepest tier that fits (-1: none)
    e = np.arange(tiers.shape[1])
    jc = np.clip(j, 0, top - 1)
    lo, hi = total[jc, e], total[jc + 1, e]
    frac = np.clip((1.0 - lo) / np.maximum(hi - lo, 1e-300), 0.0, 1.0)
    out: FloatArray = tiers[jc, e] + frac[:, None] * (tiers[jc + 1, e] - tiers[jc, e])
    out = np.where((j >= top)[:, None], tiers[-1], out)
    out = np.where((j < 0)[:, None], max_min_fit(tiers[0]), out)
    return out


def max_min_fit(demand: FloatArray) -> FloatArray:
    """Max-min fair shares ``(n_envs, n)`` of one node of capacity 1 for ``demand`` ``(n_envs, n)``.

    Each share is ``min(demand, level)``, with the water level the largest at which the capped demands fit
    (no cut where they already do): the slices asking least keep their whole demand, the largest give way.
    """
    n = demand.shape[1]
    s = np.sort(demand, axis=1)
    before = np.cumsum(s, axis=1) - s  # demand of the slices below each one
    level = (1.0 - before) / (n - np.arange(n))  # the level if every slice from this one on is capped
    capped = s > level
    any_cap = capped.any(axis=1)
    water = np.where(any_cap, level[np.arange(demand.shape[0]), capped.argmax(axis=1)], np.inf)
    out: FloatArray = np.minimum(demand, water[:, None])
    return out
