"""The train and evaluate jobs behind ``netslice train`` and ``netslice evaluate``.

``train``: PPO on the batched env with a rich progress bar and TensorBoard logs (``run_dir/tb``),
checkpoints in ``run_dir/checkpoint.pt`` (resumed when present), then the comparison of the agent
with the static, rule-based, forecast (causal model-predictive) and oracle policies over
``eval_days`` days of fresh evaluation envs: ``run_dir/evaluation.json`` and figures (learning
curve, usage and violations by hour of day, CDF of the SLA cost).
"""

from __future__ import annotations

import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from netslice.errors import ConfigError
from netslice.intelligence import plots
from netslice.intelligence.agents.ppo import PPO, PPOConfig, PPOPolicy
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.evaluate import EvalResult, compare, evaluate, write_json
from netslice.intelligence.policies.base import ContextPolicy, Policy
from netslice.intelligence.policies.forecast import ForecastPlanner
from netslice.intelligence.policies.oracle import Oracle
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.intelligence.policies.static import StaticPolicy
from netslice.network.allocation import DOMAINS
from netslice.network.scenarios import Scenario, load

BASELINES = ("static", "rule", "forecast", "oracle")
#: Names :func:`make_policy` accepts besides checkpoint paths.
POLICY_NAMES = ("static", "initial", "rule", "forecast", "oracle")


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=console,
    )  # fmt: skip


def make_policy(spec: str, scenario: Scenario) -> Policy | ContextPolicy:
    """A policy from its CLI name (one of :data:`POLICY_NAMES`) or a PPO checkpoint path.

    ``forecast:Q`` is the forecast planner for the ``Q`` quantile of the coming slot's traffic
    (``forecast`` alone: :data:`~netslice.intelligence.policies.forecast.DEFAULT_QUANTILE`).
    """
    if spec == "static":
        return StaticPolicy.equal_split(scenario.params.n_slices)
    if spec == "initial":
        return StaticPolicy.initial(scenario)
    if spec == "rule":
        return RuleBasedPolicy.from_scenario(scenario)
    if spec == "forecast" or spec.startswith("forecast:"):
        q = spec.partition(":")[2]
        try:
            return ForecastPlanner.create(float(q)) if q else ForecastPlanner.create()
        except ValueError:
            raise ConfigError(f"policy: forecast quantile must be a number in (0, 1), got {q!r}") from None
    if spec == "oracle":
        return Oracle.create(None)
    path = Path(spec)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.exists():
        raise ConfigError(f"policy: {spec!r} is neither one of {', '.join(POLICY_NAMES)} nor a checkpoint file")
    return PPOPolicy.load(path)


def evaluate_all(
    policies: dict[str, Policy | ContextPolicy], scenario: Scenario, days: int, n_envs: int, seed: int, console: Console
) -> dict[str, EvalResult]:
    """Evaluate every policy on the same evaluation envs (same seed), with a progress bar."""
    out = {}
    with _progress(console) as bar:
        for name, policy in policies.items():
            task = bar.add_task(f"evaluate {name}", total=days * scenario.spec.slots_per_episode, info="")

            def advance(done: int, _total: int, task: TaskID = task) -> None:
                bar.update(task, completed=done)

            out[name] = evaluate(policy, name, scenario, days=days, n_envs=n_envs, seed=seed, progress=advance)
    return out


def render(table: dict[str, dict[str, float]], slices: tuple[str, ...], console: Console, title: str) -> None:
    """Print the comparison table."""
    t = Table(title=title)
    gaps = ("gap to oracle", "gap to forecast", "vs rule")
    for col in ("policy", "usage", *DOMAINS, "violations", *(f"viol {s}" for s in slices), *gaps):
        t.add_column(col, justify="right")
    for name, row in table.items():
        t.add_row(
            name, f"{row['usage/mean']:.4f}", *(f"{row[f'usage/{d}']:.3f}" for d in DOMAINS),
            f"{row['sla/violation_rate']:.2%}", *(f"{row[f'sla/violation_rate/{s}']:.2%}" for s in slices),
            f"{row['gap/oracle']:+.1%}" if "gap/oracle" in row else "-",
            f"{row['gap/forecast']:+.1%}" if "gap/forecast" in row else "-",
            f"{-row['reduction/rule']:+.1%}" if "reduction/rule" in row else "-",
        )  # fmt: skip
    console.print(t)


def meta(**extra: Any) -> dict[str, Any]:
    """Run metadata written next to results."""
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "machine": platform.platform(), "processor": platform.processor(), **extra}  # fmt: skip


def report(
    results: dict[str, EvalResult], run_dir: Path, console: Console, history: list[dict[str, float]] | None, **info: Any
) -> dict[str, dict[str, float]]:
    """Comparison table, JSON and figures of an evaluation."""
    table = compare(results)
    first = next(iter(results.values()))
    render(table, first.slices, console, f"{first.scenario}: {info.get('days', '?')} days x {info.get('n_envs', '?')} "
           "networks (usage = weighted mean allocated share; violations = slots with any SLA cost > 0)")  # fmt: skip
    paths = [write_json(table, run_dir / "evaluation.json", meta(**info))]
    if history:
        paths += plots.learning_curve(history, run_dir / "learning_curve")
    paths += plots.daily_profile(results, run_dir / "daily_profile")
    paths += plots.cost_cdf(results, run_dir / "cost_cdf")
    console.print("results: " + ", ".join(str(p) for p in paths))
    return table


def train(
    scenario: str, run_dir: Path, cfg: PPOConfig, n_envs: int, resume: bool, eval_days: int, eval_envs: int,
    console: Console,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """Train PPO, then compare it with the baselines (see the module docstring)."""
    sc = load(scenario)
    envs = SliceVectorEnv(n_envs, sc, seed=cfg.seed)
    ppo = PPO(cfg, envs, run_dir)
    if resume and ppo.resume():
        console.print(f"resumed from {ppo.checkpoint_path} at update {ppo.update}/{ppo.n_updates}")
    from torch.utils.tensorboard import SummaryWriter  # heavy import, only when training

    writer = SummaryWriter(str(run_dir / "tb"))
    writer.add_text("config", str(asdict(cfg)))
    with _progress(console) as bar:
        task = bar.add_task("train ppo", total=ppo.n_updates, completed=ppo.update, info="")

        def on_update(update: int, _n: int, row: dict[str, float]) -> None:
            for key, value in row.items():
                writer.add_scalar(key, value, int(row["charts/global_step"]))
            bar.update(task, completed=update, info=f"usage {row['usage/mean']:.3f} "
                       f"viol {row['sla/violation_rate']:.1%} {row['charts/sps']:,.0f} steps/s")  # fmt: skip

        ppo.train(on_update=on_update)
    writer.close()
    policies: dict[str, Policy | ContextPolicy] = {"ppo": ppo.policy()}
    policies.update({name: make_policy(name, sc) for name in BASELINES})
    results = evaluate_all(policies, sc, eval_days, eval_envs, seed=1000 + cfg.seed, console=console)
    return report(results, run_dir, console, ppo.stats.history, days=eval_days, n_envs=eval_envs,
                  config=asdict(cfg), train_envs=n_envs)  # fmt: skip
