"""Slices that come and go (metro-dynamic-v0): the per-slice agent against the forecast planner, on the same traces.

Run from the repository root (no other heavy process on the machine)::

    python benchmarks/per_slice_agents.py --policy forecast --policy rule --policy per-slice:runs/per-slice \
        [--concurrent 5 8] [--days 4] [--n-envs 16] [--seed 1000] [--out ...]

For each ``--concurrent`` value the scenario's ``max_concurrent`` is set to it (the request rate scaled so that
the mean number of live slices grows with it: ``rate = concurrent * 0.1`` per hour at the 8 h mean lifetime), and
every policy runs on the same traces (same seed: same requests, same admissions, same traffic) with
:func:`netslice.intelligence.dynamic_eval.evaluate_dynamic`: the violation rate over live slice-slots, usage,
the share of admissions whose SLA is met within 3 slots, and the request process's counts.
The bar is the forecast planner (``forecast``), which forecasts the coming slot's traffic and channel from the
slots already played; ``forecast::known-channel`` is the planner that reads the coming slot's shadowing
(clairvoyant on the channel; the bar of the results measured before that change).
The issue's targets: the per-slice agent, trained once (with at most 5 live slices), keeps the violation rate
<= 1 % over admitted slices, uses <= 1.10x the forecast planner's usage on the same traces, a newly admitted
slice meets its SLA within <= 3 slots in >= 95 % of admissions, and the same holds with 8 live slices.
Results: ``benchmarks/results/per_slice_agents.json`` (``usage_vs_forecast`` per policy and setting).
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, machine_info, parser, write_json

# isort: split
import time
from pathlib import Path
from typing import Any

from netslice.intelligence.dynamic_eval import evaluate_dynamic
from netslice.intelligence.run import make_policy
from netslice.network import scenarios

DEFAULT_OUT = RESULTS_DIR / "per_slice_agents.json"
#: Requests per hour per allowed concurrent slice (8 h mean lifetime: 0.8 requests live per allowed slice).
RATE_PER_SLICE = 0.1


def main() -> None:
    """Evaluate the policies side by side for every concurrency setting and write the JSON."""
    p = parser(__doc__, DEFAULT_OUT)
    p.add_argument("--policy", action="append", required=True, help="policy spec (as `netslice evaluate`)")
    p.add_argument("--concurrent", type=int, nargs="+", default=[5, 8])
    p.add_argument("--days", type=int, default=4)
    p.add_argument("--n-envs", type=int, default=16)
    p.add_argument("--seed", type=int, default=1000)
    args = p.parse_args()
    base = scenarios.load("metro-dynamic-v0")
    machine = machine_info()
    settings: dict[str, Any] = {}
    for concurrent in args.concurrent:
        sc = scenarios.with_arrivals(base, max_concurrent=concurrent, rate_per_hour=RATE_PER_SLICE * concurrent)
        rows: dict[str, Any] = {}
        for spec in args.policy:
            start = time.perf_counter()
            result = evaluate_dynamic(
                make_policy(spec, sc), sc, days=args.days, n_envs=args.n_envs, seed=args.seed
            ).as_dict()
            result["wall_s"] = time.perf_counter() - start
            rows[spec] = result
            line = (
                f"concurrent {concurrent} {spec}: usage {result['usage']:.4f}, "
                f"violations {100 * result['violation_rate']:.3f} %, ready {100 * result['ready_rate']:.1f} %, "
                f"live {result['live_mean']:.2f} (max {result['live_max']}), {result['wall_s']:.0f} s"
            )
            print(line, flush=True)
        forecast = next((r for s, r in rows.items() if s.startswith("forecast")), None)
        if forecast is not None:
            for r in rows.values():
                r["usage_vs_forecast"] = r["usage"] / forecast["usage"]
        settings[str(concurrent)] = {"rate_per_hour": RATE_PER_SLICE * concurrent, "policies": rows}
    write_json(
        Path(args.out),
        {
            "benchmark": "per_slice_agents",
            "scenario": base.name,
            "days": args.days,
            "n_envs": args.n_envs,
            "seed": args.seed,
            "settings": settings,
            "machine": machine,
        },
    )
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
