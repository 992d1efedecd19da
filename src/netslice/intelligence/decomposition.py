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
from netslice.network.allocation import DOMAINS, read_only
from netslice.network.kernel import Kpis
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets, sla_cost

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: The agent groups of Fig. 4(c), in order: the last axis of every per-group array.
GROUPS: tuple[str, ...] = ("ran_edge", "transport", "core")
N_GROUPS = len(GROUPS)
#: The technical domains (:data:`~netslice.network.allocation.DOMAINS`) each group orchestrates, defined once.
GROUP_DOMAINS: dict[str, tuple[str, ...]] = {"ran_edge": ("ran", "edge"), "transport": ("tn",), "core": ("cn",)}
#: ``(4, 3)`` membership: ``MEMBERSHIP[d, g]`` is 1 where domain d (DOMAINS order) belongs to group g.
MEMBERSHIP: FloatArray = read_only(np.array([[float(d in GROUP_DOMAINS[g]) for g in GROUPS] for d in DOMAINS]))
#: The KPI field holding each domain's part of the latency (ms), in DOMAINS order.
LATENCY_FIELDS: tuple[str, ...] = ("ran_ms", "tn_ms", "cn_ms", "edge_ms")
#: Nominal group shares without a design point: each domain a quarter (ran_edge 1/2, transport and core 1/4).
DEFAULT_SHARES: FloatArray = read_only(MEMBERSHIP.sum(axis=0) / len(DOMAINS))
#: Decomposition methods.
METHODS: tuple[str, ...] = ("fixed", "adaptive")


def _columns(x: FloatArray) -> tuple[FloatArray, ...]:
    """The group columns of ``x`` ``(..., G)``, for sums in group order."""
    return tuple(x[..., g] for g in range(x.shape[-1]))


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
    w = np.where(np.isfinite(w) & (w > 0.0), w, 0.0)
    total = w.sum(axis=-1, keepdims=True)
    w = np.where(total > 0.0, w / np.where(total > 0.0, total, 1.0), 1.0 / G)
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


def group_latency(kpis: Kpis, requirement: E2eRequirement) -> FloatArray:
    """Each group's observed latency ``(n_envs, K, G)`` (ms): the sum of its domains' parts.

    The parts add up to the mean latency minus the application's. For slices whose SLA bounds the tail
    latency, they are scaled by ``(tail - app) / (mean - app)`` (see the module docstring).
    """
    parts = np.stack([np.asarray(getattr(kpis, f), dtype=np.float64) for f in LATENCY_FIELDS], axis=-1)
    grouped: FloatArray = parts @ MEMBERSHIP
    if requirement.tail.any():
        network = parts.sum(axis=-1)
        tail_network = np.asarray(kpis.latency_tail_ms, dtype=np.float64) - requirement.app_ms
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(network > 0.0, tail_network / network, 1.0)
        grouped = np.where(requirement.tail[:, None], grouped * scale[..., None], grouped)
    return grouped


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
        out: FloatArray = np.maximum(self.latency_ms - self.app_ms, 0.0)
        return out


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
