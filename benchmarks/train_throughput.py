"""PPO training throughput: env-steps/s of netslice's PPO end to end (rollouts and updates) on testbed-v0.

Run from the repository root::

    python benchmarks/train_throughput.py [--quick] [--out benchmarks/results/train_throughput.json]

What it measures (everything on one thread, importing ``common`` sets the thread variables to 1), for n_envs in
{64, 128, 256} and minibatch_size in {512, 1024} (the other hyper-parameters are ``PPOConfig``'s defaults:
24 slots per env per rollout, 4 epochs, the hidden layers of ``PPOConfig.hidden`` unless ``--hidden`` is given):

* **end to end**: env steps per second of ``PPO.train``, i.e. ``updates * 24 * n_envs`` over the wall-clock
  of ``updates`` updates: rollout (env step, observation normalisation, policy and value forward, noise,
  buffers), GAE and the clipped-surrogate epochs;
* **rollout**: env steps per second of the rollout phase alone, i.e. the same steps over the same wall-clock
  minus the time spent in the gradient epochs (PPO's own ``time/learn_s`` per update); GAE stays in the
  rollout phase (it is a few vectorised numpy passes);
* **update**: milliseconds per update spent in the gradient epochs, with the number of gradient steps
  (``4 * floor(24 * n_envs / minibatch_size)``; PPO drops the last, incomplete minibatch of an epoch);
* **env only**: env steps per second of ``SliceVectorEnv.step`` under a constant action (0.3 everywhere),
  the floor below which no learner can go.

Each configuration: a fresh env and learner (seed 0, learning rate annealed over a budget of 10^9 steps so
that it stays at its initial value, no checkpoint written during the timing), ``--warmup`` updates (numba
compiles, caches fill), then ``--repeats`` timed runs of ``--updates`` updates each; the figures are the
medians over the repeats. Target: >= 20,000 env-steps/s end to end on one core, judged for every
configuration.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, loadavg, machine_info, parser, write_json

# isort: split
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from netslice.intelligence.agents.ppo import PPO, PPOConfig
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.network import fused

SCENARIO = "testbed-v0"
N_ENVS: tuple[int, ...] = (64, 128, 256)
MINIBATCH_SIZES: tuple[int, ...] = (512, 1024)
UPDATES = 20
WARMUP_UPDATES = 2
REPEATS = 3
#: Target: end-to-end training throughput on one core, every configuration.
TARGET_END_TO_END_ENV_STEPS_PER_S = 20_000.0
DEFAULT_OUT = RESULTS_DIR / "train_throughput.json"

NOTES: tuple[str, ...] = (
    "end_to_end_env_steps_per_s = updates * num_steps * n_envs / wall-clock of PPO.train(max_updates=updates); "
    "rollout_env_steps_per_s = the same steps / (wall-clock - PPO's time/learn_s); update_ms = PPO's "
    "time/learn_s per update (the 4 clipped-surrogate epochs).",
    "grad_steps_per_update = update_epochs * ceil(num_steps * n_envs / minibatch_size): PPO trains on every sample, "
    "the last minibatch of an epoch may be smaller (e.g. 64 envs x 24 slots = 1536 samples at minibatch 1024: a "
    "1024 and a 512 minibatch per epoch), so the update cost is not proportional to the batch.",
    "env_only_env_steps_per_s: SliceVectorEnv.step with a constant action 0.3, same number of steps as a repeat.",
    "Simulator backend: SliceVectorEnv's default ('auto': numba's fused kernel when numba is installed).",
    "One thread (torch.set_num_threads(1), OMP/OPENBLAS/MKL_NUM_THREADS=1); the machine may be shared: see "
    "machine.loadavg_1_5_15 and loadavg_at_end_1_5_15.",
)


@dataclass(frozen=True)
class Point:
    """One timed configuration (medians over the repeats, and each repeat's figure).

    Attributes:
        n_envs: networks stepped side by side.
        minibatch_size: samples per gradient step.
        updates: updates per repeat.
        env_steps_per_update: ``num_steps * n_envs``.
        grad_steps_per_update: gradient steps in one update.
        end_to_end_env_steps_per_s: median end-to-end throughput.
        rollout_env_steps_per_s: median throughput of the rollout phase alone.
        rollout_ms: median wall-clock of the rollout phase per update (ms).
        update_ms: median wall-clock of the gradient epochs per update (ms).
        update_fraction: median share of the wall-clock spent in the gradient epochs.
        env_only_env_steps_per_s: throughput of the env alone.
        repeat_end_to_end_env_steps_per_s: end-to-end throughput of every repeat.
        repeat_rollout_env_steps_per_s: rollout throughput of every repeat.
    """

    n_envs: int
    minibatch_size: int
    updates: int
    env_steps_per_update: int
    grad_steps_per_update: int
    end_to_end_env_steps_per_s: float
    rollout_env_steps_per_s: float
    rollout_ms: float
    update_ms: float
    update_fraction: float
    env_only_env_steps_per_s: float
    repeat_end_to_end_env_steps_per_s: list[float]
    repeat_rollout_env_steps_per_s: list[float]


def measure(
    n_envs: int, minibatch_size: int, updates: int, warmup: int, repeats: int, hidden: tuple[int, ...] | None = None
) -> Point:
    """Time ``repeats`` runs of ``updates`` PPO updates (after ``warmup``) on ``n_envs`` testbed-v0 networks.

    Args:
        n_envs: networks stepped side by side.
        minibatch_size: samples per gradient step.
        updates: timed updates per repeat.
        warmup: untimed updates first.
        repeats: timed runs.
        hidden: hidden layer sizes (None: ``PPOConfig``'s default).
    """
    cfg = PPOConfig(total_steps=10**9, minibatch_size=minibatch_size, checkpoint_every=10**9, seed=0)
    if hidden is not None:
        cfg.hidden = tuple(hidden)
    envs = SliceVectorEnv(n_envs, SCENARIO, seed=0)
    steps_per_update = cfg.num_steps * n_envs
    e2e: list[float] = []
    rollout: list[float] = []
    rollout_ms: list[float] = []
    update_ms: list[float] = []
    fractions: list[float] = []
    with tempfile.TemporaryDirectory() as run_dir:
        ppo = PPO(cfg, envs, run_dir)
        ppo.train(max_updates=warmup)
        for _ in range(repeats):
            t0 = time.perf_counter()
            rows = ppo.train(max_updates=updates).history[-updates:]
            wall = time.perf_counter() - t0
            learn_s = sum(row["time/learn_s"] for row in rows)  # the gradient epochs, timed by PPO itself
            steps = updates * steps_per_update
            e2e.append(steps / wall)
            rollout.append(steps / (wall - learn_s))
            rollout_ms.append(1e3 * (wall - learn_s) / updates)
            update_ms.append(1e3 * learn_s / updates)
            fractions.append(learn_s / wall)
    return Point(
        n_envs=n_envs,
        minibatch_size=minibatch_size,
        updates=updates,
        env_steps_per_update=steps_per_update,
        grad_steps_per_update=cfg.update_epochs * -(-steps_per_update // min(minibatch_size, steps_per_update)),
        end_to_end_env_steps_per_s=statistics.median(e2e),
        rollout_env_steps_per_s=statistics.median(rollout),
        rollout_ms=statistics.median(rollout_ms),
        update_ms=statistics.median(update_ms),
        update_fraction=statistics.median(fractions),
        env_only_env_steps_per_s=env_only(n_envs, updates * cfg.num_steps),
        repeat_end_to_end_env_steps_per_s=e2e,
        repeat_rollout_env_steps_per_s=rollout,
    )


def env_only(n_envs: int, steps: int) -> float:
    """Env steps per second of ``SliceVectorEnv.step`` under a constant action (after 24 warm-up steps)."""
    envs = SliceVectorEnv(n_envs, SCENARIO, seed=0)
    envs.reset(seed=0)
    shape = envs.single_action_space.shape
    assert shape is not None
    action = np.full((n_envs, int(np.prod(shape))), 0.3)
    for _ in range(24):
        envs.step(action)
    t0 = time.perf_counter()
    for _ in range(steps):
        envs.step(action)
    return steps * n_envs / (time.perf_counter() - t0)


def judge(points: list[Point]) -> dict[str, Any]:
    """The end-to-end target, for every configuration and overall."""
    worst = min(points, key=lambda p: p.end_to_end_env_steps_per_s)
    return {
        "target": f">= {TARGET_END_TO_END_ENV_STEPS_PER_S:,.0f} env-steps/s end to end, every configuration",
        "worst": {"n_envs": worst.n_envs, "minibatch_size": worst.minibatch_size},
        "value": round(worst.end_to_end_env_steps_per_s),
        "per_config": {
            f"n_envs={p.n_envs},minibatch={p.minibatch_size}": p.end_to_end_env_steps_per_s
            >= TARGET_END_TO_END_ENV_STEPS_PER_S
            for p in points
        },
        "pass": worst.end_to_end_env_steps_per_s >= TARGET_END_TO_END_ENV_STEPS_PER_S,
    }


def print_table(points: list[Point]) -> None:
    """Plain-text summary, one row per configuration."""
    head = (
        f"{'n_envs':>6} {'minibatch':>9} {'grad steps':>10} {'end-to-end/s':>13} {'rollout/s':>11} "
        f"{'env only/s':>11} {'rollout ms':>11} {'update ms':>10} {'update %':>9}"
    )
    print(head)
    print("-" * len(head))
    for p in points:
        print(
            f"{p.n_envs:6d} {p.minibatch_size:9d} {p.grad_steps_per_update:10d} {p.end_to_end_env_steps_per_s:13,.0f} "
            f"{p.rollout_env_steps_per_s:11,.0f} {p.env_only_env_steps_per_s:11,.0f} {p.rollout_ms:11.1f} "
            f"{p.update_ms:10.1f} {p.update_fraction:9.1%}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    ap = parser(__doc__, DEFAULT_OUT, quick_help="5 updates, 1 repeat per configuration")
    ap.add_argument("--updates", type=int, default=UPDATES, help="timed updates per repeat")
    ap.add_argument("--warmup", type=int, default=WARMUP_UPDATES, help="untimed updates first")
    ap.add_argument("--repeats", type=int, default=REPEATS)
    ap.add_argument("--n-envs", type=int, nargs="+", default=list(N_ENVS))
    ap.add_argument("--minibatch", type=int, nargs="+", default=list(MINIBATCH_SIZES))
    ap.add_argument("--hidden", type=int, nargs="+", default=None, help="hidden sizes (default: PPOConfig's)")
    args = ap.parse_args(argv)
    updates, repeats = (5, 1) if args.quick else (args.updates, args.repeats)
    hidden = None if args.hidden is None else tuple(args.hidden)
    ppo_config = asdict(PPOConfig())
    if hidden is not None:
        ppo_config["hidden"] = hidden
    torch.set_num_threads(1)
    machine = machine_info()  # before the runs: the load average then is the one that matters
    machine["torch"] = torch.__version__
    machine["torch_threads"] = torch.get_num_threads()
    t0 = time.perf_counter()
    points = []
    for n_envs in args.n_envs:
        for mb in args.minibatch:
            print(f"n_envs {n_envs}, minibatch {mb} ...", file=sys.stderr, flush=True)
            points.append(measure(n_envs, mb, updates, args.warmup, repeats, hidden))
    target = judge(points)
    report = {
        "benchmark": "train_throughput",
        "mode": "quick" if args.quick else "full",
        "machine": machine,
        "config": {
            "scenario": SCENARIO,
            "algorithm": "netslice.intelligence.agents.ppo.PPO",
            "ppo": {k: v for k, v in ppo_config.items() if k not in ("total_steps", "minibatch_size")},
            "n_envs": args.n_envs,
            "minibatch_sizes": args.minibatch,
            "updates_per_repeat": updates,
            "warmup_updates": args.warmup,
            "repeats": repeats,
            "statistic": "median over repeats",
            "simulator_backend": "fused" if fused.available() else "numpy",
        },
        "notes": NOTES,
        "target": target,
        "results": [asdict(p) for p in points],
        "pass": target["pass"],
        "elapsed_s": round(time.perf_counter() - t0, 1),
        "loadavg_at_end_1_5_15": loadavg(),
    }
    print_table(points)
    verdict = "PASS" if target["pass"] else "FAIL"
    print(f"\ntarget {target['target']}: worst {target['value']:,} env-steps/s  {verdict}")
    write_json(args.out, report)
    print(f"wrote {args.out} ({report['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
