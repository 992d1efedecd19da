"""SLA decomposition for per-domain agents: each slice's end-to-end SLA split into per-group budgets.

The per-domain agents of the paper's Fig. 4(c) each orchestrate a group of technical domains
(:data:`GROUP_DOMAINS`): ``ran_edge`` the RAN and the edge, ``transport`` the TN, ``core`` the CN. Each
agent sees only its group's share of every slice's SLA. This is the role of a SliceProfile in TS 28.541:
the NSMF derives per-subnet requirements (RAN and CN SliceSubnetProfiles, ``dLLatency``, ``dLReliability``,
...) from the slice's ServiceProfile, and TS 28.531 5.1.1 lets it derive the transport requirements (latency,
bandwidth) for the TN manager too. The slow, per-domain version of this split at admission is
:mod:`netslice.orchestration.decomposition`. This module is the per-slot version, batched over
``(n_envs, K)``.

Latency. The budget of slice k is its SLA latency minus its application's own latency (no domain can change
that part): ``B_k = max(0, latency_SLA_k - app_k)``. The group budgets ``b[k, g]`` sum to ``B_k``. The
observed latency of a group (:func:`group_latency`) is the sum of its domains' parts of the slot's latency
(``Kpis.ran_ms + Kpis.edge_ms`` for ``ran_edge``). These parts add up to the mean latency minus the
application's, so when every group keeps within its budget, the slice's end-to-end latency term holds. For a
slice whose SLA bounds the tail latency, the parts are scaled by ``(tail - app) / (mean - app)``: the tail is
attributed in proportion to the mean parts.

* Fixed split (:func:`split_latency`): ``b[k, g] = B_k * s[k, g]`` with nominal shares ``s``. The shares
  come from each domain's latency at the slice's design point (:func:`shares_from_domain_latency`, e.g.
  the orchestrator's admission budgets) or, with no design point, from :data:`DEFAULT_SHARES` (each
  domain an equal quarter). Every group keeps at least ``min_fraction`` of ``B_k``
  (:func:`floor_shares`).
* Adaptive (:func:`rebalance`, :class:`SlaDecomposer` with ``method="adaptive"``): it starts from the
  fixed split. Each slot it smooths every group's observed latency (an EMA ``m``). Then it moves budget
  from groups with slack (``m < b``) to groups over their budget (``m > b``). The amount is
  ``step_size * min(total excess, total usable slack)``. The over groups share it in proportion to their
  excess, and the slack groups give it in proportion to their slack above the floor. So a group over its
  budget never loses budget, a group with slack never gains, no group drops below its floor or below its
  own smoothed latency, and ``sum_g b[k, g] = B_k`` holds exactly after every update (:func:`close_sum`).

Reliability (:func:`split_reliability`) is split multiplicatively in log space: ``R_g = R ** w_g`` with
``sum_g w_g = 1`` (default: each group's number of domains over 4, the per-domain ``R ** (1/4)`` of the
admission split). Then ``prod_g R_g >= R`` (rounded up where needed). The KPIs carry no per-domain loss,
so this split is fixed.

Local cost (:func:`local_cost`): group g misses its latency share when its observed latency exceeds its
budget. The cost is graded like :func:`~netslice.network.scenarios.sla.sla_cost`,
``clip(latency_g / b_g - 1, 0, 1)``, and is 0 for slices without a latency term. Terms that every domain
carries whole, with no per-domain budget (throughput, frame rate, and reliability, whose per-domain loss is
not observed), give :func:`shared_cost`, the clipped end-to-end cost of those terms alone. With
``shared_terms`` (the default) each group's cost is the larger of the two (:meth:`SlaDecomposer.cost`).

>>> dec = SlaDecomposer.create(E2eRequirement.create([100.0], [10.0]), np.array([[0.5, 0.3, 0.2]]))
>>> st = dec.initial(1)
>>> st.budgets_ms.round(6).tolist()  # (n_envs, K, groups): 90 ms of network budget split 50/30/20
[[[45.0, 27.0, 18.0]]]
>>> st = dec.update(st, np.array([[[60.0, 10.0, 10.0]]]))  # ran_edge over by 15, the others 17 and 8 under
>>> st.budgets_ms.round(6).tolist()  # 0.2 * min(15, 17 + 8) = 3 ms move, given in proportion 17 : 8
[[[48.0, 24.96, 17.04]]]
>>> float(st.budgets_ms.sum())
90.0
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from netslice.errors import ConfigError
from netslice.intelligence.agents.safety_config import check_range
from netslice.intelligence.decomposition_budgets import (
    DEFAULT_SHARES,
    GROUP_DOMAINS,
    GROUPS,
    LATENCY_FIELDS,
    MEMBERSHIP,
    N_GROUPS,
    FloatArray,
    close_sum,
    floor_shares,
    local_cost,
    rebalance,
    shares_from_domain_latency,
    split_latency,
    split_reliability,
)
from netslice.network.allocation import read_only
from netslice.network.kernel import Kpis
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets, sla_cost
from netslice.orchestration.decomposition import latency_parts, network_budget

__all__ = [
    "DEFAULT_SHARES",
    "GROUPS",
    "GROUP_DOMAINS",
    "LATENCY_FIELDS",
    "MEMBERSHIP",
    "METHODS",
    "N_GROUPS",
    "BoolArray",
    "DecompositionConfig",
    "DecompositionState",
    "E2eRequirement",
    "FloatArray",
    "SlaDecomposer",
    "SlotJudgement",
    "close_sum",
    "floor_shares",
    "group_latency",
    "judge_slot",
    "local_cost",
    "rebalance",
    "shared_cost",
    "shares_from_domain_latency",
    "split_latency",
    "split_reliability",
]

BoolArray = NDArray[np.bool_]
#: Decomposition methods.
METHODS: tuple[str, ...] = ("fixed", "adaptive")


def group_latency(kpis: Kpis, requirement: E2eRequirement) -> FloatArray:
    """Each group's observed latency ``(n_envs, K, G)`` (ms): the sum of its domains' parts.

    The parts add up to the mean latency minus the application's. For slices whose SLA bounds the tail
    latency, they are scaled by ``(tail - app) / (mean - app)`` (see the module docstring).
    """
    parts = latency_parts(kpis)
    grouped: FloatArray = parts @ MEMBERSHIP
    if requirement.tail.any():
        network = parts.sum(axis=-1)
        tail_network = np.asarray(kpis.latency_tail_ms, dtype=np.float64) - requirement.app_ms
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(network > 0.0, tail_network / network, 1.0)
        grouped = np.where(requirement.tail[:, None], grouped * scale[..., None], grouped)
    return grouped


def shared_cost(targets: SlaTargets, kpis: Kpis) -> FloatArray:
    """The clipped SLA cost ``(n_envs, K)`` of the terms every domain carries whole (all but latency)."""
    no_latency = replace(targets, latency_ms=np.full_like(targets.latency_ms, np.nan))
    out: FloatArray = np.clip(sla_cost(no_latency, kpis), 0.0, 1.0)
    return out


@dataclass(frozen=True)
class E2eRequirement:
    """The end-to-end SLA terms the decomposition splits, arrays ``(K,)``.

    Attributes:
        latency_ms: SLA latency bound (ms), NaN where a slice has none.
        app_ms: the application's own latency (ms), which no domain can change.
        tail: True where the bound applies to the tail latency.
        reliability: minimum fraction of data delivered, NaN where a slice has none.
    """

    latency_ms: FloatArray
    app_ms: FloatArray
    tail: BoolArray
    reliability: FloatArray

    @classmethod
    def create(
        cls,
        latency_ms: ArrayLike,
        app_ms: ArrayLike | None = None,
        tail: ArrayLike | None = None,
        reliability: ArrayLike | None = None,
    ) -> E2eRequirement:
        """Build one from arrays (missing ones: no application latency, mean latency, no reliability term).

        Raises:
            ConfigError: arrays of different lengths, a negative or infinite latency, or a reliability outside
                (0, 1].
        """
        lat = np.atleast_1d(np.asarray(latency_ms, dtype=np.float64))
        K = lat.shape
        app = np.zeros(K) if app_ms is None else np.atleast_1d(np.asarray(app_ms, dtype=np.float64))
        tl = np.zeros(K, dtype=bool) if tail is None else np.atleast_1d(np.asarray(tail, dtype=bool))
        rel = np.full(K, np.nan) if reliability is None else np.atleast_1d(np.asarray(reliability, dtype=np.float64))
        for name, arr in (("app_ms", app), ("tail", tl), ("reliability", rel)):
            if arr.shape != K:
                raise ConfigError(f"requirement.{name}: must have one entry per slice ({K[0]}), got shape {arr.shape}")
        if lat.ndim != 1:
            raise ConfigError(f"requirement.latency_ms: must be one value per slice, got shape {lat.shape}")
        if np.any(np.isinf(lat)) or np.any(lat < 0.0) or not np.all(np.isfinite(app)) or np.any(app < 0.0):
            raise ConfigError(f"requirement.latency_ms: must be finite and >= 0 (or NaN: no term), and app_ms finite "
                              f"and >= 0, got {lat.tolist()} and {app.tolist()}")  # fmt: skip
        with np.errstate(invalid="ignore"):
            bad_rel = ~np.isnan(rel) & ~((rel > 0.0) & (rel <= 1.0))
        if bad_rel.any():
            raise ConfigError(f"requirement.reliability: must be in (0, 1] (or NaN: no term), got {rel.tolist()}")
        return cls(read_only(lat), read_only(app), read_only(tl), read_only(rel))

    @classmethod
    def from_targets(cls, targets: SlaTargets, app_ms: ArrayLike) -> E2eRequirement:
        """The requirement of SLA targets, with each slice's application latency ``app_ms`` ``(K,)``."""
        return cls.create(targets.latency_ms, app_ms, targets.latency_tail, targets.reliability)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> E2eRequirement:
        """The requirement of a scenario's slices (their SLA targets and application latencies)."""
        return cls.from_targets(SlaTargets.from_spec(scenario.spec), scenario.params.service.app_latency_s * 1e3)

    @property
    def n_slices(self) -> int:
        """Number of slices K."""
        return int(self.latency_ms.shape[0])

    @property
    def budget_ms(self) -> FloatArray:
        """``(K,)`` the network's latency budget ``max(0, latency - app)`` (NaN where no latency term)."""
        return network_budget(self.latency_ms, self.app_ms)


@dataclass(frozen=True)
class DecompositionConfig:
    """How per-domain SLA budgets are set and rebalanced.

    Attributes:
        method: ``"fixed"`` (the nominal proportional split, never changed) or ``"adaptive"`` (rebalanced
            every update from the observed group latencies; see :func:`rebalance`).
        step_size: fraction of the possible transfer made per update, in (0, 1].
        smoothing: weight of the newest observation in the EMA of each group's latency, in (0, 1] (1: no
            smoothing).
        min_fraction: the least share of a slice's latency budget any group keeps, in [0, 1/3).
        shared_terms: add the terms no domain has a budget for (throughput, frame rate, reliability) to every
            group's cost (:meth:`SlaDecomposer.cost`).
    """

    method: str = "adaptive"
    step_size: float = 0.2
    smoothing: float = 0.3
    min_fraction: float = 0.05
    shared_terms: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"decomposition.method: must be one of {', '.join(map(repr, METHODS))}, "
                              f"got {self.method!r}")  # fmt: skip
        for name in ("step_size", "smoothing"):
            value = check_range(f"decomposition.{name}", getattr(self, name), 0.0, 1.0)
            if value == 0.0:
                raise ConfigError(f"decomposition.{name}: must be in (0, 1], got {getattr(self, name)!r}")
            object.__setattr__(self, name, value)
        value = check_range("decomposition.min_fraction", self.min_fraction, 0.0, 1.0 / N_GROUPS, high_open=True)
        object.__setattr__(self, "min_fraction", value)
        if not isinstance(self.shared_terms, bool | np.bool_):
            raise ConfigError(f"decomposition.shared_terms: must be a bool, got {self.shared_terms!r}")


@dataclass(frozen=True)
class DecompositionState:
    """The decomposer's state of ``n_envs`` networks.

    Attributes:
        budgets_ms: ``(n_envs, K, G)`` latency budget of every (slice, group) in force (ms; NaN where the
            slice has no latency term).
        smoothed_ms: ``(n_envs, K, G)`` EMA of each group's observed latency, capped at the slice's budget (NaN
            until something is observed, and where the slice has no latency term).
    """

    budgets_ms: FloatArray
    smoothed_ms: FloatArray

    @property
    def n_envs(self) -> int:
        """Number of envs."""
        return int(self.budgets_ms.shape[0])


@dataclass(frozen=True)
class SlaDecomposer:
    """Per-group SLA budgets of every slice, fixed or adaptive (see the module docstring); pure methods.

    Attributes:
        requirement: the slices' end-to-end terms.
        shares: ``(K, G)`` nominal shares of each slice's latency budget (floored; sum to 1 per slice).
        config: method and update settings.
    """

    requirement: E2eRequirement
    shares: FloatArray
    config: DecompositionConfig = field(default_factory=DecompositionConfig)

    @classmethod
    def create(
        cls, requirement: E2eRequirement, shares: ArrayLike | None = None, config: DecompositionConfig | None = None
    ) -> SlaDecomposer:
        """A decomposer of ``requirement`` starting from nominal ``shares`` ``(K, G)`` (default :data:`DEFAULT_SHARES`).

        The shares are normalised per slice and floored at ``config.min_fraction`` (:func:`floor_shares`).

        Raises:
            ConfigError: shares that are not ``(K, 3)``, or negative or non-finite.
        """
        config = DecompositionConfig() if config is None else config
        K = requirement.n_slices
        raw = np.broadcast_to(DEFAULT_SHARES, (K, N_GROUPS)) if shares is None else np.asarray(shares, np.float64)
        if raw.shape != (K, N_GROUPS) or not np.all(np.isfinite(raw)) or np.any(raw < 0.0):
            raise ConfigError(f"shares: must be finite, >= 0 and shaped (n_slices, groups) = ({K}, {N_GROUPS}), "
                              f"got shape {raw.shape}")  # fmt: skip
        return cls(requirement, read_only(floor_shares(raw, config.min_fraction)), config)

    @property
    def fixed_budgets_ms(self) -> FloatArray:
        """``(K, G)`` the fixed split's budgets (ms), where every episode starts."""
        return split_latency(self.requirement.budget_ms, self.shares)

    @property
    def reliability(self) -> FloatArray:
        """``(K, G)`` each group's reliability target (NaN where the slice has no reliability term)."""
        return split_reliability(self.requirement.reliability)

    def initial(self, n_envs: int) -> DecompositionState:
        """The state of ``n_envs`` fresh networks: the fixed split, nothing observed."""
        budgets = np.broadcast_to(self.fixed_budgets_ms, (n_envs, *self.shares.shape)).copy()
        return DecompositionState(budgets, np.full_like(budgets, np.nan))

    def reset(self, state: DecompositionState, mask: ArrayLike | None = None) -> DecompositionState:
        """``state`` with the envs in ``mask`` (all without one) back to :meth:`initial`."""
        fresh = self.initial(state.n_envs)
        if mask is None:
            return fresh
        m = np.asarray(mask, dtype=bool)[:, None, None]
        return DecompositionState(
            np.where(m, fresh.budgets_ms, state.budgets_ms), np.where(m, fresh.smoothed_ms, state.smoothed_ms)
        )

    def update(self, state: DecompositionState, observed_ms: FloatArray) -> DecompositionState:
        """The state after a slot whose group latencies were ``observed_ms`` ``(n_envs, K, G)`` (ms).

        The EMA is updated under both methods. Observations are capped at the slice's latency budget first
        (a starved group, infinite latency, cannot need more than all of it, and the EMA stays finite), and
        NaN observations leave it as it was. Only ``"adaptive"`` moves budget (:func:`rebalance`).
        """
        total = np.broadcast_to(self.requirement.budget_ms, state.budgets_ms.shape[:-1])
        obs = np.minimum(np.asarray(observed_ms, dtype=np.float64), total[..., None])  # NaN where no latency term
        a = self.config.smoothing
        seen = np.where(np.isnan(state.smoothed_ms), obs, (1.0 - a) * state.smoothed_ms + a * obs)
        smoothed = np.where(np.isnan(obs), state.smoothed_ms, seen)
        if self.config.method == "fixed":
            return DecompositionState(state.budgets_ms, smoothed)
        moved = rebalance(
            state.budgets_ms, smoothed, total, step_size=self.config.step_size, min_fraction=self.config.min_fraction
        )
        has_term = ~np.isnan(self.requirement.latency_ms)[:, None]
        return DecompositionState(np.where(has_term, moved, np.nan), smoothed)

    def cost(self, state: DecompositionState, observed_ms: FloatArray, shared: FloatArray | None = None) -> FloatArray:
        """Each group's SLA cost ``(n_envs, K, G)`` of a slot, judged against the budgets in ``state``.

        Args:
            state: the state whose budgets were in force during the slot.
            observed_ms: ``(n_envs, K, G)`` the slot's group latencies.
            shared: ``(n_envs, K)`` :func:`shared_cost` of the slot, added to every group with
                ``shared_terms``.
        """
        cost = local_cost(state.budgets_ms, np.asarray(observed_ms, dtype=np.float64))
        if self.config.shared_terms and shared is not None:
            cost = np.maximum(cost, np.asarray(shared, dtype=np.float64)[..., None])
        return cost


@dataclass(frozen=True)
class SlotJudgement:
    """What the decomposition makes of one slot of ``n`` networks (:func:`judge_slot`).

    Attributes:
        observed_ms: ``(n, K, G)`` each group's observed latency.
        local: ``(n, K, G)`` each group's latency cost against the budgets in force (:func:`local_cost`).
        cost: ``(n, K, G)`` each group's SLA cost (:meth:`SlaDecomposer.cost`).
        state: the decomposer's state for the coming slot.
    """

    observed_ms: FloatArray
    local: FloatArray
    cost: FloatArray
    state: DecompositionState


def judge_slot(
    decomposer: SlaDecomposer, targets: SlaTargets, in_force: DecompositionState, kpis: Kpis
) -> SlotJudgement:
    """Judge a slot of every network against the budgets ``in_force`` and advance the decomposer (batched).

    The one path by which the per-domain envs and the trained per-domain policy see budgets and local costs.

    Args:
        decomposer: the SLA decomposer (fixed or adaptive).
        targets: the slices' SLA targets (for the shared terms of the cost).
        in_force: the decomposer's state during the slot.
        kpis: the slot's KPIs ``(n, K)``.
    """
    observed = group_latency(kpis, decomposer.requirement)
    local = local_cost(in_force.budgets_ms, observed)
    cost = decomposer.cost(in_force, observed, shared_cost(targets, kpis))
    return SlotJudgement(observed, local, cost, decomposer.update(in_force, observed))
