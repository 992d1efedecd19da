"""Safe PPO on testbed-v0: the fixed penalty, the Lagrangian (dual ascent, PID) and baseline switching, per seed.

Each run is the main job's ``netslice train`` (testbed-v0, 128 networks, 6M env steps unless ``--steps``) with
a configuration's options (:data:`CONFIGS`), in its own process and run folder (``--runs-dir``, default
``runs/safe_ppo/<config>-s<seed>``; a finished run is reused unless ``--fresh``). From each run's
``evaluation.json`` and ``training.json`` it collects:

- ``final``: the final policy's evaluation (5 days x 16 networks, seed 1000 + seed): usage, violation rate in
  total and per slice, and the forecast planner's and the rule's figures on the same networks;
- ``learning``: every slot played while learning (all networks, first update to last): violation rate in total
  and per slice, mean usage, and with switching the switch rate;
- ``train_s`` and ``steps_per_s``: wall time of the training part and its mean env steps per second over the
  updates (runs that share the machine slow each other: compare throughput only between runs started side by
  side); ``wall_s``: the whole command, evaluation included.

Then per configuration: mean and worst seed of each figure. Writes ``benchmarks/results/safe_ppo.json`` and the
figure ``safe_ppo_frontier.{png,svg}`` (usage against violations of every final policy, next to the forecast
planner's quantile curve of ``oracle_information_gap.json``; ``--plot`` redraws it from the JSON alone).

Usage: ``python benchmarks/safe_ppo.py --configs lagrangian-d1 --seeds 0 1 2 3 4 --jobs 2``.
"""

from __future__ import annotations

# First, in a block of its own: importing common pins OMP/OPENBLAS/MKL_NUM_THREADS to 1 before numpy loads.
from common import REPO, RESULTS_DIR, machine_info, write_json

# isort: split
import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

RESULT = RESULTS_DIR / "safe_ppo.json"
#: The options of each configuration (besides the main job's defaults).
LAGRANGIAN = ("--cost-penalty", "0", "--safety", "lagrangian")
PID = ("--cost-penalty", "0", "--safety", "pid")
SWITCHING_Q99 = (*PID, "--violation-limit", "0.01", "--switching", "--shield-quantile", "0.99")
CONFIGS: dict[str, tuple[str, ...]] = {
    "penalty8": (),
    "lagrangian-d0.5": (*LAGRANGIAN, "--violation-limit", "0.005"),
    "lagrangian-d1": (*LAGRANGIAN, "--violation-limit", "0.01"),
    "lagrangian-d2": (*LAGRANGIAN, "--violation-limit", "0.02"),
    "pid-d0.5": (*PID, "--violation-limit", "0.005"),
    "pid-d1": (*PID, "--violation-limit", "0.01"),
    "pid-d2": (*PID, "--violation-limit", "0.02"),
    # Switching with the shield's quantile at 0.99 (its default until the quantile sweep below), and the ways a
    # switched slot can enter learning (agents/switched_samples.py), all measured at that quantile.
    "pid-d1-switching": SWITCHING_Q99,
    **{
        f"pid-d1-switching-{mode}": (*SWITCHING_Q99, "--switched-samples", mode)
        for mode in ("exclude", "corrected", "own-usage", "estimated", "keep-played")
    },
    # The sweep of the shield's quantile (0.98 is the default).
    **{
        f"pid-d1-switching-q{q}": (*PID, "--violation-limit", "0.01", "--switching", "--shield-quantile", q)
        for q in ("0.9", "0.95", "0.97", "0.98")
    },
    "penalty8-switching": ("--switching",),
}
#: Figures summarised over seeds: (section, key, worst is the largest).
SUMMARY = (("final", "usage", True), ("final", "violation_rate", True), ("final", "worst_slice", True),
           ("learning", "violation_rate", True), ("learning", "usage", True), ("steps_per_s", None, False))  # fmt: skip


def run_dir(root: Path, name: str, seed: int) -> Path:
    """Where the run of ``name`` and ``seed`` lives."""
    return root / f"{name}-s{seed}"


def train(name: str, seed: int, steps: int, root: Path, fresh: bool) -> dict[str, Any]:
    """Run (or reuse) ``netslice train`` for one configuration and seed; collect its figures."""
    out = run_dir(root, name, seed)
    done = (out / "evaluation.json").exists() and (out / "training.json").exists()
    train_s = None
    if fresh or not done:
        cmd = [sys.executable, "-m", "netslice.cli", "train", "--seed", str(seed), "--steps", str(steps),
               "--run-dir", str(out), "--no-resume", "--progress-every", "60", *CONFIGS[name]]  # fmt: skip
        start = time.perf_counter()
        log = out.parent / f"{out.name}.log"  # not with_suffix: a name like pid-d0.5-s0 has a dot
        out.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as f:
            subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=True, cwd=REPO)
        train_s = time.perf_counter() - start
    return collect(name, seed, out, train_s)


def collect(name: str, seed: int, out: Path, wall_s: float | None) -> dict[str, Any]:
    """The figures of a finished run folder."""
    ev = json.loads((out / "evaluation.json").read_text())
    tr = json.loads((out / "training.json").read_text())
    pol = ev["policies"]
    slices = sorted(k.split("/")[-1] for k in pol["ppo"] if k.startswith("sla/violation_rate/"))
    row: dict[str, Any] = {
        "config": name, "seed": seed, "options": list(CONFIGS[name]),
        "final": {
            "usage": pol["ppo"]["usage/mean"], "violation_rate": pol["ppo"]["sla/violation_rate"],
            "slices": {s: pol["ppo"][f"sla/violation_rate/{s}"] for s in slices},
            **{b: {"usage": pol[b]["usage/mean"], "violation_rate": pol[b]["sla/violation_rate"]}
               for b in ("forecast", "rule")},
        },
        "learning": {
            "slots": tr["slots"], "violation_rate": tr["violation_rate"], "usage": tr["usage_mean"],
            "slices": {s: v["violation_rate"] for s, v in tr["slices"].items()},
            **({"switch_rate": tr["meta"]["shield"]["shield/switch_rate"]} if "shield" in tr["meta"] else {}),
        },
        "steps_per_s": tr["meta"].get("steps_per_s"), "train_s": tr["meta"].get("train_s"),
        "wall_s": None if wall_s is None else round(wall_s, 1),
    }  # fmt: skip
    row["final"]["worst_slice"] = max(row["final"]["slices"].values())
    if "ppo+switching" in pol:  # the agent behind its frozen shield, on the same evaluation networks
        sw = pol["ppo+switching"]
        row["final"]["with_shield"] = {"usage": sw["usage/mean"], "violation_rate": sw["sla/violation_rate"]}
    if "pretrain" in tr["meta"]:
        row["pretrain"] = tr["meta"]["pretrain"]
    print(f"{name} s{seed}: usage {row['final']['usage']:.4f}, violations {row['final']['violation_rate']:.2%} "
          f"(worst slice {row['final']['worst_slice']:.2%}); while learning {row['learning']['violation_rate']:.2%} "
          f"at usage {row['learning']['usage']:.3f}", flush=True)  # fmt: skip
    return row


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per configuration: the seeds, and the mean and worst seed of each figure of :data:`SUMMARY`."""
    out: dict[str, Any] = {}
    for name in dict.fromkeys(r["config"] for r in rows):
        mine = [r for r in rows if r["config"] == name]
        fig: dict[str, Any] = {"seeds": [r["seed"] for r in mine]}
        for section, key, high in SUMMARY:
            values = [r[section] if key is None else r[section][key] for r in mine]
            values = [v for v in values if v is not None]
            if values:
                label = section if key is None else f"{section}/{key}"
                fig[label] = {"mean": sum(values) / len(values), "worst": max(values) if high else min(values)}
        out[name] = fig
    return out


def plot(data: dict[str, Any], out: Path) -> list[Path]:
    """The usage-vs-violation figure of the final policies, next to the forecast planner's quantile curve.

    Every run is a small dot, each configuration's seed mean a large one; the curve is
    ``oracle_information_gap.json``'s (the causal bar).
    """
    import matplotlib.pyplot as plt

    from netslice.intelligence.plots import save_figure  # sets the Agg backend

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    gap = RESULTS_DIR / "oracle_information_gap.json"
    if gap.exists():
        curve = json.loads(gap.read_text())["results"]
        pts = sorted(
            (v["sla/violation_rate"], v["usage/mean"], k.split("_q")[1]) for k, v in curve.items() if "_q" in k
        )
        ax.plot([100 * p[0] for p in pts], [p[1] for p in pts], "k--", marker="x", label="forecast planner, quantile q")
        for x, y, q in pts:
            ax.annotate(q, (100 * x, y), fontsize=7, textcoords="offset points", xytext=(3, 3))
    for i, name in enumerate(dict.fromkeys(r["config"] for r in data["results"])):
        rows = [r for r in data["results"] if r["config"] == name]
        xs = [100 * r["final"]["violation_rate"] for r in rows]
        ys = [r["final"]["usage"] for r in rows]
        color = plt.get_cmap("tab20")(i % 20)  # distinct for up to 20 configurations (C0-C9 repeat after 10)
        ax.scatter(xs, ys, s=12, color=color, alpha=0.5)
        ax.scatter([sum(xs) / len(xs)], [sum(ys) / len(ys)], s=60, color=color, edgecolor="k",
                   label=f"{name} ({len(rows)} seeds)")  # fmt: skip
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("final policy: slots with an SLA violation (%)")
    ax.set_ylabel("usage (weighted mean allocated share)")
    ax.set_title("testbed-v0: usage vs violations (5 days x 16 networks per seed)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--configs", nargs="+", choices=tuple(CONFIGS), default=["lagrangian-d1"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--steps", type=int, default=6_000_000)
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (one core each)")
    ap.add_argument("--runs-dir", type=Path, default=REPO / "runs" / "safe_ppo")
    ap.add_argument("--fresh", action="store_true", help="train again even where a finished run exists")
    ap.add_argument("--out", type=Path, default=RESULT)
    ap.add_argument("--plot", action="store_true", help="only draw the figure from --out's JSON")
    args = ap.parse_args()
    figure = args.out.with_name(args.out.stem + "_frontier")
    if args.plot:
        print("wrote", *plot(json.loads(args.out.read_text()), figure))
        return
    jobs = [(c, s) for c in args.configs for s in args.seeds]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # each run is its own process
        rows = list(pool.map(lambda j: train(j[0], j[1], args.steps, args.runs_dir, args.fresh), jobs))
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    kept = [r for r in previous.get("results", []) if (r["config"], r["seed"]) not in set(jobs)]
    all_rows = sorted(kept + rows, key=lambda r: (r["config"], r["seed"]))
    write_json(
        args.out,
        {
            "machine": machine_info(),
            "config": {"scenario": "testbed-v0", "steps": args.steps, "n_envs": 128, "jobs": args.jobs,
                       "configs": {c: list(CONFIGS[c]) for c in dict.fromkeys(r["config"] for r in all_rows)},
                       "eval": "5 days x 16 networks, seed 1000+S"},
            "results": all_rows,
            "summary": summarise(all_rows),
            "notes": "final = the deterministic policy after training; learning = every slot played while "
            "training (all networks); violations = slots with a slice's cost > 0; worst_slice = the largest "
            "per-slice violation rate; rows of earlier invocations are kept (merged by config and seed)",
        },
    )  # fmt: skip
    print(f"wrote {args.out}", *plot(json.loads(args.out.read_text()), figure))


if __name__ == "__main__":
    main()
