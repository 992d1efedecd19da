"""Evaluation where slices come and go: violations over admitted slices, usage, and how fast a new slice is served.

On a scenario with an ``arrivals`` section (:mod:`netslice.orchestration.tenancy`) every policy runs
on the same traces: the same seed gives the same slice requests, the same admissions (admission
control checks reservations, not the allocation in force) and the same traffic. Measured, over
``days`` days of ``n_envs`` networks (the networks share the tenants, their traffic differs):

=================================  ================================================================================
``usage``                          mean over slots and networks of the weighted usage (the envs' ``-reward``)
``usage/<domain>``                 as in :mod:`.evaluate` (mean allocated fraction of the domain)
``usage/<domain>/<kind>``          the part of it allocated to the slices of one kind
``violation_rate``                 violating live slice-slots / live slice-slots (absent slots do not count)
``violation_rate/<kind>``          the same for the live slices of one kind
``live_mean``, ``live_max``        live slices per slot
``admissions``                     (admission, network) pairs whose slice lived at least ``ready_slots`` slots
``ready_rate``                     share of those whose SLA is met in at least one of their first ``ready_slots``
                                   slots (the slot it was admitted for is the first)
``ready_at_rate``                  share of those whose SLA is met in slot ``ready_slots`` itself
``tenancy/*``                      the request process's counts (requests, admitted, rejections by reason)
=================================  ================================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.intelligence.envs.features import Encoder, to_allocation
from netslice.intelligence.policies.base import (
    AnyPolicy,
    ContextPolicy,
    ModelPolicy,
    Policy,
    allocation_for,
    bind_policy,
    reset_policy,
)
from netslice.network.allocation import DOMAINS
from netslice.network.scenarios import Scenario
from netslice.orchestration.objective import Objective
from netslice.orchestration.orchestrator import Orchestrator

FloatArray = NDArray[np.float64]


@dataclass
class DynamicResult:
    """What :func:`evaluate_dynamic` measured (see the module table); ``as_dict`` gives the JSON form."""

    usage: float
    violation_rate: float
    violation_by_kind: dict[str, float]
    usage_by_domain: dict[str, float]
    usage_by_kind: dict[str, dict[str, float]]
    live_mean: float
    live_max: int
    admissions: int
    ready_rate: float
    ready_at_rate: float
    tenancy: dict[str, float]
    slots: int
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Flat, JSON-ready."""
        out: dict[str, Any] = {
            "usage": self.usage,
            "violation_rate": self.violation_rate,
            **{f"violation_rate/{k}": v for k, v in self.violation_by_kind.items()},
            **{f"usage/{d}": v for d, v in self.usage_by_domain.items()},
            **{f"usage/{d}/{k}": v for k, by_domain in self.usage_by_kind.items() for d, v in by_domain.items()},
            "live_mean": self.live_mean,
            "live_max": self.live_max,
            "admissions": self.admissions,
            "ready_rate": self.ready_rate,
            "ready_at_rate": self.ready_at_rate,
            "slots": self.slots,
            **self.tenancy,
        }
        return out | self.extra


def evaluate_dynamic(
    policy: AnyPolicy,
    scenario: Scenario,
    *,
    days: int = 2,
    n_envs: int = 8,
    seed: int = 1000,
    ready_slots: int = 3,
    on_slot: Callable[[int, int], None] | None = None,
) -> DynamicResult:
    """Run ``policy`` on ``scenario``'s slices that come and go and measure it (see the module docstring).

    Args:
        policy: a context or model policy (the orchestrator's action shape), or a policy on flat observations
            (e.g. a centralised PPO agent), which gets the encoded observation of :mod:`.envs.features`.
        scenario: a scenario with an ``arrivals`` section.
        days: days (episodes of the scenario's length) to run.
        n_envs: networks side by side.
        seed: seed of the orchestrator (traffic and slice requests).
        ready_slots: a new slice is ready when its SLA is met within this many slots.
        on_slot: progress callback ``(done, total)``.

    Raises:
        ConfigError: the scenario has no arrivals, or the policy implements none of the protocols.
    """
    if scenario.spec.arrivals is None:
        raise ConfigError(f"scenario {scenario.name}: has no arrivals section (slices do not come and go)")
    if not isinstance(policy, ModelPolicy | ContextPolicy | Policy):
        raise ConfigError("policy: must implement act_context, act_model or act (see policies.base)")
    encoder = Encoder.from_scenario(scenario)
    orch = Orchestrator.create(scenario, n_envs=n_envs, seed=seed)
    assert orch.tenancy is not None
    kinds = tuple(s.kind for s in scenario.spec.slices)
    objective = Objective.create()
    per_day = scenario.spec.slots_per_episode
    total = days * per_day
    usage_sum = 0.0
    slice_usage_sum = np.zeros((len(DOMAINS), len(kinds)))  # (domains, K) summed over slots, mean over networks
    live_slots = np.zeros(len(kinds))
    violating = np.zeros(len(kinds))
    live_counts: list[int] = []
    # (slice_id, n_envs) bool: met in any of the first ready_slots slots; met in slot ready_slots; slots lived
    started: dict[str, tuple[NDArray[np.bool_], NDArray[np.bool_], int]] = {}
    bind_policy(policy, orch)
    reset_policy(policy)
    for t in range(total):
        if t > 0 and t % per_day == 0:
            orch.reset()  # a new day's traffic; the tenants stay
            reset_policy(policy)
        live = orch.active.copy()
        live_ids = {r.index: sid for sid, r in orch.records.items()}
        if isinstance(policy, ModelPolicy | ContextPolicy):
            action = allocation_for(policy, orch)
        else:
            flat = policy.act(encoder.encode(orch.observation()))
            action = to_allocation(flat, n_envs, scenario.params.n_slices)
        result = orch.step(action)
        usage_sum += float(objective.usage(result.usage).mean())
        slice_usage_sum += np.asarray(result.kpis.slice_usage).mean(axis=0)
        bad = result.cost > 0.0  # (n_envs, K)
        live_slots += live * n_envs
        violating += (bad & live).sum(axis=0)
        live_counts.append(int(live.sum()))
        for k in np.flatnonzero(live):
            sid = live_ids[int(k)]
            met = ~bad[:, k]
            if sid not in started:
                started[sid] = (np.zeros(n_envs, dtype=bool), np.zeros(n_envs, dtype=bool), 0)
            any_met, at_met, lived = started[sid]
            lived += 1
            if lived <= ready_slots:
                any_met = any_met | met
            if lived == ready_slots:
                at_met = met
            started[sid] = (any_met, at_met, lived)
        if on_slot is not None:
            on_slot(t + 1, total)
    # Slices live at the start were admitted before the run: only those admitted during it count.
    admitted = {a.slice_id for a in orch.tenancy.history if a.slot > 0}
    judged = [v for sid, v in started.items() if sid in admitted and v[2] >= ready_slots]
    n_adm = len(judged) * n_envs
    ready = sum(int(v[0].sum()) for v in judged)
    ready_at = sum(int(v[1].sum()) for v in judged)
    by_kind: dict[str, float] = {}
    usage_by_kind: dict[str, dict[str, float]] = {}
    for kind in dict.fromkeys(kinds):
        cols = [i for i, kk in enumerate(kinds) if kk == kind]
        n = float(live_slots[cols].sum())
        by_kind[kind] = float(violating[cols].sum() / n) if n else float("nan")
        usage_by_kind[kind] = {d: float(slice_usage_sum[i, cols].sum() / total) for i, d in enumerate(DOMAINS)}
    metrics = orch.metrics()
    return DynamicResult(
        usage=usage_sum / total,
        violation_rate=float(violating.sum() / max(live_slots.sum(), 1.0)),
        violation_by_kind=by_kind,
        usage_by_domain={d: float(slice_usage_sum[i].sum() / total) for i, d in enumerate(DOMAINS)},
        usage_by_kind=usage_by_kind,
        live_mean=float(np.mean(live_counts)),
        live_max=int(np.max(live_counts)),
        admissions=n_adm,
        ready_rate=ready / n_adm if n_adm else float("nan"),
        ready_at_rate=ready_at / n_adm if n_adm else float("nan"),
        tenancy={k: v for k, v in metrics.items() if k.startswith("tenancy/")},
        slots=total,
    )
