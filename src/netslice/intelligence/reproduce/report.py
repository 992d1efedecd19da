"""The reproduction's report: ``OUT/report.md`` with its tables, targets and figures (:mod:`.figures`).

Tables: per scenario, each method's usage and SLA violation rate while learning (every slot played, all networks)
and after it (the final agent on the evaluation networks), mean and worst over the seeds (worst: the largest
usage or violation rate). Targets: the issue's, each with its measured value and whether it is met.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from netslice.intelligence.reproduce import figures
from netslice.intelligence.reproduce.plan import BASELINES, LIVE, SAFE_PLANNER, SIM, Settings
from netslice.intelligence.reproduce.results import Outcome, final_rollout_usage, first_step_within, spread
from netslice.intelligence.run_config import write_json_atomic

#: Row labels of the methods, in table order.
LABELS = {
    "rule": "rule-based", "penalty": "PPO, cost penalty", "lagrangian": "PPO, PID Lagrangian",
    "switching": "+ baseline switching", "bc-lagrangian": "PID Lagrangian + BC warm start",
    "bc-switching": "+ BC warm start (PID + switching)", "live-scratch": "PID + switching, scratch",
    "live-sim": "+ sim pre-training", "forecast": "forecast planner",
    SAFE_PLANNER: f"forecast planner, SLA-safe ({SAFE_PLANNER})", "oracle": "oracle (clairvoyant)",
}  # fmt: skip
#: Methods of each scenario's table.
ROWS = {SIM: ("rule", "penalty", "lagrangian", "switching", "bc-lagrangian", "bc-switching", "forecast", SAFE_PLANNER,
             "oracle"),
        LIVE: ("rule", "live-scratch", "live-sim", "forecast", SAFE_PLANNER, "oracle")}  # fmt: skip
#: OnSlicing's reported usage reduction against its rule-based policy (CoNEXT 2021), for comparison only.
ONSLICING_REDUCTION = 0.613


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def _usage(x: float) -> str:
    return f"{x:.4f}"


def _change(x: float) -> str:
    return f"{100 * x:+.1f} %"


def _pair(values: list[float], fmt: Any = _pct) -> str:
    if not values:
        return "–"
    mean, worst = spread(values)
    return f"{fmt(mean)} ({fmt(worst)})"


def _by(outcomes: Iterable[Outcome], scenario: str, name: str) -> list[Outcome]:
    return sorted(
        (o for o in outcomes if o.task.scenario == scenario and o.task.name == name), key=lambda o: o.task.seed
    )


def _metric(outcomes: list[Outcome], scenario: str, name: str, key: str) -> list[float]:
    """Per seed: ``key`` of method ``name`` (a baseline's ``final/*`` comes from the baselines task)."""
    if name in BASELINES:
        if not key.startswith("final/"):
            return []
        base = key.removeprefix("final/").replace("usage", "usage/mean").replace("violation_rate", "sla/violation_rate")
        return [o.metrics[f"{name}/{base}"] for o in _by(outcomes, scenario, "baselines")]
    return [o.metrics[key] for o in _by(outcomes, scenario, name)]


def table(outcomes: list[Outcome], scenario: str) -> list[str]:
    """The Markdown table of ``scenario`` (see the module docstring)."""
    rule = _metric(outcomes, scenario, "rule", "final/usage")
    lines = ["| method | usage while learning | violations while learning | final usage | final violations | "
             "final usage vs rule |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name in ROWS[scenario]:
        final = _metric(outcomes, scenario, name, "final/usage")
        vs_rule = [u / r - 1.0 for u, r in zip(final, rule, strict=False)]
        cells = [
            _pair(_metric(outcomes, scenario, name, "learn/usage"), _usage),
            _pair(_metric(outcomes, scenario, name, "learn/violation_rate")), _pair(final, _usage),
            _pair(_metric(outcomes, scenario, name, "final/violation_rate")), _pair(vs_rule, _change),
        ]  # fmt: skip
        lines.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
    return lines


def _target(what: str, measured: str, met: bool | None) -> str:
    verdict = "n/a" if met is None else ("met" if met else "**missed**")
    return f"| {what} | {measured} | {verdict} |"


def _share(x: float) -> str:
    return f"{x:.2f} of its steps" if math.isfinite(x) else "never"


def _reach(runs: list[Outcome], references: list[Outcome]) -> list[float]:
    """Per seed: when ``runs`` come within 5 % of the references' final rollout usage (a fraction of their steps).

    Infinite where a run never does.
    """
    out = []
    for run, ref in zip(runs, references, strict=False):
        if run.curve is not None and ref.curve is not None:
            out.append(first_step_within(run.curve, 1.05 * final_rollout_usage(ref.curve)) / ref.curve[-1, 0])
    return out


def _warm_targets(title: str, warm: list[Outcome], scratch: list[Outcome], rule: list[float]) -> list[str]:
    """The targets of a warm-started run against the from-scratch Lagrangian run of the same seeds."""
    v = [o.metrics["learn/violation_rate"] for o in warm]
    gap = [w.metrics["final/usage"] / s.metrics["final/usage"] - 1.0 for w, s in zip(warm, scratch, strict=False)]
    frac = _reach(warm, scratch)
    peak = [float(w.curve[:, 1].max()) / r for w, r in zip(warm, rule, strict=False) if w.curve is not None]
    return [
        _target(f"{title}: violations over the whole online run <= 0.1 %", _pair(v), max(v) <= 0.001),
        _target("... final usage within 5 % of from-scratch Lagrangian PPO's", _pair(gap, _change), max(gap) <= 0.05),
        _target("... reached in <= half the from-scratch run's env steps (rollout usage within 5 % of its final "
                "rollout usage)", _pair(frac, _share), max(frac) <= 0.5),
        _target("... rollout usage below the rule-based policy's from the first day on (peak / rule)",
                _pair(peak, lambda x: f"{x:.3f}"), max(peak) < 1.0),
    ]  # fmt: skip


def targets(outcomes: list[Outcome]) -> list[str]:
    """The issue's targets, measured (mean and worst seed)."""
    lines = ["| target | measured: mean (worst seed) | verdict |", "|---|---|---|"]
    bc = _by(outcomes, SIM, "bc")
    if bc:
        gap = [o.metrics["final/usage"] / o.metrics["teacher/usage"] - 1.0 for o in bc]
        excess = [o.metrics["final/violation_rate"] - o.metrics["teacher/violation_rate"] for o in bc]
        lines.append(_target("BC: usage within 5 % of the teacher's in <= 10 epochs",
                             _pair(gap, lambda x: f"{100 * x:+.1f} %"), max(abs(g) for g in gap) <= 0.05))  # fmt: skip
        lines.append(_target("BC: violations <= the teacher's + 0.5 points",
                             _pair(excess, lambda x: f"{100 * x:+.2f} pt"), max(excess) <= 0.005))  # fmt: skip
    scratch, rule = _by(outcomes, SIM, "lagrangian"), _metric(outcomes, SIM, "rule", "final/usage")
    for name, title in (("bc-switching", "BC + Lagrangian + switching"), ("bc-lagrangian", "BC + Lagrangian, "
                                                                          "no switching (same criteria)")):  # fmt: skip
        warm = _by(outcomes, SIM, name)
        if warm and scratch:
            lines += _warm_targets(title, warm, scratch, rule)
        safe = _metric(outcomes, SIM, SAFE_PLANNER, "final/usage")
        if name == "bc-switching" and safe and scratch:  # the fair bar of the final usage of a run kept safe
            gap = [u / s.metrics["final/usage"] - 1.0 for u, s in zip(safe, scratch, strict=False)]
            lines.append(_target(f"... for reference, the SLA-safe planner ({SAFE_PLANNER}) against the same "
                                 "from-scratch final usage", _pair(gap, _change), None))  # fmt: skip
    sim, live = _by(outcomes, LIVE, "live-sim"), _by(outcomes, LIVE, "live-scratch")
    if sim and live:
        first30 = [float(o.curve[:30, 2].mean()) for o in sim if o.curve is not None]
        lines.append(_target("live, sim pre-trained + switching: violations over the first 30 live days <= 0.5 %",
                             _pair(first30), max(first30) <= 0.005))  # fmt: skip
        frac = _reach(sim, live)
        lines.append(_target("... within 5 % of the from-scratch-on-live final usage in <= 10 % of its steps",
                             _pair(frac, _share), max(frac) <= 0.1))  # fmt: skip
    best = _metric(outcomes, SIM, "bc-switching", "final/usage") or _metric(outcomes, SIM, "switching", "final/usage")
    if best and rule:
        red = [1.0 - u / r for u, r in zip(best, rule, strict=False)]
        lines.append(_target(f"usage after convergence vs rule-based (OnSlicing: -{100 * ONSLICING_REDUCTION:.1f} %)",
                             _pair([-x for x in red], lambda x: f"{100 * x:+.1f} %"), None))  # fmt: skip
    return lines


def write(outcomes: list[Outcome], settings: Settings, out: Path, header: dict[str, Any]) -> Path:
    """Write ``out/report.md``, its figures and ``results.json`` (every task's metrics); return the report's path."""
    pictures = figures.write_all(outcomes, out)
    lines = [
        "# netslice reproduction: safe online learning, imitation and sim-to-real transfer", "",
        f"- command: `{header['command']}`", f"- commit: `{header['git_commit']}`"
        + (" (with uncommitted changes)" if header.get("git_dirty") else ""),
        f"- finished: {header['finished']} on {header['cpu']}; this run's wall time {header['wall_s'] / 60:.1f} min "
        f"({header['done_before']} tasks were done before it); every task's own time added up: "
        f"{header['task_s'] / 60:.1f} min",
        f"- seeds {', '.join(map(str, settings.seeds))}; every training run {settings.steps:,} env steps on "
        f"{settings.n_envs} networks; evaluations {settings.eval_days} days x {settings.eval_envs} networks "
        f"(seed 1000 + S); d = {settings.violation_limit:.2%}; BC teacher `{settings.teacher}`, "
        f"{settings.bc_days} days x {settings.bc_envs} networks, {settings.bc_epochs} epochs"
        + (", the clone and the runs started from it with the day-history features" if settings.day_history else ""),
        "",
        "Values: mean over the seeds (worst seed). *While learning* counts every slot played by every network "
        "during the whole training run, the critics' warm-up included; *final* is the trained agent alone "
        "(no shield) on fresh evaluation networks.", "",
        f"## {SIM} (simulated testbed)", "", *table(outcomes, SIM), "",
        f"## {LIVE} (the live network: no pre-training on it)", "", *table(outcomes, LIVE), "",
        "## Targets", "", *targets(outcomes), "", "## Figures", "",
        *[f"![{p.stem}]({p.name})" for p in pictures if p.suffix == ".png"], "",
        "## Commands", "", "Each task's folder holds its log (`log.txt`), configuration and results; rerun one with:",
        "", "```", *commands(outcomes), "```", "",
    ]  # fmt: skip
    path = out / "report.md"
    path.write_text("\n".join(lines))
    write_json_atomic(out / "results.json", {"header": header, "settings": asdict(settings), "tasks": [
        {"scenario": o.task.scenario, "name": o.task.name, "seed": o.task.seed, "metrics": o.metrics}
        for o in outcomes
    ]})  # fmt: skip
    return path


def commands(outcomes: list[Outcome]) -> list[str]:
    """The command that reruns each task (its folder's own configuration)."""
    lines = []
    for o in sorted(outcomes, key=lambda o: (o.task.seed, o.task.scenario, o.task.name)):
        t = o.task
        if t.kind == "train":
            lines.append(f"netslice train --config {t.folder}/run_config.json --run-dir {t.folder}")
        elif t.kind == "bc":
            c = t.config
            history = " --day-history" if c.get("day_history") else ""
            lines.append(f"netslice imitate --teacher {c['teacher']} --days {c['days']} --n-envs {c['n_envs']} "
                         f"--epochs {c['epochs']}{history} --seed {t.seed} --eval-days {c['eval_days']} "
                         f"--eval-envs {c['eval_envs']} --run-dir {t.folder}")  # fmt: skip
        else:
            c = t.config
            policies = " ".join(f"--policy {name}" for name in BASELINES)
            lines.append(f"netslice evaluate {policies} --scenario {t.scenario} "
                         f"--days {c['eval_days']} --n-envs {c['eval_envs']} --seed {1000 + t.seed} "
                         f"--out {t.folder}")  # fmt: skip
    return lines
