"""Behaviour cloning of the forecast planner with and without the day-history features, seeds 0-4.

For each seed S and each dataset size (``--days``, days x 16 networks, collected once per seed as ``netslice
imitate`` does: networks seeded ``3_000_000 + S``), the clone (10 epochs, the default pinball quantile 0.9, PPO's
network) is trained with ``PPOConfig.day_history`` off and on, and the teacher and each clone are evaluated on the
same networks (``--eval-days`` x 16, seed ``1000 + S``; 10 days by default: a 2-day evaluation's standard error of
a 1 % violation rate is about 0.4 points, the size of the margin the imitation target asks for). Reported per run:
the clone's usage relative to the teacher's, its violation rate minus the teacher's (points), the held-out action
error; per configuration the mean and the worst seed.

Writes ``benchmarks/results/bc_day_history.json``. Usage: ``python benchmarks/bc_day_history.py`` (about 15 min on
2 cores; ``--seeds``, ``--days`` to shrink it).
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, machine_info, write_json

# isort: split
import argparse
import time
from typing import Any

from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.imitation import dataset
from netslice.intelligence.imitation.bc import clone
from netslice.intelligence.imitation.bc_config import BCConfig
from netslice.intelligence.imitation.job import DATASET_SEED
from netslice.intelligence.run import make_policy
from netslice.network.scenarios import load

RESULT = RESULTS_DIR / "bc_day_history.json"
TEACHER = "forecast"
N_ENVS = 16


def run_seed(seed: int, days_list: list[int], eval_days: int) -> list[dict[str, Any]]:
    """Every (days, features) clone of seed ``seed``, against the teacher on the same evaluation networks."""
    sc = load("testbed-v0")
    teacher = evaluate(make_policy(TEACHER, sc), "teacher", sc, eval_days, N_ENVS, 1000 + seed).summary()
    rows = []
    for days in days_list:
        demos = dataset.collect(make_policy(TEACHER, sc), TEACHER, sc, days, N_ENVS, DATASET_SEED + seed)
        for features in (False, True):
            start = time.perf_counter()
            result = clone(demos, PPOConfig(day_history=features), BCConfig(seed=seed), scenario=sc)
            seconds = time.perf_counter() - start
            got = evaluate(result.policy(), "clone", sc, eval_days, N_ENVS, 1000 + seed).summary()
            rows.append({
                "seed": seed, "days": days, "day_history": features, "clone_s": seconds,
                "teacher/usage": teacher["usage/mean"], "teacher/violation_rate": teacher["sla/violation_rate"],
                "clone/usage": got["usage/mean"], "clone/violation_rate": got["sla/violation_rate"],
                "usage_vs_teacher": got["usage/mean"] / teacher["usage/mean"] - 1.0,
                "violations_vs_teacher_pt": 100.0 * (got["sla/violation_rate"] - teacher["sla/violation_rate"]),
                "holdout_mae": result.history[-1]["bc/holdout_mae"],
            })  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and worst seed of each configuration (worst: the largest usage and violation excess)."""
    out: dict[str, dict[str, float]] = {}
    for days in sorted({r["days"] for r in rows}):
        for features in (False, True):
            sel = [r for r in rows if r["days"] == days and r["day_history"] == features]
            key = f"{days}d-{'day_history' if features else 'plain'}"
            out[key] = {
                "usage_vs_teacher/mean": sum(r["usage_vs_teacher"] for r in sel) / len(sel),
                "usage_vs_teacher/worst": max(r["usage_vs_teacher"] for r in sel),
                "violations_vs_teacher_pt/mean": sum(r["violations_vs_teacher_pt"] for r in sel) / len(sel),
                "violations_vs_teacher_pt/worst": max(r["violations_vs_teacher_pt"] for r in sel),
                "holdout_mae/mean": sum(r["holdout_mae"] for r in sel) / len(sel),
                "seeds_meeting_both": sum(
                    r["usage_vs_teacher"] <= 0.05 and r["violations_vs_teacher_pt"] <= 0.5 for r in sel
                ),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--days", type=int, nargs="+", default=[30, 60])
    parser.add_argument("--eval-days", type=int, default=10)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = [row for seed in args.seeds for row in run_seed(seed, args.days, args.eval_days)]
    summary = summarise(rows)
    for key, value in summary.items():
        print(key, {k: round(v, 4) for k, v in value.items()})
    write_json(RESULT, {
        "meta": machine_info(), "teacher": TEACHER, "eval_days": args.eval_days, "eval_envs": N_ENVS,
        "targets": {"usage_vs_teacher": 0.05, "violations_vs_teacher_pt": 0.5}, "wall_s": time.perf_counter() - start,
        "summary": summary, "runs": rows,
    })  # fmt: skip
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
