"""Simulator throughput benchmark: env-steps/s of the pure ``simulator.step`` on every registered scenario.

Run from the repository root::

    python benchmarks/sim_throughput.py [--quick] [--out benchmarks/results/sim_throughput.json]

What it measures (everything on one thread, importing ``common`` sets the thread variables to 1):

* **throughput**: env-steps/s of ``simulator.step(params, state, allocation, rng)`` for every registered
  scenario at n_envs in {1, 64, 1024} (city-v0: {1, 8, 64}, its 1000 cells make 1024 envs a memory test
  rather than a throughput one), plus testbed-v0 at 4096 and 16384. The allocation is the scenario's
  initial allocation broadcast to every env, made once; the generator is one ``np.random.default_rng(0)``;
  the state carries over from step to step, as in training.
* **single-env step time** (us) of every scenario (the n_envs = 1 points).
* **scaling**: the n_envs = 1 step time of city-v0 variants with 10 ... 3000 cells, and a least-squares fit
  time = a + b * cells * slices with its R^2 (linear growth means R^2 close to 1).

Each point: a few warm-up steps, then the number of steps that takes >= 0.5 s (0.2 s with --quick) is
found by doubling, then 5 repeats of that many steps; the reported time per step is the median of the
5 repeats. With numba installed, the fused backend (``netslice.network.fused``, what ``Simulator`` uses by
default) is measured too, as a second column; the targets are judged for each backend.
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
    write_json,
)

# isort: split
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from netslice.network import fused, scenarios
from netslice.network.kernel import Kpis, SimParams, SimState, reset, step
from netslice.network.scenarios.builder import build_params

FloatArray = NDArray[np.float64]
Stepper = Callable[[SimState, FloatArray, np.random.Generator], tuple[SimState, Kpis]]

#: n_envs per scenario; scenarios not listed use DEFAULT_N_ENVS.
DEFAULT_N_ENVS: tuple[int, ...] = (1, 64, 1024)
N_ENVS: dict[str, tuple[int, ...]] = {
    "testbed-v0": (1, 64, 1024, 4096, 16384),
    "city-v0": (1, 8, 64),
}
#: Cell counts of the generated city-v0 variants of the scaling curve (n_envs = 1).
SCALING_CELLS: tuple[int, ...] = (10, 30, 100, 300, 1000, 3000)
SCALING_BASE = "city-v0"

NOTES: tuple[str, ...] = (
    (
        "numpy = netslice.network.kernel.step (the pure array program); fused = "
        "netslice.network.fused.fused_step (numba kernel, what Simulator(backend='auto') uses when numba "
        "is installed)."
    ),
    (
        "city-v0 is timed at n_envs in {1, 8, 64} only: with 1000 cells x 10 slices one env already "
        "holds 20k elements per (direction, cell, slice) array, so 1024 envs would measure memory "
        "traffic (GBs of temporaries per step), not the step."
    ),
    (
        "scaling variants: city-v0 with ran.cells.count changed; edge links that named aggregation nodes "
        "beyond the generated tree are moved to the last one."
    ),
    "env-steps/s = n_envs / (median time per step); one thread (OMP/OPENBLAS/MKL_NUM_THREADS=1).",
    "the machine may be shared: see machine.loadavg_1_5_15 and loadavg_at_end_1_5_15.",
)

#: Targets: testbed batched throughput, single-env step time, one city step (n_envs = 1).
TARGET_TESTBED_BATCHED_ENV_STEPS_PER_S = 1e6
TARGET_SINGLE_ENV_STEP_US = 50.0
TARGET_CITY_STEP_MS = 20.0
TESTBED = "testbed-v0"
CITY = "city-v0"
DEFAULT_OUT = RESULTS_DIR / "sim_throughput.json"


@dataclass(frozen=True)
class Point:
    """One timed configuration.

    Attributes:
        scenario: scenario name.
        backend: ``"numpy"`` (``simulator.step``) or ``"fused"`` (``fused.fused_step``).
        n_envs: batch size.
        n_cells: cells of the scenario.
        n_slices: slices of the scenario.
        steps_per_repeat: steps timed in each repeat.
        repeat_step_us: time per step of each repeat (us).
        step_us: median over the repeats of the time per step (us).
        env_steps_per_s: ``n_envs / step time``.
    """

    scenario: str
    backend: str
    n_envs: int
    n_cells: int
    n_slices: int
    steps_per_repeat: int
    repeat_step_us: list[float]
    step_us: float
    env_steps_per_s: float


def make_stepper(params: SimParams, backend: str) -> Stepper:
    """Return the step function of a backend, bound to a scenario's parameters."""
    if backend == "numpy":
        return lambda state, alloc, rng: step(params, state, alloc, rng)
    if backend == "fused":
        packed = fused.pack(params)
        return lambda state, alloc, rng: fused.fused_step(packed, state, alloc, rng)
    raise ValueError(f"backend: must be 'numpy' or 'fused', got {backend!r}")


def measure(params: SimParams, n_envs: int, backend: str, min_time_s: float, scenario: str | None = None) -> Point:
    """Time ``n_envs`` envs of a scenario stepping under its initial allocation.

    Warm-up first (at least :data:`WARMUP_STEPS` steps and ``min_time_s / 2`` seconds), then the step count
    whose run takes at least ``min_time_s`` is found by doubling, then :data:`REPEATS` runs of that many
    steps are timed.
    """
    stepper = make_stepper(params, backend)
    rng = np.random.default_rng(0)
    state = reset(params, n_envs, rng)
    shape = (n_envs, *params.initial_allocation.shape)
    alloc = np.ascontiguousarray(np.broadcast_to(params.initial_allocation, shape))

    def run(n: int) -> float:
        nonlocal state
        t0 = time.perf_counter()
        for _ in range(n):
            state, _kpis = stepper(state, alloc, rng)
        return time.perf_counter() - t0

    n = calibrate(run, min_time_s)
    per_step = [run(n) / n for _ in range(REPEATS)]
    median = float(np.median(per_step))
    return Point(
        scenario=scenario or params.name,
        backend=backend,
        n_envs=n_envs,
        n_cells=params.n_cells,
        n_slices=params.n_slices,
        steps_per_repeat=n,
        repeat_step_us=[round(t * 1e6, 3) for t in per_step],
        step_us=round(median * 1e6, 3),
        env_steps_per_s=round(n_envs / median, 1),
    )


def city_variant(count: int) -> SimParams:
    """Build city-v0 with ``count`` cells (edge links moved onto aggregation nodes the tree still has)."""
    data = yaml.safe_load((scenarios.SCENARIO_DIR / f"{SCALING_BASE}.yaml").read_text())
    data["name"] = f"city-c{count}-v0"
    cells = data["ran"]["cells"]
    cells["count"] = count
    tree = data["transport"]["tree"]
    n_sites = -(-count // cells["cells_per_site"])
    n_access = -(-n_sites // tree["sites_per_access"])
    n_agg = -(-n_access // tree["access_per_aggregation"])
    for link in data["transport"]["links"]:
        for end in ("a", "b"):
            node = link[end]
            if node.startswith("agg") and node[3:].isdigit():
                link[end] = f"agg{min(int(node[3:]), n_agg - 1)}"
    return build_params(scenarios.parse(data, source=data["name"]))


def linear_fit(x: FloatArray, y: FloatArray) -> dict[str, float]:
    """Least-squares fit y = a + b x and its coefficient of determination R^2."""
    design = np.stack([np.ones_like(x), x], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - (a + b * x)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else 1.0
    return {"a_us": float(a), "b_us_per_cell_slice": float(b), "r2": r2}


def judge(points: list[Point], scaling: list[Point]) -> dict[str, Any]:
    """Each target with its value, the configuration it was read from, and whether it passes."""
    testbed_batched = [p for p in points if p.scenario == TESTBED and p.n_envs > 1]
    best = max(testbed_batched, key=lambda p: p.env_steps_per_s, default=None)
    single = next((p for p in points if p.scenario == TESTBED and p.n_envs == 1), None)
    city = next((p for p in points if p.scenario == CITY and p.n_envs == 1), None)
    if city is None:
        city = next((p for p in scaling if p.n_cells == 1000), None)
    return {
        "testbed_batched_env_steps_per_s": {
            "target": f">= {TARGET_TESTBED_BATCHED_ENV_STEPS_PER_S:.0e}",
            "value": None if best is None else best.env_steps_per_s,
            "n_envs": None if best is None else best.n_envs,
            "pass": best is not None and best.env_steps_per_s >= TARGET_TESTBED_BATCHED_ENV_STEPS_PER_S,
        },
        "single_env_step_us": {
            "target": f"< {TARGET_SINGLE_ENV_STEP_US:g} (testbed-v0, n_envs = 1)",
            "value": None if single is None else single.step_us,
            "pass": single is not None and single.step_us < TARGET_SINGLE_ENV_STEP_US,
        },
        "city_step_ms": {
            "target": f"< {TARGET_CITY_STEP_MS:g} (city-v0, 1000 cells, n_envs = 1)",
            "value": None if city is None else round(city.step_us / 1e3, 4),
            "pass": city is not None and city.step_us / 1e3 < TARGET_CITY_STEP_MS,
        },
    }


def run_backend(backend: str, min_time_s: float, log: Callable[[str], None]) -> dict[str, Any]:
    """Every throughput point and the scaling curve for one backend."""
    points: list[Point] = []
    for name in scenarios.available():
        params = scenarios.load(name).params
        for n_envs in N_ENVS.get(name, DEFAULT_N_ENVS):
            p = measure(params, n_envs, backend, min_time_s)
            rate = f"{p.env_steps_per_s:14,.0f} env-steps/s"
            log(f"  {backend:5} {name:12} n_envs={n_envs:<6} {p.step_us:12.1f} us/step {rate}")
            points.append(p)
    scaling: list[Point] = []
    for count in SCALING_CELLS:
        params = city_variant(count)
        p = measure(params, 1, backend, min_time_s, scenario=params.name)
        log(f"  {backend:5} {params.name:12} cells={count:<6}  {p.step_us:12.1f} us/step")
        scaling.append(p)
    x = np.array([p.n_cells * p.n_slices for p in scaling], dtype=np.float64)
    y = np.array([p.step_us for p in scaling], dtype=np.float64)
    fit = {"model": "step_us = a + b * cells * slices", **linear_fit(x, y)}
    return {
        "throughput": [asdict(p) for p in points],
        "single_env_step_us": {p.scenario: p.step_us for p in points if p.n_envs == 1},
        "scaling": {
            "base": SCALING_BASE,
            "n_envs": 1,
            "points": [
                {
                    "scenario": p.scenario,
                    "cells": p.n_cells,
                    "slices": p.n_slices,
                    "step_us": p.step_us,
                    "repeat_step_us": p.repeat_step_us,
                }
                for p in scaling
            ],
            "fit": fit,
        },
        "targets": judge(points, scaling),
    }


def print_table(results: dict[str, dict[str, Any]]) -> None:
    """Plain-text summary: one row per throughput point, then the scaling curve and the targets."""
    backends = list(results)
    rows = {(r["scenario"], r["n_envs"]): r for r in results[backends[0]]["throughput"]}
    by_backend = {b: {(r["scenario"], r["n_envs"]): r for r in results[b]["throughput"]} for b in backends}
    head = f"{'scenario':12} {'cells':>6} {'slices':>6} {'n_envs':>7}"
    for b in backends:
        head += f" | {b + ' us/step':>16} {b + ' env-steps/s':>20}"
    print(head)
    print("-" * len(head))
    for key, r in rows.items():
        line = f"{key[0]:12} {r['n_cells']:6d} {r['n_slices']:6d} {key[1]:7d}"
        for b in backends:
            rb = by_backend[b][key]
            line += f" | {rb['step_us']:16,.1f} {rb['env_steps_per_s']:20,.0f}"
        print(line)
    print()
    print(f"scaling ({SCALING_BASE} variants, n_envs = 1): step time (us) vs cells")
    head = f"{'cells':>6} {'cells*slices':>12}" + "".join(f" {b + ' us':>14}" for b in backends)
    print(head)
    print("-" * len(head))
    pts = {b: results[b]["scaling"]["points"] for b in backends}
    for i, p in enumerate(pts[backends[0]]):
        times = "".join(f" {pts[b][i]['step_us']:14,.1f}" for b in backends)
        print(f"{p['cells']:6d} {p['cells'] * p['slices']:12d}{times}")
    for b in backends:
        f = results[b]["scaling"]["fit"]
        line = f"step_us = {f['a_us']:.1f} + {f['b_us_per_cell_slice']:.4f} * cells * slices"
        print(f"fit {b}: {line}, R^2 = {f['r2']:.4f}")
    print()
    for b in backends:
        for name, t in results[b]["targets"].items():
            verdict = "PASS" if t["pass"] else "FAIL"
            print(f"target {b:5} {name:32} {t['target']:40} value {t['value']!s:>14}  {verdict}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    ap = parser(__doc__, DEFAULT_OUT, quick_help="time >= 0.2 s per point instead of >= 0.5 s")
    ap.add_argument(
        "--backend", choices=("auto", "numpy", "fused"), default="auto",
        help="'auto': numpy, plus fused when numba is installed",
    )  # fmt: skip
    args = ap.parse_args(argv)
    min_time_s = QUICK_MIN_TIME_S if args.quick else MIN_TIME_S
    if args.backend == "auto":
        backends = ["numpy", "fused"] if fused.available() else ["numpy"]
    elif args.backend == "fused" and not fused.available():
        ap.error("--backend fused needs numba")
    else:
        backends = [args.backend]

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    machine = machine_info()  # before the runs: the load average then is the one that matters
    t0 = time.perf_counter()
    results = {}
    for backend in backends:
        log(f"backend {backend}:")
        results[backend] = run_backend(backend, min_time_s, log)
    report = {
        "benchmark": "sim_throughput",
        "mode": "quick" if args.quick else "full",
        "machine": machine,
        "config": {
            "min_time_per_repeat_s": min_time_s,
            "repeats": REPEATS,
            "statistic": "median over repeats of the time per step",
            "warmup_steps": WARMUP_STEPS,
            "rng": "one np.random.default_rng(0) per point",
            "allocation": "the scenario's initial allocation broadcast to (n_envs, 7, n_slices), made once",
            "n_envs": {name: list(N_ENVS.get(name, DEFAULT_N_ENVS)) for name in scenarios.available()},
            "scaling_cells": list(SCALING_CELLS),
            "backends": backends,
        },
        "notes": NOTES,
        "targets": {
            "testbed_batched_env_steps_per_s": (f">= {TARGET_TESTBED_BATCHED_ENV_STEPS_PER_S:.0e} (best n_envs > 1)"),
            "single_env_step_us": f"< {TARGET_SINGLE_ENV_STEP_US:g} (testbed-v0)",
            "city_step_ms": f"< {TARGET_CITY_STEP_MS:g} (city-v0, n_envs = 1)",
        },
        "results": results,
        "pass": {b: {name: t["pass"] for name, t in results[b]["targets"].items()} for b in backends},
        "elapsed_s": round(time.perf_counter() - t0, 1),
        "loadavg_at_end_1_5_15": loadavg(),
    }
    print_table(results)
    write_json(args.out, report)
    print(f"\nwrote {args.out} ({report['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
