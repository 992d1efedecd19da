"""The sim-to-real gap, measured: a policy run for a scenario day in simulation and on the emulated backend.

The emulated backend carries transport and edge on a real Linux data plane; RAN and core stay simulated.

Run from the repository root, as root, with the emulation extra (after `netslice train`, e.g. scripts/main.sh)::

    sudo .venv/bin/python benchmarks/emulation_sim_to_real.py --policy runs/main-testbed-v0 [--policy rule] \
        [--scenario testbed-v0] [--days 1] [--seed 1000] [--out ...]

For each policy, the same seed gives the same traffic in both runs (one network each); the emulated run carries
every slot's transport and edge traffic for ``window_s`` seconds of real time
(:class:`netslice.network.emulation.hybrid.HybridNetwork`). Reported per backend: mean usage, the fraction of
slots in which any slice violated its SLA, per-slice violation rates and mean latency, and on the emulated
backend the measured KPI fields. ``gap`` is emulated minus simulated.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, machine_info, parser, write_json

# isort: split
import time
from pathlib import Path
from typing import Any

import numpy as np

from netslice.intelligence.envs.features import Encoder, to_allocation
from netslice.intelligence.policies.base import ContextPolicy, ModelPolicy, allocation_for
from netslice.intelligence.run import make_policy
from netslice.network import scenarios
from netslice.network.scenarios import Scenario
from netslice.orchestration.objective import Objective
from netslice.orchestration.orchestrator import Orchestrator

DEFAULT_OUT = RESULTS_DIR / "emulation_sim_to_real.json"


def run_day(spec: str, scenario: Scenario, backend: str, days: int, seed: int) -> dict[str, Any]:
    """Run ``spec`` for ``days`` days of one network on ``backend``; usage, violations, latency per slice."""
    policy = make_policy(spec, scenario)
    encoder = Encoder.from_scenario(scenario)
    objective = Objective.create()
    orch = Orchestrator.create(scenario, n_envs=1, seed=seed, backend=backend)
    names = scenario.params.slice_names
    usage, violated, latency = [], [], []
    start = time.perf_counter()
    try:
        for day in range(days):
            if day > 0:
                orch.reset()
            for _ in range(scenario.spec.slots_per_episode):
                if isinstance(policy, ModelPolicy | ContextPolicy):
                    action = allocation_for(policy, orch)
                else:
                    action = to_allocation(policy.act(encoder.encode(orch.observation())), 1, len(names))
                result = orch.step(action)
                usage.append(float(objective.usage(result.usage)[0]))
                violated.append(result.cost[0] > 0.0)
                latency.append(result.kpis.latency_ms[0])
    finally:
        close = getattr(orch.sim, "close", None)
        if callable(close):
            close()  # the emulated data plane is removed here
    v = np.array(violated)
    return {
        "usage": float(np.mean(usage)),
        "violation_rate": float(v.any(axis=1).mean()),
        "violation_rate_per_slice": dict(zip(names, v.mean(axis=0).tolist(), strict=True)),
        "latency_ms_mean": dict(zip(names, np.mean(latency, axis=0).tolist(), strict=True)),
        "slots": len(usage),
        "wall_s": time.perf_counter() - start,
    }


def main() -> None:
    """Run every policy on both backends and write the JSON."""
    p = parser(__doc__, DEFAULT_OUT)
    p.add_argument("--policy", action="append", required=True, help="policy spec (as `netslice evaluate`)")
    p.add_argument("--scenario", default="testbed-v0")
    p.add_argument("--days", type=int, default=1)
    p.add_argument("--seed", type=int, default=1000)
    args = p.parse_args()
    machine = machine_info()
    sc = scenarios.load(args.scenario)
    rows: dict[str, Any] = {}
    for spec in args.policy:
        sim = run_day(spec, sc, "auto", args.days, args.seed)
        emu = run_day(spec, sc, "emulated", args.days, args.seed)
        rows[spec] = {
            "simulated": sim,
            "emulated": emu,
            "gap": {
                "usage": emu["usage"] - sim["usage"],
                "violation_rate": emu["violation_rate"] - sim["violation_rate"],
            },
        }
        print(f"{spec}: simulated usage {sim['usage']:.4f}, violations {100 * sim['violation_rate']:.1f} % | "
              f"emulated usage {emu['usage']:.4f}, violations {100 * emu['violation_rate']:.1f} % "
              f"({emu['wall_s']:.0f} s)", flush=True)  # fmt: skip
    write_json(
        Path(args.out),
        {
            "benchmark": "emulation_sim_to_real",
            "scenario": sc.name,
            "days": args.days,
            "seed": args.seed,
            "measured_fields": ["tn_ms", "edge_ms", "latency_ms", "latency_tail_ms", "thp_dl_kbps", "reliability"],
            "policies": rows,
            "machine": machine,
        },
    )
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
