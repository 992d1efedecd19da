"""How much of the agent-oracle gap is information? The best causal planner's usage-violation curve.

The clairvoyant oracle knows the coming slot's traffic exactly; a causal policy only sees the
slots already measured. The forecast planner (``intelligence/policies/forecast.py``) runs the
oracle's search with the exact network model on the ``q`` quantile of an exact (Kalman) forecast
of the coming slot's traffic: it knows the model, not the future. Sweeping ``q`` traces the least
usage a causal policy needs for each violation rate; its gap to the oracle at a violation rate is
what clairvoyance is worth there, and no causal policy (learned or not) is expected below it. Runs
on the main job's evaluation networks (seed 1000, 5 days x 16 networks).

For comparison it also runs the naive planner of the first version of this benchmark: the oracle
on the last measured slot's traffic times a margin (no diurnal profile, no filter).

Usage: ``python benchmarks/oracle_information_gap.py [--quantiles 0.9 0.99 ...] [--days 5] [--n-envs 16]``.
Writes ``benchmarks/results/oracle_information_gap.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from common import RESULTS_DIR, machine_info, write_json
from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.policies.base import ContextPolicy, PolicyContext
from netslice.intelligence.policies.forecast import ForecastPlanner
from netslice.intelligence.policies.oracle import Oracle
from netslice.network.allocation import DOMAINS

RESULT = RESULTS_DIR / "oracle_information_gap.json"


class LastSlotPlanner:
    """The oracle's search on ``margin`` x the last slot's measured active UEs (the truth at slot 0)."""

    needs_model = True

    def __init__(self, margin: float) -> None:
        self.oracle = Oracle.create(None)
        self.margin = margin

    def act_context(self, ctx: PolicyContext) -> NDArray[np.float64]:
        """Plan on the last slot's load (the coming slot's true load right after a full reset)."""
        assert ctx.orchestrator is not None
        self.oracle.bind(ctx.orchestrator)
        kpis = ctx.observation.kpis
        return self.oracle.act(load=None if kpis is None else kpis.active_ues * self.margin)


def row(policy: ContextPolicy, days: int, n_envs: int, seed: int) -> dict[str, float]:
    """Usage (mean and per domain) and violation rate of ``policy`` on the evaluation networks."""
    s = evaluate(policy, "p", days=days, n_envs=n_envs, seed=seed).summary()
    keys = ("usage/mean", *(f"usage/{d}" for d in DOMAINS), "sla/violation_rate")
    return {k: round(float(s[k]), 5) for k in keys}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quantiles", type=float, nargs="+", default=[0.9, 0.97, 0.99, 0.995, 0.999])
    ap.add_argument("--margins", type=float, nargs="+", default=[1.3, 2.0])
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--n-envs", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=RESULT)
    args = ap.parse_args()
    rows = {"clairvoyant": row(Oracle.create(None), args.days, args.n_envs, args.seed)}
    oracle = rows["clairvoyant"]["usage/mean"]
    print(f"clairvoyant oracle: {rows['clairvoyant']}")
    for q in args.quantiles:
        r = row(ForecastPlanner.create(q), args.days, args.n_envs, args.seed)
        r["gap/oracle"] = round((r["usage/mean"] - oracle) / oracle, 5)
        rows[f"forecast_q{q:g}"] = r
        print(f"forecast q={q:g}: {r}")
    for m in args.margins:
        r = row(LastSlotPlanner(m), args.days, args.n_envs, args.seed)  # type: ignore[arg-type]
        r["gap/oracle"] = round((r["usage/mean"] - oracle) / oracle, 5)
        rows[f"last_slot_x{m:g}"] = r
        print(f"last slot x {m:g}: {r}")
    write_json(
        args.out,
        {
            "machine": machine_info(),
            "config": {"scenario": "testbed-v0", "days": args.days, "n_envs": args.n_envs, "seed": args.seed},
            "results": rows,
            "notes": "weighted usage = mean allocated share over the 4 domains; violation = any slice cost > 0; "
            "forecast_qQ = oracle search on the Q quantile of the Kalman traffic forecast (causal)",
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
