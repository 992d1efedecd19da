"""The rule-based baseline: the original testbed's formula on testbed-v0, SLA dimensioning elsewhere.

testbed-v0: OnSlicing's ``baseline_policy`` (Q. Liu, N. Choi, T. Han, "OnSlicing: Online End-to-End
Network Slicing with Reinforcement Learning", ACM CoNEXT 2021; public testbed code
``liuqiangus/End-to-End-Slicing:system_multi.py``), bit for bit. It sets every knob of slice k to::

    a[m, k] = clip(static_conf[m, k] * traffic_k / TRAFFIC_SCALE_k, 0.15, 1)

with ``static_conf`` = 0.15 everywhere except MAR: UL PRB, TN BW, CPU = 0.4; video: DL RBG,
TN BW = 0.8; IoT: UL MCS, DL MCS = 0.4. The testbed's knobs map to our rows as UL PRB -> prb_ul,
DL RBG -> prb_dl, UL/DL max-MCS -> mcs_ul/mcs_dl, TN BW -> tn_bw, CPU (the slice's SPGW-U/edge
container) -> edge_cpu; the core CPU row ``cn_cpu`` keeps 0.15 for every slice. ``traffic_k /
TRAFFIC_SCALE_k`` is the slice's active UEs of the last slot over its traffic scale ([5, 2, 100]);
in the first slot after a reset the rule uses 1.0 (the peak). Over-capacity rows are left to the
orchestrator's proportional scaling, as in the testbed.

Every other scenario: an operator's conservative rule, a *dimensioning table* per slice computed once
from the scenario card (SLAs, network, traffic model), never from an agent or from evaluation results
(:func:`dimension`). The operator's design risk :data:`RISK` (0.5 % of slots) is split by the union
bound: half to the traffic, half to the channel, each evenly over the K slices.

1. **Ladder.** Loads ``level x scale_k``, levels ``min_fraction x LADDER_RATIO^i`` up to the design
   peak (3.). For each level and slice, the least-usage allocation (the oracle's search,
   :meth:`Oracle.search`) that meets the slice's SLA on the network model (steady state, empty
   queues) in four *design states*. A typical slot arranged at its worst: the ``n_cells`` quantiles
   ``(i + 1/2) / n_cells`` of the shadowing in each direction, the deeper in the slice's cells with
   the lower mean SINR. The same slot with the slice's busiest cell (largest ``cell_share``) in a
   fade of ``z_fade x shadow_sigma_db``, in the UL, then in the DL, ``z_fade = Phi^-1(1 - RISK /
   4K)`` (the fade budget over the two directions). The median slot (no shadowing). In the typical
   and the median slot the slot must also leave no backlog at any stage (a standing queue would grow
   over the slots such a slot lasts). A design state in which no allocation meets the SLA (a fade
   beyond the link budget: an outage no rule can fix) is not dimensioned for, nor is a backlog no
   allocation avoids;
   the MCS cap is the one meeting the SLA with every resource in the most design states. Levels
   below the first one whose SLA can be met (an SLA floor above the offered traffic) take that
   one's allocation, and the table is made monotone in the load. Without shadowing, the median only.
2. **Traffic margin.** The coming slot's load is bounded by the measured one times ``g_k =
   profile_k(h_next) / profile_k(h_measured) x exp(z sd_k) x burst_k``: ``sd_k`` the standard deviation
   of the one-slot change of the log-noise, ``sigma sqrt(2 (1 - rho))`` (``sqrt(2 sigma^2 + 2
   sigma_day^2)`` at the first slot of a new episode, whose noise and day factor are fresh),
   ``burst_k`` the MMPP burst factor (an onset cannot be seen coming; 1 without bursts, and 1 when
   the measured load is above any load without a burst, the profile times the design peak's noise
   and day factor: bursts do not stack) and ``z = Phi^-1(1 - RISK / 2K)``.
3. **Design peak** (ladder top, and the design load of a slot with nothing measured): the profile's
   peak times ``exp(z sqrt(sigma_day^2 + sigma^2) - (sigma_day^2 + sigma^2) / 2) x burst_k``.
4. **Each slot.** Design load ``min(measured x g_k, peak)``, provisioned with the table's first level
   at or above it (rounding up). Where the slices' levels over-subscribe a node (a row, or an edge
   site), its capacity is shared max-min fair (:func:`max_min_fit`): slices asking least keep their
   whole level, the largest give way (the design states of different slices rarely coincide).

:class:`RuleBasedPolicy` implements both protocols: ``act_context`` reads the exact active UEs and hours
from the raw observation; ``act`` reads them from the encoded observation (feature ``active_ues`` of each
slice block, clipped to [0, 5] and float32, 0 meaning "not measured yet"; the hour from ``hour_sin``/
``hour_cos``), and cannot see an episode's first slot (it uses the continuing-noise margin there).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.envs.features import N_SLICE_FEATURES, SLICE_FEATURES
from netslice.intelligence.policies.base import FloatArray, PolicyContext
from netslice.intelligence.policies.oracle import MCS_KNOBS, Oracle
from netslice.network.allocation import CN_CPU, EDGE_CPU, MCS_DL, MCS_UL, N_RESOURCES, PRB_DL, PRB_UL, TN_BW
from netslice.network.kernel import SimState
from netslice.network.model import NetworkModel
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets, sla_cost
from netslice.network.traffic import TrafficParams, profile_load

#: Lower and upper clip of every knob (the testbed's 15 % floor).
FLOOR, CEIL = 0.15, 1.0
#: ``static_conf`` of the testbed by slice kind (rows not listed: :data:`FLOOR`).
TESTBED_CONF: dict[str, dict[int, float]] = {
    "mar": {PRB_UL: 0.4, TN_BW: 0.4, EDGE_CPU: 0.4},
    "video": {PRB_DL: 0.8, TN_BW: 0.8},
    "mmtc": {MCS_UL: 0.4, MCS_DL: 0.4},
}
#: Scenarios that use :data:`TESTBED_CONF`.
TESTBED_SCENARIOS = ("testbed-v0",)
#: The operator's design risk: fraction of slots in which some slice may leave its design envelope.
RISK = 0.005
#: Ratio of two consecutive ladder levels (the table rounds a design load up by less than this).
LADDER_RATIO = 1.1
#: The search of each level's allocation (the oracle's, with less refinement: it runs once per scenario).
SEARCH = Oracle(n_random=4, rounds=2)
_ACTIVE_UES = SLICE_FEATURES.index("active_ues")


def original_conf(scenario: Scenario) -> FloatArray:
    """``static_conf`` ``(7, K)`` of the testbed table, slices matched by kind."""
    conf = np.full((N_RESOURCES, scenario.params.n_slices), FLOOR)
    for k, s in enumerate(scenario.spec.slices):
        for row, level in TESTBED_CONF.get(s.kind, {}).items():
            conf[row, k] = level
    return conf


@dataclass(frozen=True)
class Dimensioning:
    """Dimensioning table and traffic margins of a scenario (steps 1-4 of the module docstring).

    Attributes:
        traffic: the scenario's traffic model.
        slot_h: slot length (h).
        levels: ``(L,)`` ladder loads relative to each slice's scale, increasing.
        table: ``(L, 7, K)`` allocation of each level.
        peak: ``(K,)`` design peak relative to the scale.
        z: standard-normal quantile of the traffic margin.
        site_of_slice: ``(K,)`` edge site of each slice.
    """

    traffic: TrafficParams
    slot_h: float
    levels: FloatArray
    table: FloatArray
    peak: FloatArray
    z: float
    site_of_slice: NDArray[np.int64]

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

    def allocation(self, design: FloatArray) -> FloatArray:
        """Allocations ``(n_envs, 7, K)``: the first ladder level at or above ``design`` ``(n_envs, K)``, fitted.

        Where the slices' levels over-subscribe a node, its shares are cut max-min fair (:func:`max_min_fit`).
        """
        d = np.minimum(design, self.peak)
        idx = np.minimum(np.searchsorted(self.levels, d * (1.0 - 1e-12)), len(self.levels) - 1)
        k = np.arange(self.table.shape[2])
        out: FloatArray = self.table[idx, :, k[None, :]].transpose(0, 2, 1)
        for row in (PRB_UL, PRB_DL, TN_BW, CN_CPU):
            out[:, row] = max_min_fit(out[:, row])
        for site in np.unique(self.site_of_slice):
            cols = np.flatnonzero(self.site_of_slice == site)
            out[:, EDGE_CPU, cols] = max_min_fit(out[:, EDGE_CPU][:, cols])
        return out


def dimension(scenario: Scenario, search: Oracle = SEARCH) -> Dimensioning:
    """The dimensioning of ``scenario`` (module docstring, steps 1-3).

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
    table = np.maximum.accumulate(table[idx, :, np.arange(k)[None, :]].transpose(0, 2, 1), axis=0)  # monotone
    return Dimensioning(tr, p.slot_s / 3600.0, levels, table, peak, z, p.edge.site_of_slice)


def design_shadow(scenario: Scenario) -> FloatArray:
    """Shadowing ``(S, 2, n_cells, K)`` (dB) of the design states (module docstring, step 1).

    State 2: a typical slot arranged at its worst, the ``n_cells`` quantiles ``(i + 1/2) / n_cells`` of the
    shadowing in each direction, the deeper in the cells with the lower mean SINR. States 0 and 1: the same with the
    busiest cell in a ``z_fade`` fade in the UL, then the DL. State 3 (the only one without shadowing): the
    median.
    """
    p = scenario.params
    k, sigma = p.n_slices, p.ran.shadow_sigma_db
    if sigma <= 0.0:
        return np.zeros((1, 2, p.n_cells, k))
    quantiles = np.array([NormalDist().inv_cdf((i + 0.5) / p.n_cells) for i in range(p.n_cells)])
    rank = np.argsort(np.argsort(p.ran.sinr_db, axis=1), axis=1)  # (2, n_cells, K): 0 = the weakest cell
    out: FloatArray = np.broadcast_to(sigma * quantiles[rank][None], (4, 2, p.n_cells, k)).copy()
    out[3] = 0.0
    z_fade = NormalDist().inv_cdf(1.0 - RISK / (4 * k))
    busiest = p.traffic.cell_share.argmax(axis=0)
    for d in (0, 1):
        out[d, d, busiest, np.arange(k)] = -z_fade * sigma
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


@dataclass(frozen=True)
class RuleBasedPolicy:
    """The rule-based baseline (see the module docstring).

    Attributes:
        conf: ``(7, K)`` the testbed formula's static_conf (used when ``dimensioning`` is ``None``).
        scale: ``(K,)`` traffic scale of each slice (UEs).
        dimensioning: the dimensioning table of scenarios other than testbed-v0.
        name: label for reports.
    """

    conf: FloatArray
    scale: FloatArray
    dimensioning: Dimensioning | None = None
    name: str = "rule-based"

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> RuleBasedPolicy:
        """The testbed formula on testbed-v0, the dimensioning table elsewhere."""
        testbed = scenario.name in TESTBED_SCENARIOS
        return cls(
            conf=original_conf(scenario),
            scale=np.asarray(scenario.params.traffic.scale, dtype=np.float64),
            dimensioning=None if testbed else dimension(scenario),
        )

    @property
    def n_slices(self) -> int:
        """Number of slices K."""
        return int(self.conf.shape[1])

    def allocation(
        self, load: FloatArray, hour: FloatArray | None = None, fresh: NDArray[np.bool_] | None = None
    ) -> FloatArray:
        """Allocations ``(n_envs, 7, K)`` for scale-normalised measured traffic ``load`` ``(n_envs, K)``.

        Args:
            load: the last slot's active UEs over the scale; NaN where nothing was measured.
            hour: ``(n_envs,)`` hour of day of the coming slot (dimensioning only).
            fresh: ``(n_envs,)`` envs whose coming slot starts an episode (dimensioning only).
        """
        x = np.asarray(load, dtype=np.float64)
        dim = self.dimensioning
        if dim is None:
            return np.clip(self.conf[None] * np.nan_to_num(x, nan=1.0)[:, None, :], FLOOR, CEIL)
        n = x.shape[0]
        hour = np.zeros(n) if hour is None else hour
        fresh = np.zeros(n, dtype=bool) if fresh is None else fresh
        design = np.where(np.isnan(x), np.inf, x * dim.growth(hour, fresh, np.nan_to_num(x)))
        return dim.allocation(design)

    def act_context(self, ctx: PolicyContext) -> FloatArray:
        """The rule on the last slot's active UEs (the design peak in the first slot after a reset)."""
        obs = ctx.observation
        if obs.kpis is None:
            return self.allocation(np.full((ctx.spaces.n_envs, self.n_slices), np.nan), obs.hour)
        load = np.asarray(obs.kpis.active_ues, dtype=np.float64) / self.scale
        return self.allocation(load, obs.hour, obs.episode_slot == 0)

    def act(self, obs: NDArray[np.floating]) -> FloatArray:
        """The rule on the encoded observations ``(n_envs, 14 K + 2)``; flat resource-major actions."""
        o = np.asarray(obs, dtype=np.float64)
        idx = np.arange(self.n_slices) * N_SLICE_FEATURES + _ACTIVE_UES
        load = o[:, idx]
        load = np.where(load > 0.0, load, np.nan)
        hour = np.mod(np.arctan2(o[:, -2], o[:, -1]) * 12.0 / np.pi, 24.0)
        return self.allocation(load, hour).reshape(o.shape[0], -1)
