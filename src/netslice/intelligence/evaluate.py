"""Evaluation: run any policy for N days and report usage, SLA violations, returns and the gap to the oracle.

Metrics of an evaluation (each documented once, here; keys of :meth:`EvalResult.summary`):

===============================  =====================================================================
``usage/mean``                   mean weighted usage per slot (minus the env reward), the objective
``usage/<domain>``               mean allocated fraction of the domain (ran, tn, cn, edge)
``sla/violation_rate``           fraction of (env, slot) pairs in which any slice's cost > 0
``sla/violation_rate/<slice>``   fraction of (env, slot) pairs in which that slice's cost > 0
``sla/cost_mean/<slice>``        mean clipped cost of the slice
``return/mean``                  mean undiscounted episode return (sum of rewards over one day)
``gap/oracle``                   (usage/mean - oracle usage/mean) / oracle usage/mean (set by :func:`compare`)
``gap/forecast``                 (usage/mean - forecast usage/mean) / forecast usage/mean (set by :func:`compare`)
``reduction/rule``               (rule usage/mean - usage/mean) / rule usage/mean (set by :func:`compare`)
===============================  =====================================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.envs.features import flatten_allocation
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.policies.base import (
    AnyPolicy,
    ContextPolicy,
    ModelPolicy,
    allocation_for,
    bind_policy,
    reset_policy,
)
from netslice.network.allocation import DOMAINS
from netslice.network.scenarios import Scenario
from netslice.orchestration.orchestrator import Orchestrator

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class EvalResult:
    """Per-slot record of one policy's evaluation.

    Attributes:
        policy: policy name.
        scenario: scenario name.
        slices: slice names (column order).
        seed: seed of the evaluation envs.
        reward: ``(T, n_envs)`` env rewards.
        usage: ``(T, n_envs, 4)`` allocated fraction per domain.
        slice_usage: ``(T, n_envs, K)`` each slice's weighted usage.
        cost: ``(T, n_envs, K)`` clipped SLA cost.
        hour: ``(T, n_envs)`` hour of day of each slot.
        slots_per_episode: slots of one episode.
    """

    policy: str
    scenario: str
    slices: tuple[str, ...]
    seed: int
    reward: FloatArray
    usage: FloatArray
    slice_usage: FloatArray
    cost: FloatArray
    hour: FloatArray
    slots_per_episode: int

    def summary(self) -> dict[str, float]:
        """The metrics of the module table (gap and reduction are added by :func:`compare`)."""
        violated = self.cost > 0.0
        out = {
            "usage/mean": float(-self.reward.mean()),
            **{f"usage/{d}": float(self.usage[..., i].mean()) for i, d in enumerate(DOMAINS)},
            "sla/violation_rate": float(violated.any(axis=2).mean()),
            "return/mean": float(self.reward.mean() * self.slots_per_episode),
        }
        for k, name in enumerate(self.slices):
            out[f"sla/violation_rate/{name}"] = float(violated[..., k].mean())
            out[f"sla/cost_mean/{name}"] = float(self.cost[..., k].mean())
        return out

    def by_hour(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Hours (0..23) and, per hour, mean slice usage ``(24, K)`` and violation rate ``(24, K)``."""
        hours = np.arange(24)
        idx = np.floor(self.hour).astype(int) % 24
        usage = np.full((24, len(self.slices)), np.nan)
        viol = np.full((24, len(self.slices)), np.nan)
        for h in hours:
            sel = idx == h
            if sel.any():
                usage[h] = self.slice_usage[sel].mean(axis=0)
                viol[h] = (self.cost[sel] > 0.0).mean(axis=0)
        return hours.astype(np.float64), usage, viol


def evaluate(
    policy: AnyPolicy,
    name: str,
    scenario: str | Scenario = "testbed-v0",
    days: int = 10,
    n_envs: int = 16,
    seed: int = 1000,
    weights: FloatArray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Run ``policy`` for ``days`` days in ``n_envs`` networks (deterministic given ``seed``).

    Context policies (rule-based) get the orchestrator's raw observation; model policies (oracle,
    forecast planner) also get its planning model (:func:`~.policies.base.allocation_for`). Others act
    on the encoded observation. Usage is the encoder's :class:`~netslice.orchestration.objective.Objective`.
    """
    envs = SliceVectorEnv(n_envs, scenario, seed=seed, weights=weights, include_kpis=True)
    orch = envs.orch
    assert isinstance(orch, Orchestrator), "evaluate builds its envs in-process"
    obs, _ = envs.reset(seed=seed)
    bind_policy(policy, orch)
    reset_policy(policy)
    slices = tuple(orch.spaces().slices)
    steps = days * envs.max_episode_steps
    rows: dict[str, list[FloatArray]] = {k: [] for k in ("reward", "usage", "slice_usage", "cost", "hour")}
    objective = envs.encoder.objective
    for t in range(steps):
        if isinstance(policy, ContextPolicy | ModelPolicy):
            action = flatten_allocation(allocation_for(policy, orch))
        else:
            action = policy.act(obs)
        obs, reward, _, _, info = envs.step(action)
        kpis = info["kpis"]
        rows["reward"].append(np.asarray(reward))
        rows["usage"].append(np.asarray(info["usage"]))
        rows["slice_usage"].append(objective.slice_usage(kpis["slice_usage"]))
        rows["cost"].append(np.asarray(info["cost"]))
        rows["hour"].append(np.asarray(kpis["hour"]))
        if progress is not None:
            progress(t + 1, steps)
    return EvalResult(
        policy=name, scenario=orch.spaces().scenario, slices=slices, seed=seed,
        slots_per_episode=envs.max_episode_steps, **{k: np.stack(v) for k, v in rows.items()},
    )  # fmt: skip


def compare(results: dict[str, EvalResult]) -> dict[str, dict[str, float]]:
    """Summaries of several evaluations, with the usage gaps and the reduction against ``rule``.

    The gap to the clairvoyant ``oracle`` and to the causal ``forecast`` planner (what knowing
    the model but not the future needs) are set when that policy was evaluated.
    """
    table = {name: r.summary() for name, r in results.items()}
    oracle = table.get("oracle", {}).get("usage/mean")
    forecast = table.get("forecast", {}).get("usage/mean")
    rule = table.get("rule", {}).get("usage/mean")
    for row in table.values():
        if oracle:
            row["gap/oracle"] = (row["usage/mean"] - oracle) / oracle
        if forecast:
            row["gap/forecast"] = (row["usage/mean"] - forecast) / forecast
        if rule:
            row["reduction/rule"] = (rule - row["usage/mean"]) / rule
    return table


def write_json(table: dict[str, dict[str, float]], path: str | Path, meta: dict[str, object]) -> Path:
    """Write the comparison table with its metadata atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps({"meta": meta, "policies": table}, indent=2))
    tmp.replace(path)
    return path
