"""Single-env step cost, layer by layer: the kernel, the simulator, the orchestrator, the env, ``gymnasium.make``.

Run from the repository root::

    python benchmarks/single_env.py [--quick] [--out benchmarks/results/single_env.json]

What it measures (one thread, importing ``common`` sets the thread variables to 1), side by side in one run on
testbed-v0 with the fused backend when numba is installed (else numpy):

* **kernel**: ``fused_kernel.step_envs`` alone on preallocated arrays and fixed random draws (fused only);
* **simulator**: ``Simulator(n_envs=1).step(action, validate=False)``;
* **orchestrator**: ``Orchestrator.create(n_envs=1, events=False).step(action)`` (what an env drives);
* **env**: ``SliceEnv(slots_per_episode=None, reward="penalized").step(flat)`` called directly;
* **gym_make**: ``gymnasium.make("netslice/Slicing-v0")`` (TimeLimit 24, OrderEnforcing,
  PassiveEnvChecker) ``.step(flat)``, with ``reset()`` whenever the episode is truncated (1 reset per 24
  steps, as in a training loop);
* **vector_<n>**: ``SliceVectorEnv(n, reward="penalized")`` (SAME_STEP autoreset every 24 slots) at
  n = 128 and 1024, reported per env-step.

Every stepper starts from seed 0 and steps under the scenario's initial allocation (valid, within capacity),
made once. Timing: each stepper warms up, then finds the step count whose run takes >= 0.5 s (0.2 s with
``--quick``); then 5 rounds in which every stepper runs its count once, one after the other, so that drift
of the machine hits all rows alike; the reported time is the median over the rounds. Target: >= 10,000
steps/s for ``gym_make``.
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
from functools import partial
from typing import Any

import gymnasium
import numpy as np

import netslice.intelligence.envs  # noqa: F401  (registers netslice/Slicing-v0)
from netslice.intelligence.envs.single import SliceEnv
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.network import fused, fused_kernel, scenarios
from netslice.network.fused import StateArrays
from netslice.network.simulator import Simulator
from netslice.orchestration.orchestrator import Orchestrator

SCENARIO = "testbed-v0"
VECTOR_N_ENVS: tuple[int, ...] = (128, 1024)
#: Target: steps per second of one env made by ``gymnasium.make``.
TARGET_STEPS_PER_S = 10_000.0
DEFAULT_OUT = RESULTS_DIR / "single_env.json"

Step = Callable[[], object]

NOTES: tuple[str, ...] = (
    "kernel: fused_kernel.step_envs on preallocated state/KPI arrays with one fixed set of random draws, "
    "re-run on the same input state (the compiled loop alone, no allocation, no random draws).",
    "gym_make includes one reset() per 24 steps (its TimeLimit truncates; the loop resets), as training does; "
    "env (SliceEnv direct, slots_per_episode=None) never resets.",
    "vector rows: SAME_STEP autoreset every 24 slots; time per env-step = time per batched step / n_envs.",
    "the machine may be shared: see machine.loadavg_1_5_15 and loadavg_at_end_1_5_15.",
)


def kernel_step(backend: str) -> Step | None:
    """The compiled kernel alone on fixed inputs (``None`` without the fused backend)."""
    if backend != "fused":
        return None
    params = scenarios.load(SCENARIO).params
    sim = Simulator(params, n_envs=1, seed=0, backend="fused")
    packed = fused.pack(params)  # what the fused Simulator packs for itself
    s = fused.state_arrays(sim.state)
    rng = np.random.default_rng(0)
    z_noise, u_burst = rng.standard_normal(s.load.shape), rng.random(s.load.shape)
    z_shadow = rng.standard_normal(s.shadow.shape)
    ns = StateArrays._make(np.empty_like(a) for a in s)
    out = fused.kpi_arrays(1, s.load.shape[1])
    alloc = np.ascontiguousarray(s.alloc)
    return lambda: fused_kernel.step_envs(packed, s, alloc, z_noise, u_burst, z_shadow, ns, out)


def _vector_step(venv: SliceVectorEnv, batch: np.ndarray) -> Step:
    return lambda: venv.step(batch)


def steppers(backend: str) -> dict[str, tuple[int, Step]]:
    """Every row: ``name -> (env-steps per call, step callable)``."""
    params = scenarios.load(SCENARIO).params
    action = params.initial_allocation[None].copy()
    flat = params.initial_allocation.reshape(-1).astype(np.float32)
    out: dict[str, tuple[int, Step]] = {}
    kernel = kernel_step(backend)
    if kernel is not None:
        out["kernel"] = (1, kernel)
    sim = Simulator(params, n_envs=1, seed=0, backend=backend)
    out["simulator"] = (1, lambda: sim.step(action, validate=False))
    orch = Orchestrator.create(SCENARIO, n_envs=1, seed=0, backend=backend, events=False)
    out["orchestrator"] = (1, lambda: orch.step(action))
    env = SliceEnv(SCENARIO, seed=0, backend=backend, reward="penalized", slots_per_episode=None)
    env.reset(seed=0)
    out["env"] = (1, lambda: env.step(flat))
    made = gymnasium.make("netslice/Slicing-v0", backend=backend)
    made.reset(seed=0)

    def made_step() -> None:
        if made.step(flat)[3]:
            made.reset()

    out["gym_make"] = (1, made_step)
    for n in VECTOR_N_ENVS:
        venv = SliceVectorEnv(n, SCENARIO, seed=0, backend=backend, reward="penalized")
        venv.reset(seed=0)
        batch = np.ascontiguousarray(np.broadcast_to(flat, (n, flat.size)))
        out[f"vector_{n}"] = (n, _vector_step(venv, batch))
    return out


def measure(backend: str, min_time_s: float) -> dict[str, dict[str, Any]]:
    """Time every row in alternating rounds; per row the median time per env-step."""
    rows = steppers(backend)
    counts = {}
    for name, (_, step) in rows.items():
        counts[name] = calibrate(partial(time_calls, step), min_time_s)
        print(f"  calibrated {name}: {counts[name]} calls", file=sys.stderr, flush=True)
    per_call: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(REPEATS):
        for name, (_, step) in rows.items():
            per_call[name].append(time_calls(step, counts[name]) / counts[name])
    out = {}
    for name, (n_envs, _) in rows.items():
        median = float(np.median(per_call[name]))
        out[name] = {
            "n_envs": n_envs,
            "calls_per_repeat": counts[name],
            "repeat_call_us": [round(t * 1e6, 3) for t in per_call[name]],
            "call_us": round(median * 1e6, 3),
            "env_step_us": round(median * 1e6 / n_envs, 4),
            "env_steps_per_s": round(n_envs / median, 1),
        }
    return out


def x_simulator(rows: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Each row's time per env-step over the simulator's (the load-independent figure of the side-by-side run)."""
    base = rows["simulator"]["env_step_us"]
    return {name: round(r["env_step_us"] / base, 3) for name, r in rows.items()}


def print_table(rows: dict[str, dict[str, Any]]) -> None:
    """Plain-text summary, one line per row."""
    base = rows.get("simulator", {}).get("env_step_us")
    head = f"{'row':14} {'n_envs':>7} | {'us/call':>10} {'us/env-step':>12} {'env-steps/s':>13} {'x simulator':>12}"
    print(head)
    print("-" * len(head))
    for name, r in rows.items():
        ratio = r["env_step_us"] / base if base else float("nan")
        print(f"{name:14} {r['n_envs']:7d} | {r['call_us']:10,.1f} {r['env_step_us']:12,.2f} "
              f"{r['env_steps_per_s']:13,.0f} {ratio:12.2f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    args = parser(__doc__, DEFAULT_OUT, quick_help="time >= 0.2 s per repeat instead of >= 0.5 s").parse_args(argv)
    min_time_s = QUICK_MIN_TIME_S if args.quick else MIN_TIME_S
    backend = "fused" if fused.available() else "numpy"
    machine = machine_info()
    t0 = time.perf_counter()
    rows = measure(backend, min_time_s)
    made = rows["gym_make"]["env_steps_per_s"]
    report = {
        "benchmark": "single_env",
        "mode": "quick" if args.quick else "full",
        "machine": machine,
        "config": {
            "scenario": SCENARIO,
            "backend": backend,
            "vector_n_envs": list(VECTOR_N_ENVS),
            "min_time_per_repeat_s": min_time_s,
            "repeats": REPEATS,
            "warmup_steps": WARMUP_STEPS,
            "statistic": "median over repeats of the time per call; every row runs once per round",
            "seed": 0,
            "action": "the scenario's initial allocation (flat float32 for the envs), made once",
        },
        "notes": NOTES,
        "target": f"gym_make >= {TARGET_STEPS_PER_S:,.0f} steps/s",
        "results": rows,
        "x_simulator": x_simulator(rows),
        "pass": made >= TARGET_STEPS_PER_S,
        "elapsed_s": round(time.perf_counter() - t0, 1),
        "loadavg_at_end_1_5_15": loadavg(),
    }
    print_table(rows)
    verdict = "PASS" if report["pass"] else "FAIL"
    print(f"\ntarget {report['target']}: {made:,.0f} steps/s  {verdict}")
    write_json(args.out, report)
    print(f"wrote {args.out} ({report['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
