"""Service assurance (NSMF-like): per-slice SLA evaluation every slot, cost vector, statistics, events.

The cost vector c(s, a) has one column per slice in the scenario's slice order (the order of every
per-slice array): c_k is the largest normalised shortfall of slice k's SLA terms
(:func:`netslice.network.scenarios.sla.sla_cost`), 0 when every term holds. Slices that are not
provisioned (not created yet, or terminated) always cost 0.

Threshold crossing (TS 28.532 ThresholdMonitor / notifyThresholdCrossing style): an event is raised
when a slice's cost goes from 0 to > 0 in an env and cleared when it returns to 0.

Metrics (documented once, here; :meth:`ServiceAssurance.metrics`):

==============================  =================================================================
``sla/violation_rate``          fraction of (env, slot) pairs in which any provisioned slice violated
``sla/violation_rate/<slice>``  fraction of (env, slot) pairs in which that slice violated
``sla/cost_mean/<slice>``       mean cost of the slice over (env, slot) pairs
``sla/slots``                   (env, slot) pairs evaluated
==============================  =================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from netslice.network.allocation import read_only
from netslice.network.kernel import Kpis
from netslice.network.scenarios.sla import (
    TERM_NAMES,
    SlaTargets,
    TermColumns,
    sla_cost,
    term_columns,
    violation_mask,
)

FloatArray = NDArray[np.float64]

#: 0 as a read-only 0-d float64 array (the cost is float64): a ufunc converts a Python float operand on every
#: call, half the cost of a comparison on one env's few slices.
_ZERO = read_only(np.array(0.0))


@dataclass(frozen=True)
class SlaEvent:
    """A threshold crossing of one slice in one env.

    Attributes:
        slot: orchestrator slot counter.
        env: env index.
        slice_name: the slice.
        kind: "raised" (the SLA started to be violated) or "cleared".
        cost: the slice's cost in that slot.
        terms: the SLA terms violated (e.g. ``["latency"]``), empty when cleared.
    """

    slot: int
    env: int
    slice_name: str
    kind: Literal["raised", "cleared"]
    cost: float
    terms: tuple[str, ...]


@dataclass
class ServiceAssurance:
    """SLA evaluation and statistics over the batched KPIs.

    The assurance owns which slices are provisioned and their SLA targets: both are read-only from
    outside (:attr:`active`, :attr:`targets`) and change through :meth:`admit` and :meth:`release`,
    which the orchestrator's lifecycle calls.

    Attributes:
        slice_names: slice names, in slice order.
        max_events: events kept (oldest dropped first).
        record_events: build threshold-crossing events (training loops that never read them switch
            them off: building them is most of the assurance's cost on large batches).
    """

    _targets: SlaTargets
    slice_names: tuple[str, ...]
    _active: NDArray[np.bool_]
    max_events: int = 10_000
    record_events: bool = True
    events: list[SlaEvent] = field(default_factory=list)
    _violating: NDArray[np.bool_] | None = None
    _slots: int = 0
    _any_violations: int = 0
    _violations: FloatArray | None = None
    _cost_sum: FloatArray | None = None
    _terms_of: SlaTargets | None = field(default=None, repr=False, compare=False)
    _terms: TermColumns = field(default=(), repr=False, compare=False)
    _all_active: bool = field(default=False, init=False, repr=False, compare=False)
    _judged: NDArray[np.bool_] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._active = read_only(np.array(self._active, dtype=bool, copy=True))
        self._all_active = bool(self._active.all())

    @property
    def targets(self) -> SlaTargets:
        """SLA targets per slice (the scenario's, replaced by each slice's ServiceProfile terms)."""
        return self._targets

    @property
    def active(self) -> NDArray[np.bool_]:
        """``(n_slices,)`` provisioned slices (read-only)."""
        return self._active

    @property
    def all_active(self) -> bool:
        """Whether every slice is provisioned (kept with :attr:`active`)."""
        return self._all_active

    @property
    def judged(self) -> NDArray[np.bool_] | None:
        """``(n_slices,)`` the slices the last slot's KPIs belong to (read-only), ``None`` before the first slot.

        A slice was provisioned during the last slot and has not been released since: a slice provisioned after
        it (a new tenant of the slot, or of a slot that was empty) has no KPIs of its own until the next slot.
        """
        return self._judged

    def admit(self, k: int, targets: SlaTargets) -> None:
        """Slice ``k`` is provisioned, with the SLA targets ``targets`` (all slices' columns) from now on."""
        self._targets = targets
        self._set_active(k, True)

    def release(self, k: int) -> None:
        """Slice ``k`` is no longer provisioned: it costs nothing from now on."""
        self._set_active(k, False)
        if self._judged is not None and self._judged[k]:  # the last slot's KPIs are not the next tenant's
            judged = self._judged.copy()
            judged[k] = False
            self._judged = read_only(judged)

    def _set_active(self, k: int, value: bool) -> None:
        active = self._active.copy()
        active[k] = value
        self._active = read_only(active)
        self._all_active = bool(active.all())

    def evaluate(self, kpis: Kpis, slot: int) -> FloatArray:
        """The slot's cost ``(n_envs, n_slices)``; updates statistics and threshold events."""
        if self._terms_of is not self._targets:  # targets are replaced (never edited) when a slice changes
            self._terms_of, self._terms = self._targets, term_columns(self._targets)
        cost = sla_cost(self._targets, kpis, self._terms)  # a new array: kept as is when all are active
        if not self._all_active:
            cost = np.where(self._active, cost, 0.0)
        violating = cost > _ZERO
        n_envs, n_slices = cost.shape
        if self._violations is None or self._violations.shape[0] != n_slices:
            self._violations = np.zeros(n_slices)
            self._cost_sum = np.zeros(n_slices)
        assert self._cost_sum is not None
        self._slots += n_envs
        # Without a violation the cost is 0 everywhere (it is >= 0): the sums below would add zeros, which
        # changes no bit of them (they start at +0.0), so they are skipped.
        if np.count_nonzero(violating):
            # The reductions as ndarray.any/sum run them (np.logical_or.reduce, np.add.reduce), without the
            # method wrappers, which cost more than the reductions themselves on one env's few slices.
            self._any_violations += (
                1 if n_envs == 1 else int(np.count_nonzero(np.logical_or.reduce(violating, axis=1)))
            )  # one env: it violated
            self._violations += np.add.reduce(violating, axis=0)
            self._cost_sum += np.add.reduce(cost, axis=0)
        if self.record_events:
            self._record_events(kpis, slot, cost, violating)
        self._violating = violating
        self._judged = self._active  # read-only, replaced (never edited) when a slice comes or goes
        return cost

    def _record_events(self, kpis: Kpis, slot: int, cost: FloatArray, violating: NDArray[np.bool_]) -> None:
        """Threshold-crossing events of the (env, slice) pairs whose violation state changed this slot."""
        previous = self._violating if self._violating is not None else np.zeros_like(violating)
        if previous.shape != violating.shape:
            return
        changed = np.argwhere(previous != violating)
        mask = violation_mask(self._targets, kpis) if changed.size else np.zeros((0, 0, 0), dtype=bool)
        for env, k in changed[: self.max_events]:
            raised = bool(violating[env, k])
            terms = tuple(n for n, bad in zip(TERM_NAMES, mask[env, k], strict=True) if bad) if raised else ()
            kind: Literal["raised", "cleared"] = "raised" if raised else "cleared"
            self.events.append(SlaEvent(slot, int(env), self.slice_names[k], kind, float(cost[env, k]), terms))
        del self.events[: max(len(self.events) - self.max_events, 0)]

    def reset_episode(self, mask: NDArray[np.bool_] | None = None) -> None:
        """Forget the per-env violation state of new episodes (all envs, or those in ``mask``).

        Statistics and events are kept.
        """
        if mask is None or self._violating is None:
            self._violating = None
        else:
            self._violating = self._violating.copy()
            self._violating[mask] = False

    def metrics(self) -> dict[str, float]:
        """Violation statistics since construction (see the module table)."""
        slots = max(self._slots, 1)
        out = {"sla/slots": float(self._slots), "sla/violation_rate": self._any_violations / slots}
        if self._violations is not None and self._cost_sum is not None:
            for k, name in enumerate(self.slice_names):
                out[f"sla/violation_rate/{name}"] = float(self._violations[k]) / slots
                out[f"sla/cost_mean/{name}"] = float(self._cost_sum[k]) / slots
        return out
