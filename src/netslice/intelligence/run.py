"""The train and evaluate jobs behind ``netslice train`` and ``netslice evaluate``.

``train``: PPO on the batched env with progress (a rich bar on a terminal, plain lines every
``progress_every`` seconds otherwise: :mod:`.progress`) and TensorBoard logs (``run_dir/tb``),
checkpoints in ``run_dir/checkpoint.pt`` (resumed when present and of the same configuration), the run's
configuration in ``run_dir/run_config.json`` (:mod:`.run_config`), what learning cost in SLA violations and
usage over every slot played (``run_dir/training.json``, :data:`TRAINING_FILE`, and the figures
``training_violations`` and ``day_violation_cdf``), then the comparison of the agent
with the static, rule-based, forecast (causal model-predictive) and oracle policies over
``eval_days`` days of fresh evaluation envs: the tables of :mod:`.tables`, ``run_dir/evaluation.json``
and the figures of :mod:`.plots`. The learner is PPO (centralised or per-slice agents) or, with ``--agents
per-domain``, the three group learners of :mod:`.agents.domain_agents`: the same loop, files and report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import TaskID

import netslice
from netslice.errors import ConfigError
from netslice.intelligence import plots, shielding, tables
from netslice.intelligence.agents.collector import Collector
from netslice.intelligence.agents.domain_agents import DomainAgents
from netslice.intelligence.agents.domain_policy import DomainPolicy
from netslice.intelligence.agents.domain_shield import DomainShield
from netslice.intelligence.agents.ppo import PPO, PPOPolicy
from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.agents.slice_shield import SliceShield
from netslice.intelligence.envs.domain_vector import DomainVectorEnv, nominal_shares
from netslice.intelligence.envs.slice_agents import SliceAgentsVectorEnv
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.evaluate import EvalResult, compare, evaluate, write_json
from netslice.intelligence.policies.base import AnyPolicy
from netslice.intelligence.policies.forecast import ForecastPlanner
from netslice.intelligence.policies.oracle import Oracle
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.intelligence.policies.shared_slice import SharedSlicePolicy
from netslice.intelligence.policies.split_oracle import SPLIT_SPECS, split_oracle
from netslice.intelligence.policies.static import StaticPolicy
from netslice.intelligence.progress import PLAIN_INTERVAL_S, progress
from netslice.intelligence.run_config import RunConfig, write_json_atomic
from netslice.network.scenarios import Scenario, load
from netslice.provenance import environment, git_revision

BASELINES = ("static", "rule", "forecast", "oracle")
#: Names :func:`make_policy` accepts besides checkpoint paths.
POLICY_NAMES = ("static", "initial", "rule", "forecast", "oracle", *SPLIT_SPECS)
#: Prefix of a checkpoint path that :func:`make_policy` loads behind its shield.
SWITCHING_PREFIX = "switching:"
#: Prefix of a run folder (or checkpoint) of per-slice agents (``netslice train --agents per-slice``).
PER_SLICE_PREFIX = "per-slice:"
#: Prefix of a run folder (or checkpoint) of per-domain agents (``netslice train --agents per-domain``).
PER_DOMAIN_PREFIX = "per-domain:"
#: The learners ``netslice train`` trains: PPO (centralised or per-slice agents) or the per-domain agents.
Learner = PPO | DomainAgents
#: The training run's violations and usage: ``meta`` plus :meth:`TrainingLedger.summary`'s keys
#: (:mod:`netslice.intelligence.agents.training_ledger`).
TRAINING_FILE = "training.json"


def make_policy(spec: str, scenario: Scenario, weights: Sequence[float] | None = None) -> AnyPolicy:
    """A policy from its CLI name (one of :data:`POLICY_NAMES`) or a PPO checkpoint path.

    ``switching:PATH`` is the PPO agent of a run trained with switching behind its shield (the evaluator as
    trained, frozen; :func:`~.shielding.load_switching`). ``per-slice:PATH`` is the shared slice agent of a run
    trained with ``--agents per-slice``, run on every slice (:class:`~.policies.shared_slice.SharedSlicePolicy`).
    ``per-domain:PATH`` is the three group actors of a run trained with ``--agents per-domain``
    (:class:`~.agents.domain_policy.DomainPolicy`, with the SLA decomposition they were trained under).
    ``forecast:Q`` is the forecast planner for the ``Q`` quantile of the coming slot's traffic
    (``forecast`` alone: :data:`~netslice.intelligence.policies.forecast.DEFAULT_QUANTILE`). ``oracle:split``
    and ``oracle:split-equal`` are the oracle held to the per-domain agents' fixed split of every SLA
    (:mod:`~.policies.split_oracle`). ``weights`` are the domain weights the oracle's and the forecast planner's
    search minimise (default equal).
    """
    if spec == "static":
        return StaticPolicy.equal_split(scenario.params.n_slices)
    if spec == "initial":
        return StaticPolicy.initial(scenario)
    if spec == "rule":
        return RuleBasedPolicy.from_scenario(scenario)
    if spec == "forecast" or spec.startswith("forecast:"):
        return ForecastPlanner.from_spec(spec, weights)
    if spec == "oracle":
        return Oracle.create(weights)
    if spec in SPLIT_SPECS:
        return split_oracle(scenario, SPLIT_SPECS[spec], weights)
    if spec.startswith(PER_SLICE_PREFIX):
        return SharedSlicePolicy.load(spec.removeprefix(PER_SLICE_PREFIX))
    if spec.startswith(PER_DOMAIN_PREFIX):
        return DomainPolicy.load(spec.removeprefix(PER_DOMAIN_PREFIX), scenario)
    switching = spec.startswith(SWITCHING_PREFIX)
    path = Path(spec.removeprefix(SWITCHING_PREFIX))
    if path.is_dir():
        path = path / "checkpoint.pt"
        if not path.exists():
            raise ConfigError(f"policy: folder {spec!r} has no checkpoint.pt; give a run folder of `netslice train`")
    if not path.exists():
        raise ConfigError(
            f"policy: {spec!r} is neither one of {', '.join(POLICY_NAMES)}, forecast:Q, nor an existing checkpoint file"
        )
    return shielding.load_switching(path, scenario) if switching else PPOPolicy.load(path)


def policy_label(spec: str) -> str:
    """The evaluation row of a :func:`make_policy` spec: its name, or the run folder's (``switching:`` kept)."""
    if spec in POLICY_NAMES or spec.startswith("forecast:"):
        return spec
    prefix = next((p for p in (SWITCHING_PREFIX, PER_SLICE_PREFIX, PER_DOMAIN_PREFIX) if spec.startswith(p)), "")
    return prefix + Path(spec.removeprefix(prefix)).stem


def evaluate_all(
    policies: dict[str, AnyPolicy], scenario: Scenario, days: int, n_envs: int, seed: int,
    console: Console, progress_every: float = PLAIN_INTERVAL_S, weights: Sequence[float] | None = None,
) -> dict[str, EvalResult]:  # fmt: skip
    """Evaluate every policy on the same evaluation envs (same seed), with progress (see :mod:`.progress`).

    ``weights``: the domain weights of the usage objective (default equal).
    """
    out = {}
    with progress(console, progress_every) as bar:
        for name, policy in policies.items():
            task = bar.add_task(f"evaluate {name}", total=days * scenario.spec.slots_per_episode, info="")

            def advance(done: int, _total: int, task: TaskID = task) -> None:
                bar.update(task, completed=done)

            out[name] = evaluate(
                policy,
                name,
                scenario,
                days=days,
                n_envs=n_envs,
                seed=seed,
                weights=None if weights is None else np.asarray(weights),
                progress=advance,
            )
    return out


def meta(**extra: Any) -> dict[str, Any]:
    """Run metadata written next to results: the source revision, software and CPU (:mod:`netslice.provenance`)."""
    return {"netslice": netslice.__version__, **git_revision(), **environment(), **extra}


def report(
    results: dict[str, EvalResult], run_dir: Path, console: Console, history: list[dict[str, float]] | None,
    written: Sequence[Path] = (), **info: Any,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """Comparison table, JSON and figures of an evaluation (``written``: files already written, listed first)."""
    table = compare(results)
    first = next(iter(results.values()))
    title = f"{first.scenario}: {info.get('days', '?')} days x {info.get('n_envs', '?')} networks"
    tables.render(table, first.slices, console, f"{title} (usage = weighted mean allocated share; violations = slots "
                  "with any SLA cost > 0)")  # fmt: skip
    paths = [*written, write_json(table, run_dir / "evaluation.json", meta(**info))]
    if history:
        paths += plots.learning_curve(history, run_dir / "learning_curve")
    paths += plots.daily_profile(results, run_dir / "daily_profile")
    paths += plots.cost_cdf(results, run_dir / "cost_cdf")
    console.print("results: " + ", ".join(str(p) for p in paths), soft_wrap=True)
    return table


def write_training(learner: Learner, run_dir: Path, console: Console, **info: Any) -> list[Path]:
    """Write :data:`TRAINING_FILE` (atomically) and the figures of the violations while learning; print the totals.

    Returns:
        The files written.
    """
    summary = learner.ledger.summary()
    path = run_dir / TRAINING_FILE
    write_json_atomic(path, {"meta": meta(updates=learner.update, **info), **summary})
    paths = [path, *plots.day_violation_cdf(summary["day_violation_rate_cdf"], run_dir / "day_violation_cdf")]
    if learner.history:
        paths += plots.training_violations(learner.history, run_dir / "training_violations")
    per_slice = ", ".join(f"{name} {s['violation_rate']:.1%}" for name, s in summary["slices"].items())
    console.print(f"while learning: {summary['slots']:,} slots, violations {summary['violation_rate']:.1%} "
                  f"({per_slice}), usage {summary['usage_mean']:.3f}", soft_wrap=True)  # fmt: skip
    return paths


def build_learner(cfg: RunConfig, scenario: Scenario, run_dir: Path, collector: Collector | None = None) -> PPO:
    """The run's learner on its training networks (seeded with the PPO seed), with its shield when switching.

    ``collector``: the rollout workers' (:func:`rollout_workers`); None: the networks live in this process. The
    shield is not pretrained yet (:func:`~.shielding.pretrain`).
    """
    if collector is not None:
        return PPO(cfg.ppo, None, run_dir, run_config=cfg.record(), safety=cfg.safety, warm=cfg.warm,
                   collector=collector)  # fmt: skip
    if cfg.agents == "per-slice":  # one sub-env per (network, slice); the shield judges each network whole
        slice_envs = SliceAgentsVectorEnv(cfg.n_envs, scenario, seed=cfg.ppo.seed, weights=np.asarray(cfg.weights))
        slice_shield = (
            SliceShield(shielding.build_shield(cfg, scenario, slice_envs), slice_envs) if cfg.safety.switching else None
        )
        return PPO(cfg.ppo, slice_envs, run_dir, run_config=cfg.record(), safety=cfg.safety, shield=slice_shield,
                   warm=cfg.warm)  # fmt: skip
    envs = SliceVectorEnv(cfg.n_envs, scenario, seed=cfg.ppo.seed, weights=np.asarray(cfg.weights),
                          include_kpis=shielding.needs_kpis(cfg))  # fmt: skip
    shield = shielding.build_shield(cfg, scenario, envs) if cfg.safety.switching else None
    return PPO(cfg.ppo, envs, run_dir, run_config=cfg.record(), safety=cfg.safety, shield=shield, warm=cfg.warm)


def build_domain_agents(cfg: RunConfig, scenario: Scenario, run_dir: Path) -> DomainAgents:
    """The per-domain agents of ``--agents per-domain`` on their training networks (seeded with the PPO seed).

    With ``--switching``, behind their :class:`~.agents.domain_shield.DomainShield` (not pretrained yet).
    """
    shares = nominal_shares(cfg.domain_shares, scenario.params.n_slices)
    envs = DomainVectorEnv(cfg.n_envs, scenario, seed=cfg.ppo.seed, weights=np.asarray(cfg.weights),
                           decomposition=cfg.decomposition, shares=shares)  # fmt: skip
    shield = DomainShield(shielding.build_shield(cfg, scenario, envs), envs) if cfg.safety.switching else None
    return DomainAgents(cfg.ppo, envs, cfg.safety, run_dir, cfg.record(), shield=shield)


@contextmanager
def rollout_workers(cfg: RunConfig, ray_address: str | None, console: Console) -> Iterator[Collector | None]:
    """The Ray rollout workers of ``cfg.workers`` (None without), stopped on leaving (:mod:`~.agents.distributed`)."""
    if not cfg.workers:
        yield None
        return
    from netslice.intelligence.agents.distributed import RayCollector  # imports ray

    with RayCollector(cfg, ray_address) as collector:
        console.print(f"{cfg.workers} rollout workers on Ray ({collector.address}), "
                      f"{collector.num_envs // cfg.workers} networks each")  # fmt: skip
        yield collector


def switch_info(row: dict[str, float]) -> str:
    """The progress line's part on switching (empty without a shield)."""
    if "shield/switch_rate" not in row:
        return ""
    return f", switched {row.get('shield/switch_rate_update', 0.0):.1%} (so far {row['shield/switch_rate']:.1%})"


def train(
    cfg: RunConfig,
    run_dir: Path,
    resume: bool,
    console: Console,
    progress_every: float = PLAIN_INTERVAL_S,
    baselines: Sequence[str] = BASELINES,
    ray_address: str | None = None,
) -> dict[str, dict[str, float]]:
    """Train PPO, then compare it with ``baselines`` (see the module docstring).

    ``netslice reproduce`` evaluates the baselines once per scenario and seed, apart, and passes none. With
    ``cfg.workers``, the rollouts run in Ray actors (a local Ray, or the cluster at ``ray_address``), stopped once
    training ends, also on errors.

    Writes ``run_dir/run_config.json`` (:meth:`RunConfig.save`) once the checkpoint, if resumed, is known to be
    of the same configuration. Per-domain agents (``cfg.agents == "per-domain"``) train as
    :class:`~.agents.domain_agents.DomainAgents` and are evaluated as one :class:`~.agents.domain_policy.DomainPolicy`
    (row ``per-domain``; with ``--switching`` also ``per-domain+switching``, the actors behind their shield).
    """
    sc = load(cfg.scenario)
    per_domain = cfg.agents == "per-domain"
    with rollout_workers(cfg, ray_address, console) as collector:
        learner = build_domain_agents(cfg, sc, run_dir) if per_domain else build_learner(cfg, sc, run_dir, collector)
        shield = learner.shield
        if learner.stale_removed:
            console.print(f"removed {len(learner.stale_removed)} temporary file(s) left by an interrupted "
                          "checkpoint save")  # fmt: skip
        resumed = resume and learner.resume()
        if resumed:
            console.print(f"resumed from {learner.checkpoint_path} at update {learner.update}/{learner.n_updates}")
        cfg.save(run_dir)
        if shield is not None and not resumed:
            warm = learner.policy() if isinstance(learner, PPO) and cfg.warm.enabled else None
            pre = shielding.pretrain(shield, cfg, sc, run_dir, warm=warm)
            console.print(f"shield pretrained offline on {pre['shield/pretrain/slots']:,.0f} slots in "
                          f"{pre['shield/pretrain/seconds']:.1f} s: held-out precision "
                          f"{pre['shield/pretrain/precision']:.2f}, recall {pre['shield/pretrain/recall']:.2f}",
                          soft_wrap=True)  # fmt: skip
        from torch.utils.tensorboard import SummaryWriter  # heavy import, only when training

        writer = SummaryWriter(str(run_dir / "tb"))
        writer.add_text("config", json.dumps(cfg.record()))
        total_steps = learner.n_updates * learner.batch_size
        with progress(console, progress_every) as bar:
            task = bar.add_task("train per-domain" if per_domain else "train ppo", total=learner.n_updates,
                                completed=learner.update, info="")  # fmt: skip

            def on_update(update: int, _n: int, row: dict[str, float]) -> None:
                step = int(row["charts/global_step"])
                for key, value in row.items():
                    writer.add_scalar(key, value, step)
                bar.update(task, completed=update, info=f"step {step:,}/{total_steps:,}, "
                           f"{row['charts/sps']:,.0f} steps/s, usage {row['usage/mean']:.3f}, violations "
                           f"{row['sla/violation_rate']:.1%} (so far {row['train/violation_rate']:.1%})"
                           + switch_info(row))  # fmt: skip

            start = time.perf_counter()
            learner.train(on_update=on_update)
            train_s = time.perf_counter() - start
        writer.close()
    sps = [row["charts/sps"] for row in learner.history if "charts/sps" in row]
    shield_info = (
        {} if shield is None else {"shield": shield.metrics(), "pretrain": shielding.pretrain_summary(run_dir)}
    )
    workers: dict[str, Any] = {"workers": cfg.workers} if cfg.workers else {}
    if cfg.agents != "central":  # recorded next to the results (a centralised run's files stay as they were)
        workers["agents"] = cfg.agents
    if per_domain:
        workers |= {"decomposition": cfg.decomposition, "domain_shares": cfg.domain_shares}
    written = write_training(learner, run_dir, console, train_envs=cfg.n_envs, train_s=round(train_s, 1),
                             steps_per_s=round(sum(sps) / len(sps), 1) if sps else None, **shield_info,
                             **workers)  # fmt: skip
    policies: dict[str, AnyPolicy] = {}
    if isinstance(learner, DomainAgents):
        policies["per-domain"] = learner.policy()
    else:
        policies["ppo"] = SharedSlicePolicy(learner.policy(), "ppo") if cfg.agents == "per-slice" else learner.policy()
    if isinstance(shield, TrainingShield):
        assert isinstance(learner, PPO)
        policies["ppo+switching"] = shield.switching_policy(learner.policy(), name="ppo+switching")
    elif isinstance(shield, SliceShield):  # the slice agent on every slice, its networks behind the shield
        assert isinstance(learner, PPO)
        slice_agent = SharedSlicePolicy(learner.policy(), "ppo+switching")
        policies["ppo+switching"] = shield.switching_policy(slice_agent, name="ppo+switching")
    elif isinstance(shield, DomainShield):  # the three group actors, their networks behind the shield
        assert isinstance(learner, DomainAgents)
        policies["per-domain+switching"] = shield.switching_policy(learner.policy())
    policies.update({name: make_policy(name, sc, cfg.weights) for name in baselines})
    results = evaluate_all(policies, sc, cfg.eval_days, cfg.eval_envs, 1000 + cfg.ppo.seed, console, progress_every,
                           weights=cfg.weights)  # fmt: skip
    return report(results, run_dir, console, learner.history, written, days=cfg.eval_days, n_envs=cfg.eval_envs,
                  config=asdict(cfg.ppo), train_envs=cfg.n_envs, **workers,
                  **({"safety": asdict(cfg.safety)} if cfg.safety.enabled else {}))  # fmt: skip
