"""Baseline switching in the jobs: a run's training shield, its offline pretraining, a trained agent behind it.

The shield (:class:`~netslice.intelligence.agents.shield.TrainingShield`) enforces its baseline where the agent's
action is predicted to violate: the scenario's rule-based policy
(:class:`~netslice.intelligence.policies.rule.RuleBasedPolicy`, ``shield.baseline = "rule"``), or the forecast
planner (``"forecast:Q"``) bound to the networks it switches
(:class:`~netslice.intelligence.policies.bound.BoundPolicy`: the training networks, the pretraining's own, an
evaluation's). Before training it is pretrained offline on a simulator of its own, never the training networks:
:data:`PRETRAIN_SEED` + the PPO seed seeds those networks, ``pretrain_slots`` slots each. Those offline slots are
reported apart (``run_dir/shield_pretrain.json``, :data:`PRETRAIN_FILE`) and are not part of the training run's
violations: they stand for the operator's historical data of the baseline and of perturbed baseline actions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from netslice.errors import ConfigError
from netslice.intelligence.agents import checkpoint as ckpt
from netslice.intelligence.agents.domain_policy import DomainPolicy
from netslice.intelligence.agents.domain_shield import DomainShield
from netslice.intelligence.agents.ppo import EVAL_HINT, PPOPolicy
from netslice.intelligence.agents.shield import TrainingShield
from netslice.intelligence.agents.shield_front import ShieldFront
from netslice.intelligence.agents.slice_shield import SliceShield
from netslice.intelligence.envs.domain_vector import DomainVectorEnv
from netslice.intelligence.envs.slice_agents import SliceAgentsVectorEnv
from netslice.intelligence.envs.vector import SliceVectorEnv
from netslice.intelligence.policies.base import Policy
from netslice.intelligence.policies.bound import BoundPolicy
from netslice.intelligence.policies.forecast import ForecastPlanner
from netslice.intelligence.policies.rule import RuleBasedPolicy
from netslice.intelligence.policies.shared_slice import SharedSlicePolicy
from netslice.intelligence.policies.slice_switching import SliceSwitchingPolicy
from netslice.intelligence.policies.switching import SwitchingPolicy
from netslice.intelligence.run_config import RunConfig, write_json_atomic
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets
from netslice.orchestration.orchestrator import Orchestrator

#: Offset of the pretraining networks' seed from the PPO seed (a stream apart from training and evaluation).
PRETRAIN_SEED = 2_000_000
#: The pretraining's figures in a run folder (the ``shield/pretrain/*`` metrics of :mod:`.agents.shield`).
PRETRAIN_FILE = "shield_pretrain.json"


def needs_kpis(cfg: RunConfig) -> bool:
    """Whether the training envs must report their KPIs (the shield learns the signed SLA margin)."""
    return cfg.safety.switching and cfg.shield.target == "margin"


def baseline_policy(cfg: RunConfig, scenario: Scenario, orch: Any = None) -> Policy:
    """The shield's baseline of ``cfg.shield.baseline``.

    The rule-based policy, or the forecast planner bound to ``orch`` (an in-process orchestrator; None: bound
    later, e.g. by :func:`~.evaluate.evaluate`).

    Raises:
        ConfigError: a planning baseline for networks that are not in this process.
    """
    spec = cfg.shield.baseline
    if spec == "rule":
        return RuleBasedPolicy.from_scenario(scenario)
    if orch is not None and not isinstance(orch, Orchestrator):
        raise ConfigError(f"shield_baseline: {spec!r} plans with the network model and needs the networks in this "
                          "process; use 'rule' with a remote orchestrator")  # fmt: skip
    return BoundPolicy(ForecastPlanner.from_spec(spec, cfg.weights), orch)


def build_shield(cfg: RunConfig, scenario: Scenario, envs: Any, bind: bool = True) -> TrainingShield:
    """The run's shield: its settings, its baseline (:func:`baseline_policy`), the envs' encoder's spaces and slices.

    ``envs``: the training envs, a :class:`~.envs.vector.SliceVectorEnv` or, for per-slice agents, a
    :class:`~.envs.slice_agents.SliceAgentsVectorEnv` (its networks in the centralised layout; wrap the shield in a
    :class:`~.agents.slice_shield.SliceShield`). ``bind``: bind a planning baseline to ``envs``' networks (off:
    left unbound, for a trained shield evaluated elsewhere).
    """
    n_obs = int(np.prod(envs.encoder.observation_space().shape or ()))
    n_act = int(np.prod(envs.encoder.action_space().shape or ()))
    return TrainingShield(
        cfg.shield, baseline_policy(cfg, scenario, envs.orch if bind else None), n_obs, n_act,
        envs.encoder.slice_names,
        targets=SlaTargets.from_spec(scenario.spec),
        expectation=cfg.safety.switched_samples in ("corrected", "estimated"),
    )  # fmt: skip


def pretrain(
    shield: TrainingShield | ShieldFront, cfg: RunConfig, scenario: Scenario, run_dir: Path,
    warm: Policy | None = None,
) -> dict[str, float]:  # fmt: skip
    """Pretrain ``shield`` offline (see the module docstring); write and return its ``shield/pretrain/*`` figures.

    ``shield``: the run's shield; one in front of per-slice or per-domain agents pretrains its network-level shield
    (on networks in the centralised layout, as it judges them).

    ``warm``: a warm start's actor; the pretraining then plays and perturbs its actions instead of the baseline's
    (measured: pretrained around the rule-based policy, the shield switched a forecast-planner clone in every slot
    for the first third of a 3M-step run and more, and never saw those actions prove safe).
    """
    if isinstance(shield, ShieldFront):
        shield = shield.shield
    seed = PRETRAIN_SEED + cfg.ppo.seed
    offline = SliceVectorEnv(cfg.n_envs, scenario, seed=seed, weights=np.asarray(cfg.weights), include_kpis=True)
    around = warm
    if around is None and isinstance(shield.baseline, BoundPolicy):  # a planner of its own, on the offline networks
        around = baseline_policy(cfg, scenario, offline.orch)
    figures = shield.pretrain(offline, seed, around=around)
    label = "the warm actor" if warm is not None else "the baseline"
    write_json_atomic(run_dir / PRETRAIN_FILE, {"seed": seed, "n_envs": cfg.n_envs, "around": label, **figures})
    return figures


def load_switching(path: Path, scenario: Scenario) -> SwitchingPolicy | SliceSwitchingPolicy:
    """The PPO agent of a checkpoint behind the shield it trained with (frozen), as one policy.

    A per-slice run's agent runs on every slice, its networks behind the shield
    (:class:`~.policies.slice_switching.SliceSwitchingPolicy`); a per-domain run's three group actors
    (:class:`~.agents.domain_policy.DomainPolicy`) likewise.

    Raises:
        ConfigError: the run did not train with switching (nothing to load).
        CheckpointError: the file is not a usable checkpoint.
    """
    data: dict[str, Any] = ckpt.load_checkpoint(path, ("run_config", "shield"), EVAL_HINT)
    if data.get("shield") is None:
        raise ConfigError(f"policy: {str(path)!r} was trained without switching; it has no shield to evaluate")
    per_domain = (data.get("run_config") or {}).get("agents") == "per-domain"
    actors = DomainPolicy.load(path, scenario) if per_domain else None  # its error names a scenario of another size
    with ckpt.restoring(path, EVAL_HINT):
        cfg = RunConfig.from_dict(data["run_config"], f"checkpoint {str(path)!r}")
        if actors is not None:
            domain_envs = DomainVectorEnv(1, scenario, seed=0)
            domain_shield = build_shield(cfg, scenario, domain_envs, bind=False)
            domain_shield.load_state(data["shield"])
            return DomainShield(domain_shield, domain_envs).switching_policy(actors, name="per-domain+switching")
        agent = PPOPolicy.load(path)
        per_slice = cfg.agents == "per-slice"
        envs = SliceAgentsVectorEnv(1, scenario, seed=0) if per_slice else SliceVectorEnv(1, scenario, seed=0)
        shield = build_shield(cfg, scenario, envs, bind=False)
        shield.load_state(data["shield"])
    if per_slice:
        return SliceShield(shield, envs).switching_policy(SharedSlicePolicy(agent), name="ppo+switching")
    return shield.switching_policy(agent, name="ppo+switching")


def pretrain_summary(run_dir: Path) -> dict[str, Any]:
    """The pretraining figures of a run folder ({} when it has none)."""
    path = run_dir / PRETRAIN_FILE
    return json.loads(path.read_text()) if path.exists() else {}
