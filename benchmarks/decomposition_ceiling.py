"""How much any adaptive SLA decomposition can save against the fixed split, on metro-v0: the planners' bound.

The per-domain agents (``benchmarks/domain_agents.py``) keep each group's latency within its budget. The fixed
split keeps the nominal budgets; the adaptive decomposition moves budget between groups, and at best reaches the
split the joint optimum realises. The same planner run both ways bounds the gain:

- ``oracle`` (clairvoyant, end-to-end SLA) against ``oracle:split`` (every group held to its fixed budget, the
  other SLA terms end to end: :class:`~netslice.intelligence.policies.split_oracle.SplitJudge`);
- ``forecast`` (the causal planner) against ``forecast:split`` (the same search, the same judge);
- ``oracle:split-equal``: the fixed split with each domain a quarter (the ``*-equal`` configurations).

``ceiling/<planner>`` is ``1 - usage(<planner>) / usage(<planner>:split)``: the most that rebalancing the budgets
saves against the fixed split at that planner's information. The learned agents' figures are read from
``results/domain_agents.json`` (seed means) and put beside the planners' as ratios. ``split``: each latency
slice's group latencies (ms) that the oracle realises (one day x 8 networks of the first seed), against the design
split's budgets and the adaptive agents' final budgets. Each (policy, seed) runs in
its own process (``--jobs`` at once), on the per-domain benchmark's evaluation networks (``--eval-days`` days x
``--eval-envs`` networks, seed 1000 + S). Writes ``benchmarks/results/decomposition_ceiling.json``.

Usage: ``python benchmarks/decomposition_ceiling.py --seeds 0 1 2 --jobs 2``.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, machine_info, write_json

# isort: split
import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

RESULT = RESULTS_DIR / "decomposition_ceiling.json"
AGENTS = RESULTS_DIR / "domain_agents.json"
SCENARIO = "metro-v0"
POLICIES = ("oracle", "oracle:split", "oracle:split-equal", "forecast", "forecast:split")
#: Each planner and its fixed-split counterpart.
PAIRS = {"oracle": "oracle:split", "forecast": "forecast:split"}


def build(policy: str) -> Any:
    """The planner named ``policy`` (``forecast:split``: the forecast planner's search held to the split)."""
    from netslice.intelligence.policies.forecast import ForecastPlanner
    from netslice.intelligence.policies.split_oracle import split_oracle
    from netslice.intelligence.run import make_policy
    from netslice.network.scenarios import load

    sc = load(SCENARIO)
    if policy == "forecast:split":
        return replace(ForecastPlanner.create(), oracle=split_oracle(sc))
    return make_policy(policy, sc)


def run(policy: str, seed: int, days: int, n_envs: int) -> dict[str, Any]:
    """Evaluate one planner on the evaluation networks of ``seed`` (a process of its own)."""
    from netslice.intelligence.evaluate import evaluate
    from netslice.network.allocation import DOMAINS

    t0 = time.perf_counter()
    res = evaluate(build(policy), policy, SCENARIO, days=days, n_envs=n_envs, seed=1000 + seed)
    summary = res.summary()
    return {"usage": summary["usage/mean"], "violation_rate": summary["sla/violation_rate"],
            "usage_by_domain": {d: summary[f"usage/{d}"] for d in DOMAINS},
            "per_slice": {k.rsplit("/", 1)[1]: v for k, v in summary.items() if k.startswith("sla/violation_rate/")},
            "eval_s": time.perf_counter() - t0}  # fmt: skip


def realised_split(seed: int, days: int, n_envs: int) -> dict[str, dict[str, dict[str, float]]]:
    """Mean latency (ms) of each group per latency slice: the design split's budgets and the oracle's own split.

    The oracle (end to end) is played on the evaluation networks of ``seed``; the split its allocations realise is
    the one the adaptive decomposition would have to find.
    """
    import numpy as np

    from netslice.intelligence.decomposition import GROUPS, E2eRequirement, group_latency
    from netslice.intelligence.policies.oracle import Oracle
    from netslice.intelligence.policies.split_oracle import SplitJudge
    from netslice.network.scenarios import load
    from netslice.orchestration.orchestrator import Orchestrator

    sc = load(SCENARIO)
    requirement = E2eRequirement.from_scenario(sc)
    orch = Orchestrator.create(sc, n_envs=n_envs, seed=1000 + seed)
    oracle = Oracle.create()
    observed = []
    for _ in range(days * sc.spec.slots_per_episode):
        observed.append(group_latency(orch.step(oracle.plan(orch.planning_model())).kpis, requirement))
    realised = np.concatenate(observed).mean(axis=0)  # (K, G)
    design = SplitJudge.create(sc).decomposer.fixed_budgets_ms
    names = [s.name for s in sc.spec.slices]
    rows = {"design_budget_ms": design, "oracle_ms": realised}
    return {key: {names[k]: {g: float(v[k, i]) for i, g in enumerate(GROUPS)}
                  for k in np.flatnonzero(~np.isnan(requirement.latency_ms))} for key, v in rows.items()}  # fmt: skip


def adaptive_budgets(agents_path: Path) -> dict[str, Any]:
    """The adaptive agents' mean budgets (ms) over their last updates, per run of ``domain_agents.json``."""
    if not agents_path.exists():
        return {}
    results = json.loads(agents_path.read_text()).get("results", {})
    return {f"{key}/{config}": row["diagnosis"]["budget_ms_last10"] for key, configs in results.items()
            for config, row in configs.items() if config.startswith("adaptive") and "diagnosis" in row}  # fmt: skip


def ceilings(rows: dict[str, dict[str, Any]]) -> dict[str, float]:
    """``ceiling/<planner>``: ``1 - usage(planner) / usage(planner:split)`` where both ran."""
    both = [(p, s) for p, s in PAIRS.items() if p in rows and s in rows]
    return {f"ceiling/{p}": 1.0 - rows[p]["usage"] / rows[s]["usage"] for p, s in both}


def mean_rows(per_seed: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Per policy: the mean usage and violation rate over the seeds."""
    policies = {p for rows in per_seed.values() for p in rows}
    out: dict[str, dict[str, float]] = {}
    for p in sorted(policies):
        rs = [rows[p] for rows in per_seed.values() if p in rows]
        out[p] = {"usage": sum(r["usage"] for r in rs) / len(rs),
                  "violation_rate": sum(r["violation_rate"] for r in rs) / len(rs), "seeds": len(rs)}  # fmt: skip
    return out


def agents_beside(means: dict[str, dict[str, float]], agents_path: Path) -> dict[str, Any]:
    """The learned agents' final usage (domain_agents.json, mean over its seeds) as ratios to the planners'.

    ``final``: the policy alone; ``final_switching``: behind its frozen shield (the switching configurations).
    """
    if not agents_path.exists():
        return {}
    results = json.loads(agents_path.read_text()).get("results", {})
    rows: dict[str, list[dict[str, Any]]] = {}
    for key, configs in results.items():
        for config, row in configs.items():
            rows.setdefault(f"{key.split('/')[0]}/{config}", []).append(row)
    out: dict[str, Any] = {}
    for name, rs in rows.items():
        entry: dict[str, Any] = {"seeds": [r["seed"] for r in rs]}
        for final in ("final", "final_switching"):
            if all(final in r for r in rs):
                usage = sum(r[final]["usage"] for r in rs) / len(rs)
                entry[final] = {"usage": usage, "violation_rate": sum(r[final]["violation_rate"] for r in rs) / len(rs)}
                entry[final] |= {f"x_{p}": usage / means[p]["usage"] for p in ("forecast", "forecast:split", "oracle")
                                 if p in means}  # fmt: skip
        out[name] = entry
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--policies", nargs="*", choices=POLICIES, default=list(POLICIES),
                    help="planners to run (none: only rebuild the summary from the stored results)")  # fmt: skip
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--eval-days", type=int, default=2)
    ap.add_argument("--eval-envs", type=int, default=16)
    ap.add_argument("--jobs", type=int, default=2, help="evaluations at once (one process each)")
    ap.add_argument("--agents", type=Path, default=AGENTS, help="the per-domain benchmark's results")
    ap.add_argument("--out", type=Path, default=RESULT)
    args = ap.parse_args()
    jobs = [(p, s) for s in args.seeds for p in args.policies]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {job: pool.submit(run, *job, args.eval_days, args.eval_envs) for job in jobs}
        done = {job: f.result() for job, f in futures.items()}
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    per_seed: dict[str, dict[str, dict[str, Any]]] = previous.get("results", {})
    for (p, s), row in done.items():
        per_seed.setdefault(f"s{s}", {})[p] = row
    means = mean_rows(per_seed)
    write_json(args.out, {
        "machine": machine_info(),
        "config": {"scenario": SCENARIO, "eval": f"{args.eval_days} days x {args.eval_envs} networks, seed 1000 + S",
                   "pairs": PAIRS},
        "results": per_seed,
        "ceiling": {s: ceilings(rows) for s, rows in per_seed.items()},
        "seed_mean": means,
        "ceiling_seed_mean": ceilings(means),
        "agents": agents_beside(means, args.agents),
        "split": realised_split(args.seeds[0], 1, 8) | {"adaptive_last10_ms": adaptive_budgets(args.agents)},
    })  # fmt: skip
    print(json.dumps({"seed_mean": means, "ceiling": ceilings(means)}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
