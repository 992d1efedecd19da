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

Every other scenario: an operator's conservative rule, a *dimensioning table* per slice, computed
once from the scenario card (SLAs, network, traffic model), never from an agent or from evaluation
results (:func:`dimension`):

1. Ladder: loads ``level x scale_k`` for levels ``min_fraction * LADDER_RATIO^i`` up to the slice's
   design peak (below). For every level, the least-usage allocation meeting the slice's SLA on the
   network model in steady state (empty queues) with every cell's SINR lowered by the fade margin
   ``FADE_Z x shadow_sigma_db``, the log-normal fade margin of the radio link budget for 95 % location
   probability; searched by the oracle's search (:meth:`Oracle.search`). Levels below the first one
   whose SLA can be met (an SLA floor above the offered traffic) take that one's allocation.
2. Traffic margin: the coming slot's load is the measured one times the growth bound
   ``g_k = profile_k(h_next) / profile_k(h_measured) x exp(z sd_k) x burst_k``, with ``sd_k`` the
   standard deviation of the one-slot change of the log-noise (``sigma sqrt(2 (1 - rho))``;
   ``sqrt(2 sigma^2 + 2 sigma_day^2)`` at the first slot of a new episode, whose noise and day factor
   are fresh), ``burst_k`` the burst factor of slices with MMPP bursts (an onset cannot be seen
   coming), and ``z = Phi^-1(1 - RISK / K)``: the operator's design risk :data:`RISK` (0.5 % of
   slots) split evenly over the K slices (union bound).
3. Design peak (ladder top, and the allocation of a slot with nothing measured): the profile's peak
   times ``exp(z sqrt(sigma_day^2 + sigma^2) - (sigma_day^2 + sigma^2) / 2) x burst_k``.
4. Each slot: design load ``min(measured x g_k, peak)``, provisioned with the table's first level at
   or above it (rounding up).

:class:`RuleBasedPolicy` implements both protocols: ``act_context`` reads the exact active UEs and hours
from the raw observation; ``act`` reads them from the encoded observation (feature ``active_ues`` of each
slice block, clipped to [0, 5] and float32, 0 meaning "not measured yet"; the hour from ``hour_sin``/
``hour_cos``), and cannot see an episode's first slot (it uses the continuing-noise margin there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.envs.features import N_SLICE_FEATURES, SLICE_FEATURES
from netslice.intelligence.policies.base import FloatArray, PolicyContext
from netslice.intelligence.policies.oracle import MCS_KNOBS, SEARCH_ROWS, Oracle
from netslice.network.allocation import EDGE_CPU, MCS_DL, MCS_UL, N_RESOURCES, PRB_DL, PRB_UL, TN_BW
from netslice.network.model import NetworkModel
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets
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
#: The operator's design risk: fraction of slots in which some slice's load may exceed its design load.
RISK = 0.005
#: Fade margin in shadowing standard deviations: 95 % location probability (Phi^-1(0.95)).
FADE_Z = NormalDist().inv_cdf(0.95)
#: Ratio of two consecutive ladder levels (the table rounds a design load up by less than this).
LADDER_RATIO = 1.1
#: The search of the median-channel allocation (the oracle's, with less refinement: the headroom follows).
SEARCH = Oracle(n_random=4, rounds=2)
#: Least share of a row the headroom scales (a row the median channel does not need may be needed in a fade).
MIN_SHARE = 1e-4
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
    """

    traffic: TrafficParams
    slot_h: float
    levels: FloatArray
    table: FloatArray
    peak: FloatArray
    z: float

    def growth(self, hour_next: FloatArray, fresh: NDArray[np.bool_]) -> FloatArray:
        """Growth bound ``g`` ``(n_envs, K)`` from the measured slot to the coming one at ``hour_next``."""
        p = self.traffic
        ratio = profile_load(p, hour_next) / np.maximum(profile_load(p, hour_next - self.slot_h), 1e-12 * p.scale)
        sd = np.where(
            fresh[:, None],
            np.sqrt(2.0 * p.noise_sigma**2 + 2.0 * p.day_sigma**2),
            p.noise_sigma * np.sqrt(2.0 * (1.0 - p.noise_rho)),
        )
        out: FloatArray = ratio * np.exp(self.z * sd) * p.burst_factor
        return out

    def allocation(self, design: FloatArray) -> FloatArray:
        """Allocations ``(n_envs, 7, K)`` of the first ladder level at or above ``design`` ``(n_envs, K)``."""
        d = np.minimum(design, self.peak)
        idx = np.minimum(np.searchsorted(self.levels, d * (1.0 - 1e-12)), len(self.levels) - 1)
        k = np.arange(self.table.shape[2])
        out: FloatArray = self.table[idx, :, k[None, :]].transpose(0, 2, 1)
        return out


def dimension(scenario: Scenario, oracle: Oracle | None = None) -> Dimensioning:
    """The dimensioning of ``scenario`` (module docstring, steps 1-3).

    Args:
        scenario: the scenario card.
        oracle: the search of the median-channel allocation (default: :data:`SEARCH`).
    """
    p = scenario.params
    tr = p.traffic
    k = p.n_slices
    z = NormalDist().inv_cdf(1.0 - RISK / k)
    var = tr.day_sigma**2 + tr.noise_sigma**2
    peak = np.exp(z * np.sqrt(var) - 0.5 * var) * tr.burst_factor
    n = int(np.ceil(np.log(peak.max() / tr.min_fraction) / np.log(LADDER_RATIO))) + 1
    levels: FloatArray = tr.min_fraction * LADDER_RATIO ** np.arange(n, dtype=np.float64)
    load = levels[:, None] * tr.scale[None, :]
    model = NetworkModel.create(p)
    targets = SlaTargets.from_spec(scenario.spec)
    median = model.probe(model.idle(n), load, steady=True)  # no shadowing: the median channel
    base = (oracle or SEARCH).search(lambda c: median.cost(c, targets), (n, k), p, np.ones(k, dtype=bool))
    draws = int(np.ceil(1.0 / (RISK * 2 * p.n_cells))) if p.ran.shadow_sigma_db > 0.0 else 0
    m = draws + 1  # state 0: the stress state; 1..draws: draws of the stationary shadowing, common to all levels
    one = model.idle(m)
    z_deep = NormalDist().inv_cdf(1.0 - RISK / (k * 2))  # union bound over slices and directions
    shadow = p.ran.shadow_sigma_db * np.random.default_rng(0).standard_normal(one.shadow.shape)
    shadow[0] = 0.0
    shadow[0, :, tr.cell_share.argmax(axis=0), np.arange(k)] = -z_deep * p.ran.shadow_sigma_db
    state = model.idle(m * n)
    probe = model.probe(replace(state, shadow=np.repeat(shadow, n, axis=0)), np.tile(load, (m, 1)), steady=True)

    def costs(candidates: FloatArray) -> FloatArray:  # (D, n, 7, K) -> cost in every state (D, m, n, K)
        return probe.cost(np.tile(candidates, (1, m, 1, 1)), targets).reshape(candidates.shape[0], m, n, k)

    feasible = median.cost(base[None], targets)[0] <= 0.0  # (L, K)
    first = np.where(feasible.any(axis=0), feasible.argmax(axis=0), 0)
    idx = np.maximum(np.arange(n)[:, None], first[None, :])  # (L, K): levels below the first feasible one
    base = base[idx, :, np.arange(k)[None, :]].transpose(0, 2, 1)
    table = np.maximum.accumulate(headroom(base, costs), axis=0)  # monotone in the load
    return Dimensioning(tr, p.slot_s / 3600.0, levels, table, peak, z)


def headroom(base: FloatArray, costs: Callable[[FloatArray], FloatArray], steps: int = 12) -> FloatArray:
    """The least headroom over ``base`` ``(L, 7, K)`` that meets the SLAs in every state of ``costs`` (step 1).

    Every MCS cap knob is tried; for each, bisection finds the least common multiplier ``s >= 1`` of
    the share rows (each clipped at 1, up to every share at 1) meeting the SLA in every state where
    some allocation with that knob can (a deep fade that no allocation overcomes is not dimensioned
    for). The knob covering the most states wins, then the one with the smallest multiplier.

    Args:
        base: the median-channel allocation of each level.
        costs: SLA cost ``(D, S, L, K)`` in each of S states of stacked candidates ``(D, L, 7, K)``.
        steps: bisection steps.
    """
    knobs = np.asarray(MCS_KNOBS)
    rows = list(SEARCH_ROWS)
    base = base.copy()
    base[:, rows] = np.maximum(base[:, rows], MIN_SHARE)  # a row left empty can still grow
    top = 1.0 / base[:, rows].min(axis=1)  # (L, K): the multiplier that puts every share at 1

    def at(mult: FloatArray) -> FloatArray:  # (D, L, K) multipliers, candidate d with knob d
        c = np.broadcast_to(base, (len(knobs), *base.shape)).copy()
        c[:, :, rows] = np.minimum(c[:, :, rows] * mult[:, :, None, :], 1.0)
        c[:, :, [MCS_UL, MCS_DL]] = knobs[:, None, None, None]
        return c

    hi = np.broadcast_to(top, (len(knobs), *top.shape)).copy()
    covered = costs(at(hi)) <= 0.0  # (knobs, S, L, K): states some allocation with the knob meets

    def ok(mult: FloatArray) -> NDArray[np.bool_]:
        out: NDArray[np.bool_] = np.all((costs(at(mult)) <= 0.0) | ~covered, axis=1)
        return out

    lo = np.ones_like(hi)
    ok_lo = ok(lo)
    for _ in range(steps):
        mid = np.sqrt(lo * hi)
        good = ok(mid)
        hi, lo = np.where(good, mid, hi), np.where(good, lo, mid)
    mult = np.where(ok_lo, 1.0, hi)
    pick = (covered.sum(axis=1) - mult / (top + 1.0)).argmax(axis=0)  # (L, K): most states, then least mult
    l_idx, k_idx = np.indices(pick.shape)
    out: FloatArray = at(mult)[pick, l_idx, :, k_idx].transpose(0, 2, 1)  # (L, 7, K)
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
        design = np.where(np.isnan(x), np.inf, x * dim.growth(hour, fresh))
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
