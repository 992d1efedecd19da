"""Reading a reproduction's folders: per task, what learning cost and what the final policy does.

Metrics of a reproduction (each documented once, here; the keys of :func:`method_rows` and of the targets):

===========================  =========================================================================================
``learn/usage``              mean weighted usage of every slot played while learning (the ledger's, all networks)
``learn/violation_rate``     fraction of those slots with any slice's SLA violated
``final/usage``              the final agent's (deterministic, no shield) usage on the evaluation networks
``final/violation_rate``     its violation rate there
``final/reduction_rule``     ``1 - final/usage / rule usage`` on the same networks
===========================  =========================================================================================

Baselines (rule, forecast, oracle) do not learn: their ``learn/*`` are empty and ``final/*`` is their evaluation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netslice.intelligence.reproduce.plan import Task

#: Rows of an online-learning curve: global step, rollout usage, rollout violation rate.
CURVE_KEYS = ("charts/global_step", "usage/mean", "sla/violation_rate")


@dataclass(frozen=True)
class Outcome:
    """What one task left (see the module docstring for the metrics).

    Attributes:
        task: the task.
        metrics: its metrics by name.
        curve: ``(updates, 3)`` array of :data:`CURVE_KEYS` for a training run, else None.
        day_cdf: the ledger's CDF of the per-day violation rate (``rate``, ``fraction``) for a training run.
        bc_history: the epoch rows of a cloning (``bc.json``) and its teacher's row.
    """

    task: Task
    metrics: dict[str, float]
    curve: np.ndarray | None = None
    day_cdf: dict[str, list[float]] | None = None
    bc_history: tuple[list[dict[str, float]], dict[str, float]] | None = None


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def curve(folder: Path) -> np.ndarray:
    """The online-learning curve of a training run (from its checkpoint's per-update history)."""
    from netslice.intelligence.agents.checkpoint import load_checkpoint

    history = load_checkpoint(folder / "checkpoint.pt", ("history",))["history"]
    return np.array([[row[key] for key in CURVE_KEYS] for row in history], dtype=np.float64)


def read(task: Task) -> Outcome:
    """The outcome of a finished task."""
    if task.kind == "baselines":
        policies = _json(task.folder / "evaluation.json")["policies"]
        return Outcome(task, {f"{name}/{key}": row[key] for name, row in policies.items()
                              for key in ("usage/mean", "sla/violation_rate")})  # fmt: skip
    if task.kind == "bc":
        record = _json(task.folder / "bc.json")
        last = record["history"][-1]
        metrics = {"final/usage": last["usage/mean"], "final/violation_rate": last["sla/violation_rate"],
                   "teacher/usage": record["teacher"]["usage/mean"],
                   "teacher/violation_rate": record["teacher"]["sla/violation_rate"]}  # fmt: skip
        return Outcome(task, metrics, bc_history=(record["history"], record["teacher"]))
    ledger = _json(task.folder / "training.json")
    final = _json(task.folder / "evaluation.json")["policies"]["ppo"]
    metrics = {
        "learn/usage": ledger["usage_mean"], "learn/violation_rate": ledger["violation_rate"],
        "final/usage": final["usage/mean"], "final/violation_rate": final["sla/violation_rate"],
    }  # fmt: skip
    return Outcome(task, metrics, curve(task.folder), ledger["day_violation_rate_cdf"])


def smoothed(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` points (shorter at the start)."""
    c = np.cumsum(np.r_[0.0, values])
    n = np.arange(1, len(values) + 1)
    lo = np.maximum(0, n - window)
    out: np.ndarray = (c[n] - c[lo]) / (n - lo)
    return out


def first_step_within(run: np.ndarray, level: float, window: int = 10) -> float:
    """The first global step at which the run's smoothed rollout usage is at most ``level`` (inf if never)."""
    hit = np.nonzero(smoothed(run[:, 1], window) <= level)[0]
    return float(run[hit[0], 0]) if hit.size else float("inf")


def final_rollout_usage(run: np.ndarray, window: int = 10) -> float:
    """Mean rollout usage of the last ``window`` updates."""
    return float(run[-window:, 1].mean())


def spread(values: list[float], worst: str = "max") -> tuple[float, float]:
    """Mean and worst (largest, or smallest with ``worst="min"``) of per-seed values."""
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.max() if worst == "max" else arr.min())
