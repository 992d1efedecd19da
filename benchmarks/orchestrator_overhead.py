"""Orchestrator overhead benchmark: ``Orchestrator.step`` next to the raw ``Simulator.step(validate=False)``.

Run from the repository root::

    python benchmarks/orchestrator_overhead.py [--quick] [--out benchmarks/results/orchestrator_overhead.json]

What it measures (everything on one thread, importing ``common`` sets the thread variables to 1): on testbed-v0 at
n_envs in {1, 64, 1024, 4096}, for each simulator backend (numpy, plus fused when numba is installed),

* **raw**: ``Simulator.step(action, validate=False)``, the simulator alone;
* **orchestrator**: ``Orchestrator.step(action)``, the full slot an agent goes through: action check,
  capacity enforcement, the four domain managers, the same simulator step, the RRM need update and SLA
  assurance (cost vector, statistics, threshold events);

and the ratio orchestrator / raw of their median times per step. The action is the scenario's initial
allocation broadcast to ``(n_envs, 7, 3)``, made once (valid and within capacity, so nothing is scaled);
both start from seed 0 and carry their state over from step to step, as in training.

Each pair: both steppers warm up (at least 3 steps and half the per-repeat time; numba compiles), the step
count whose run takes >= 0.5 s (0.2 s with --quick) is found by doubling for each, then 5 rounds in which
raw and orchestrator run their step counts one after the other (so that drift of the machine hits both);
the reported time per step is the median over the 5 repeats. Target: ratio < 2 on the batched fast path
(n_envs >= 1024), judged per backend.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import (
    MIN_TIME_S,
    QUICK_MIN_TIME_S,
    REPEATS,
    RESULTS_DIR,
    WARMUP_STEPS,
    calibrate,
    loadavg,
    machine_info,
    parser,
    time_calls,
    write_json,
)

# isort: split
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import numpy as np

from netslice.network import fused, scenarios
from netslice.network.simulator import Simulator
from netslice.orchestration.orchestrator import Orchestrator

SCENARIO = "testbed-v0"
N_ENVS: tuple[int, ...] = (1, 64, 1024, 4096)
#: Target: the orchestrator costs less than twice the raw simulator step on the batched fast path.
TARGET_RATIO = 2.0
TARGET_MIN_N_ENVS = 1024
DEFAULT_OUT = RESULTS_DIR / "orchestrator_overhead.json"

NOTES: tuple[str, ...] = (
    "raw = Simulator(params, n_envs, seed=0, backend).step(action, validate=False); orchestrator = "
    "Orchestrator.create('testbed-v0', n_envs, seed=0, backend).step(action) with every scenario slice "
    "provisioned and the default proportional capacity enforcer.",
    "ratio = median orchestrator time per step / median raw time per step; ratio_per_repeat pairs the two "
    "runs of each round.",
    "sla_violation_rate: the orchestrator's sla/violation_rate after the timed runs; threshold events are "
    "made in a Python loop over the (env, slice) pairs whose violation state changed, part of the overhead.",
    "the machine may be shared: see machine.loadavg_1_5_15 and loadavg_at_end_1_5_15.",
)

Step = Callable[[], object]


@dataclass(frozen=True)
class Timing:
    """Time per step of one stepper.

    Attributes:
        steps_per_repeat: steps timed in each repeat.
        repeat_step_us: time per step of each repeat (us).
        step_us: median over the repeats (us).
        env_steps_per_s: ``n_envs / step time``.
    """

    steps_per_repeat: int
    repeat_step_us: list[float]
    step_us: float
    env_steps_per_s: float


def measure(n_envs: int, backend: str, min_time_s: float) -> dict[str, Any]:
    """Raw and orchestrator time per step at ``n_envs`` envs, timed in alternating rounds."""
    params = scenarios.load(SCENARIO).params
    shape = (n_envs, *params.initial_allocation.shape)
    action = np.ascontiguousarray(np.broadcast_to(params.initial_allocation, shape))
    sim = Simulator(params, n_envs=n_envs, seed=0, backend=backend)
    orch = Orchestrator.create(SCENARIO, n_envs=n_envs, seed=0, backend=backend)
    steppers: dict[str, Step] = {
        "raw": lambda: sim.step(action, validate=False),
        "orchestrator": lambda: orch.step(action),
    }
    counts = {name: calibrate(partial(time_calls, step), min_time_s) for name, step in steppers.items()}
    per_step: dict[str, list[float]] = {name: [] for name in steppers}
    for _ in range(REPEATS):
        for name, step in steppers.items():
            per_step[name].append(time_calls(step, counts[name]) / counts[name])
    timings = {}
    for name, times in per_step.items():
        median = float(np.median(times))
        timings[name] = Timing(
            steps_per_repeat=counts[name],
            repeat_step_us=[round(t * 1e6, 3) for t in times],
            step_us=round(median * 1e6, 3),
            env_steps_per_s=round(n_envs / median, 1),
        )
    raw, orc = per_step["raw"], per_step["orchestrator"]
    return {
        "n_envs": n_envs,
        "raw": asdict(timings["raw"]),
        "orchestrator": asdict(timings["orchestrator"]),
        "overhead_us": round((float(np.median(orc)) - float(np.median(raw))) * 1e6, 3),
        "ratio": round(float(np.median(orc)) / float(np.median(raw)), 4),
        "ratio_per_repeat": [round(o / r, 4) for o, r in zip(orc, raw, strict=True)],
        "sla_violation_rate": round(orch.metrics()["sla/violation_rate"], 6),
    }


def judge(points: list[dict[str, Any]]) -> dict[str, Any]:
    """The target for one backend: the worst ratio over the batched points, and whether it passes."""
    batched = [p for p in points if p["n_envs"] >= TARGET_MIN_N_ENVS]
    worst = max(batched, key=lambda p: p["ratio"], default=None)
    return {
        "target": f"orchestrator / raw < {TARGET_RATIO:g} (n_envs >= {TARGET_MIN_N_ENVS})",
        "value": None if worst is None else worst["ratio"],
        "n_envs": None if worst is None else worst["n_envs"],
        "pass": worst is not None and worst["ratio"] < TARGET_RATIO,
    }


def print_table(results: dict[str, dict[str, Any]]) -> None:
    """Plain-text summary: one row per (backend, n_envs), then the verdicts."""
    head = (
        f"{'backend':8} {'n_envs':>7} | {'raw us/step':>12} {'orch us/step':>13} {'overhead us':>12} "
        f"{'ratio':>7} | {'raw env-steps/s':>16} {'orch env-steps/s':>17}"
    )
    print(head)
    print("-" * len(head))
    for backend, res in results.items():
        for p in res["points"]:
            raw, orc = p["raw"], p["orchestrator"]
            print(
                f"{backend:8} {p['n_envs']:7d} | {raw['step_us']:12,.1f} {orc['step_us']:13,.1f} "
                f"{p['overhead_us']:12,.1f} {p['ratio']:7.2f} | {raw['env_steps_per_s']:16,.0f} "
                f"{orc['env_steps_per_s']:17,.0f}"
            )
    print()
    for backend, res in results.items():
        t = res["target"]
        verdict = "PASS" if t["pass"] else "FAIL"
        print(f"target {backend:5} {t['target']:44} worst {t['value']!s:>7} (n_envs {t['n_envs']})  {verdict}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    args = parser(__doc__, DEFAULT_OUT, quick_help="time >= 0.2 s per repeat instead of >= 0.5 s").parse_args(argv)
    min_time_s = QUICK_MIN_TIME_S if args.quick else MIN_TIME_S
    backends = ["numpy", "fused"] if fused.available() else ["numpy"]  # every backend this machine has
    machine = machine_info()  # before the runs: the load average then is the one that matters
    t0 = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    for backend in backends:
        points = []
        for n_envs in N_ENVS:
            p = measure(n_envs, backend, min_time_s)
            progress = f"raw {p['raw']['step_us']:.1f} us, orchestrator {p['orchestrator']['step_us']:.1f} us"
            print(f"  {backend} n_envs={n_envs}: {progress}", file=sys.stderr, flush=True)
            points.append(p)
        results[backend] = {"points": points, "target": judge(points)}
    report = {
        "benchmark": "orchestrator_overhead",
        "mode": "quick" if args.quick else "full",
        "machine": machine,
        "config": {
            "scenario": SCENARIO,
            "n_envs": list(N_ENVS),
            "backends": backends,
            "min_time_per_repeat_s": min_time_s,
            "repeats": REPEATS,
            "statistic": "median over repeats of the time per step; raw and orchestrator alternate in each round",
            "warmup_steps": WARMUP_STEPS,
            "seed": 0,
            "action": "the scenario's initial allocation broadcast to (n_envs, 7, 3), made once",
        },
        "notes": NOTES,
        "target": f"orchestrator / raw < {TARGET_RATIO:g} on the batched fast path (n_envs >= {TARGET_MIN_N_ENVS})",
        "results": results,
        "pass": {b: results[b]["target"]["pass"] for b in backends},
        "elapsed_s": round(time.perf_counter() - t0, 1),
        "loadavg_at_end_1_5_15": loadavg(),
    }
    print_table(results)
    write_json(args.out, report)
    print(f"\nwrote {args.out} ({report['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
