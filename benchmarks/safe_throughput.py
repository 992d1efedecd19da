"""Training throughput of safe PPO side by side: the fixed penalty, the PID Lagrangian, and switching.

The main job's learner (testbed-v0, 128 networks, ``PPOConfig`` defaults) is built once per variant, warmed up,
then timed in interleaved rounds: in each round every variant runs ``--updates`` updates in turn, so that the
machine's load affects them alike. The figure is the median over the rounds of env steps per second end to end
(rollout, shield, GAE, gradient epochs, multipliers); the ratio is to the penalty variant of the same round.
One thread (``common`` pins the BLAS pools; PPO sets torch's).

Variants (:data:`VARIANTS`): ``penalty`` (PPO as today: ``cost_penalty`` 8, no safety method), ``pid`` (the PID
Lagrangian with its cost critic, ``cost_penalty`` 0), ``pid+switching`` (the same behind the training shield:
the evaluator's prediction every slot, its ``learn`` every update; the pretraining is outside the timing and
reported apart). Targets (issue 12): Lagrangian >= 0.8x, switching >= 0.5x.

Usage: ``python benchmarks/safe_throughput.py [--quick]``; writes ``benchmarks/results/safe_throughput.json``.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, loadavg, machine_info, parser, write_json

# isort: split
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from netslice.intelligence import shielding
from netslice.intelligence.agents.ppo import PPO
from netslice.intelligence.run import build_learner
from netslice.intelligence.run_config import RunConfig
from netslice.network.scenarios import load

DEFAULT_OUT = RESULTS_DIR / "safe_throughput.json"
#: The variants: flat RunConfig overrides.
VARIANTS: dict[str, dict[str, Any]] = {
    "penalty": {},
    "pid": {"method": "pid", "cost_penalty": 0.0},
    "pid+switching": {"method": "pid", "cost_penalty": 0.0, "switching": True},
}
TARGETS = {"pid": 0.8, "pid+switching": 0.5}


def build(name: str, run_dir: Path, pretrain_slots: int) -> tuple[PPO, float]:
    """The learner of a variant (as ``netslice train`` builds it) and its shield's pretraining seconds."""
    cfg = RunConfig().overridden({**VARIANTS[name], "total_steps": 10**9, "shield_pretrain_slots": pretrain_slots})
    sc = load(cfg.scenario)
    ppo = build_learner(cfg, sc, run_dir)
    start = time.perf_counter()
    if ppo.shield is not None:
        shielding.pretrain(ppo.shield, cfg, sc, run_dir)
    return ppo, time.perf_counter() - start


def main() -> None:
    ap = parser(__doc__, DEFAULT_OUT, "a short smoke run (5 updates x 2 rounds, small pretraining)")
    ap.add_argument("--updates", type=int, default=20, help="updates per variant and round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3, help="updates before timing")
    args = ap.parse_args()
    updates, rounds, pretrain_slots = (5, 2, 24) if args.quick else (args.updates, args.rounds, 240)
    with tempfile.TemporaryDirectory() as tmp:
        learners, pretrain_s = {}, {}
        for name in VARIANTS:
            learners[name], pretrain_s[name] = build(name, Path(tmp) / name, pretrain_slots)
            learners[name].train(max_updates=args.warmup)
        sps: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for r in range(rounds):
            for name, ppo in learners.items():
                start = time.perf_counter()
                ppo.train(max_updates=updates)
                sps[name].append(updates * ppo.batch_size / (time.perf_counter() - start))
            print(f"round {r + 1}/{rounds}: " + ", ".join(f"{n} {v[-1]:,.0f}" for n, v in sps.items()), flush=True)
    ratios = {name: [v / p for v, p in zip(sps[name], sps["penalty"], strict=True)] for name in VARIANTS}
    results = {
        name: {
            "env_steps_per_s": round(statistics.median(sps[name]), 1),
            "ratio_to_penalty": round(statistics.median(ratios[name]), 3),
            "per_round": [round(v, 1) for v in sps[name]],
            "pretrain_s": round(pretrain_s[name], 2),
            **({"target_ratio": TARGETS[name], "meets": statistics.median(ratios[name]) >= TARGETS[name]}
               if name in TARGETS else {}),
        }
        for name in VARIANTS
    }  # fmt: skip
    for name, row in results.items():
        print(f"{name}: {row['env_steps_per_s']:,.0f} env-steps/s, {row['ratio_to_penalty']:.2f}x penalty")
    write_json(
        args.out,
        {
            "machine": {**machine_info(), "loadavg_end": loadavg()},
            "config": {"scenario": "testbed-v0", "n_envs": 128, "updates_per_round": updates, "rounds": rounds,
                       "warmup_updates": args.warmup, "shield_pretrain_slots": pretrain_slots,
                       "variants": VARIANTS, "quick": args.quick},
            "results": results,
            "notes": "median over interleaved rounds; ratio per round to the penalty variant, then the median; "
            "pretraining (switching only) is outside the timed rounds",
        },
    )  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
