"""PPO exploration ablation on testbed-v0: share-space vs logit-space noise, initial mean, cost penalty.

Trains netslice's PPO (main-job settings: 128 networks, 6M env steps unless ``--steps``) once per configuration
and seed, evaluates the deterministic policy like the main job (5 days x 16 networks, seed 1000 + seed) next to
the forecast planner and the oracle on the same networks, and writes usage, violations and the two gaps.

Configurations (:data:`CONFIGS`, PPOConfig overrides):

- ``share-m0.3-p6``: the previous main-job default (noise added to the share, initial mean 0.3, log std -2.5,
  cost penalty 6, tanh hidden layers);
- ``share-m0.1-p6``: the same with initial mean 0.1;
- ``logit-p6``: noise on the share's logit (initial mean 0.1, log std -1.5), cost penalty 6, tanh;
- ``logit-p8-tanh``: the same with cost penalty 8;
- ``logit-p8``: the current default (PPOConfig(): logit noise, cost penalty 8, ReLU hidden layers).

Usage: ``python benchmarks/ppo_exploration.py [--configs logit-p8 share-m0.3-p6] [--seeds 0 1] [--jobs 2]``.
Writes ``benchmarks/results/ppo_exploration.json``. Each run takes 3-6 minutes on one core of this machine.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, machine_info, write_json

# isort: split
import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

from netslice.intelligence.agents.ppo import PPO, PPOConfig
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.evaluate import EvalResult, compare, evaluate
from netslice.intelligence.policies.forecast import ForecastPlanner
from netslice.intelligence.policies.oracle import Oracle

RESULT = RESULTS_DIR / "ppo_exploration.json"
SCENARIO = "testbed-v0"
CONFIGS: dict[str, dict[str, Any]] = {
    "share-m0.3-p6": {"noise_space": "share", "init_mean": 0.3, "cost_penalty": 6.0, "activation": "tanh"},
    "share-m0.1-p6": {"noise_space": "share", "init_mean": 0.1, "cost_penalty": 6.0, "activation": "tanh"},
    "logit-p6": {"noise_space": "logit", "init_mean": 0.1, "cost_penalty": 6.0, "activation": "tanh"},
    "logit-p8-tanh": {"activation": "tanh"},
    "logit-p8": {},
}
KEYS = ("usage/mean", "usage/ran", "usage/tn", "usage/cn", "usage/edge", "sla/violation_rate")


def run(name: str, seed: int, steps: int, n_envs: int) -> dict[str, Any]:
    """Train one configuration and compare it with the forecast planner and the oracle."""
    torch.set_num_threads(1)
    cfg = PPOConfig(total_steps=steps, seed=seed, checkpoint_every=10**9, **CONFIGS[name])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir:
        ppo = PPO(cfg, SliceVectorEnv(n_envs, SCENARIO, seed=seed), run_dir)
        ppo.train()
        train_s = time.perf_counter() - start
        results: dict[str, EvalResult] = {
            "ppo": evaluate(ppo.policy(), "ppo", SCENARIO, days=5, n_envs=16, seed=1000 + seed),
            "forecast": evaluate(ForecastPlanner.create(), "forecast", SCENARIO, days=5, n_envs=16, seed=1000 + seed),
            "oracle": evaluate(Oracle.create(None), "oracle", SCENARIO, days=5, n_envs=16, seed=1000 + seed),
        }
        table = compare(results)
        row = {k: round(float(table["ppo"][k]), 5) for k in (*KEYS, "gap/oracle", "gap/forecast")}
        row["forecast"] = {k: round(float(table["forecast"][k]), 5) for k in KEYS}
        row["final_log_std"] = [round(float(v), 2) for v in ppo.agent.log_std.detach()]
        row["final_clipfrac"] = round(ppo.stats.history[-1]["losses/clipfrac"], 3)
    row.update(config=name, seed=seed, train_s=round(train_s, 1))
    print(f"{name} seed {seed}: usage {row['usage/mean']:.4f} viol {row['sla/violation_rate']:.2%} "
          f"gap/oracle {row['gap/oracle']:+.1%} gap/forecast {row['gap/forecast']:+.1%}", flush=True)  # fmt: skip
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--configs", nargs="+", choices=tuple(CONFIGS), default=list(CONFIGS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--steps", type=int, default=6_000_000)
    ap.add_argument("--n-envs", type=int, default=128)
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (one core each)")
    ap.add_argument("--out", type=Path, default=RESULT)
    args = ap.parse_args()
    jobs = [(c, s) for c in args.configs for s in args.seeds]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(run, *zip(*jobs, strict=True), [args.steps] * len(jobs), [args.n_envs] * len(jobs)))
    write_json(
        args.out,
        {
            "machine": machine_info(),
            "config": {"scenario": SCENARIO, "steps": args.steps, "n_envs": args.n_envs, "jobs": args.jobs,
                       "configs": {c: CONFIGS[c] for c in args.configs}, "eval": "5 days x 16 networks, seed 1000+S"},
            "results": rows,
            "notes": "usage = weighted mean allocated share; violations = slots with any slice cost > 0; "
            "forecast = the causal planner (q 0.995) on the same evaluation networks; train_s with --jobs runs "
            "sharing the machine",
        },
    )  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
