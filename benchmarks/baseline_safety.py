"""Is the rule-based baseline SLA-safe on every shipped scenario? Usage and violations next to the others.

Baseline switching assumes, as the paper does, a rule-based baseline that keeps the SLAs at a higher usage
than a learned policy. This benchmark runs ``netslice evaluate``'s policies (``run.make_policy``: the
rule-based dimensioning of ``intelligence/policies/rule.py``, the forecast planner at its default quantile,
the clairvoyant oracle and the equal static split) on the evaluation networks (seed 1000) of every shipped
scenario and records, per policy, the mean weighted usage, the usage per domain, the fraction of
(network, slot) pairs in which any slice violates its SLA, and each slice's violation rate. The target:
the rule violates in at most 0.5 % of slots on every scenario.

city-v0 (1000 cells) is slow for the model-based policies (about 10 s a slot for 4 networks): the oracle
and the forecast planner run there on 1 network for 1 day, the others on 4 networks; the JSON records each
row's days and networks. The rule's dimensioning (once per scenario) is timed separately (``build_s``).

The rule also runs on a second, independent set of evaluation networks (seed 2000, row ``rule@2000``), so
that its safety is not a property of one seed. Scenarios not run (``--scenarios``) keep their rows from the
previous file (``kept`` lists them).

Usage: ``python benchmarks/baseline_safety.py [--quick] [--scenarios metro-v0 ...]``. ``--quick``: 1 day on
4 networks everywhere (city-v0: the rule and the static split only). Writes
``benchmarks/results/baseline_safety.json``.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import RESULTS_DIR, machine_info, parser, write_json

# isort: split
import json
import time

from netslice.intelligence.evaluate import evaluate
from netslice.intelligence.run import make_policy
from netslice.network import scenarios
from netslice.network.allocation import DOMAINS

RESULT = RESULTS_DIR / "baseline_safety.json"
POLICIES = ("rule", "forecast", "oracle", "static")
#: The target of the rule's violation rate.
TARGET = 0.005
#: (days, networks) per scenario, full run.
FULL: dict[str, tuple[int, int]] = {"testbed-v0": (5, 16), "single-v0": (5, 16), "metro-v0": (4, 16), "city-v0": (1, 4)}
#: city-v0's model-based policies: (days, networks).
CITY_MODEL = (1, 1)
SEED = 1000
#: The rule's second evaluation seed.
SECOND_SEED = 2000


def row(policy_name: str, scenario: str, days: int, n_envs: int, seed: int = SEED) -> dict[str, float]:
    """Usage, violation rates and timings of one policy on one scenario's evaluation networks."""
    card = scenarios.load(scenario)
    t0 = time.perf_counter()
    policy = make_policy(policy_name, card)
    build = time.perf_counter() - t0
    result = evaluate(policy, policy_name, card, days=days, n_envs=n_envs, seed=seed)
    s = result.summary()
    out = {
        "days": days,
        "n_envs": n_envs,
        "build_s": round(build, 2),
        "eval_s": round(time.perf_counter() - t0 - build, 2),
    }
    keys = ("usage/mean", *(f"usage/{d}" for d in DOMAINS), "sla/violation_rate")
    out.update({k: round(float(s[k]), 5) for k in keys})
    out.update({f"sla/violation_rate/{n}": round(float(s[f"sla/violation_rate/{n}"]), 5) for n in result.slices})
    return out


def main() -> None:
    ap = parser(__doc__, RESULT, "1 day on 4 networks everywhere; city-v0: rule and static only")
    ap.add_argument("--scenarios", nargs="+", default=list(FULL), help="scenarios to run (default: all shipped)")
    args = ap.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for scenario in args.scenarios:
        results[scenario] = {}
        for name in POLICIES:
            model_based = name in ("forecast", "oracle")
            if scenario == "city-v0" and model_based and args.quick:
                continue
            days, n_envs = (1, 4) if args.quick else FULL.get(scenario, (1, 4))
            if scenario == "city-v0" and model_based:
                days, n_envs = CITY_MODEL
            r = row(name, scenario, days, n_envs)
            results[scenario][name] = r
            usage, rate = r["usage/mean"], r["sla/violation_rate"]
            timing = f"{days} d x {n_envs} networks, build {r['build_s']} s, eval {r['eval_s']} s"
            print(f"{scenario} {name}: usage {usage:.4f}, violations {rate:.4%} ({timing})", flush=True)
        days, n_envs = (1, 4) if args.quick else FULL.get(scenario, (1, 4))
        r = row("rule", scenario, days, n_envs, SECOND_SEED)
        results[scenario][f"rule@{SECOND_SEED}"] = r
        print(f"{scenario} rule@{SECOND_SEED}: usage {r['usage/mean']:.4f}, violations {r['sla/violation_rate']:.4%}")
    kept = []
    if args.out.exists():
        for scenario, rows in json.loads(args.out.read_text()).get("results", {}).items():
            if scenario not in results:
                results[scenario] = rows
                kept.append(scenario)
    safe = {
        f"{s}/{name}": r[name]["sla/violation_rate"] <= TARGET
        for s, r in results.items()
        for name in ("rule", f"rule@{SECOND_SEED}")
        if name in r
    }
    write_json(
        args.out,
        {
            "machine": machine_info(),
            "config": {
                "seed": SEED,
                "second_seed": SECOND_SEED,
                "quick": args.quick,
                "target_violation_rate": TARGET,
                "policies": POLICIES,
            },
            "kept": kept,
            "results": results,
            "pass": {"rule_violation_rate_at_most_target": safe},
            "notes": "usage = mean weighted allocated share (the reward's objective); violation = any slice's SLA "
            "cost > 0 in a (network, slot); per-slice rates under sla/violation_rate/<slice>; forecast = the "
            "planner for the 0.995 traffic quantile; static = equal split; build_s = policy construction (the "
            "rule's dimensioning), eval_s = the evaluation",
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
