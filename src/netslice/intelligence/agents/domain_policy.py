"""The trained per-domain agents as one deterministic policy (:class:`DomainPolicy`), for the evaluation.

The evaluation (:func:`~netslice.intelligence.evaluate.evaluate`) drives a single-agent env and hands a
:class:`~netslice.intelligence.policies.base.ContextPolicy` the orchestrator's raw observation. The per-domain actors
need more: their latency budgets and last local costs, which the env's SLA decomposer kept while they learned. So the
policy keeps its own copy of the decomposer's state and advances it from each slot's KPIs with the env's own
:func:`~netslice.intelligence.decomposition.judge_slot`: the actors see exactly the features they were trained
on. Each actor plays its mean action on its own observation; the rows are joined into the ``(n_envs, 7, K)``
allocation (:func:`~netslice.intelligence.envs.domain_vector.assemble_batch`).

A new episode starts where every network's ``episode_slot`` is 0 (budgets back at the fixed split, nothing
measured). The state advances once per orchestrator slot (asking twice in one slot gives the same action). All
networks must be in step: the evaluation's are.

:meth:`DomainPolicy.load` reads the actors of a ``netslice train --agents per-domain`` run
(``netslice evaluate --policy per-domain:RUN``), with the decomposition they were trained under.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.intelligence.agents import checkpoint as ckpt
from netslice.intelligence.agents.nets import ActorCritic
from netslice.intelligence.agents.normalize import RunningMeanStd
from netslice.intelligence.agents.policy import EVAL_HINT, new_agent
from netslice.intelligence.agents.ppo_config import PPOConfig
from netslice.intelligence.decomposition import (
    GROUPS,
    N_GROUPS,
    DecompositionConfig,
    DecompositionState,
    SlaDecomposer,
    judge_slot,
)
from netslice.intelligence.envs import domain_features as layout
from netslice.intelligence.envs.domain_vector import DomainVectorEnv, assemble_batch
from netslice.intelligence.envs.features import Encoder, FloatArray
from netslice.intelligence.policies.base import PolicyContext
from netslice.network.allocation import read_only
from netslice.network.scenarios import Scenario
from netslice.network.scenarios.sla import SlaTargets

#: The ``kind`` entry of a per-domain checkpoint (a PPO checkpoint has none).
KIND = "per-domain"
#: Entries a per-domain checkpoint needs to act as a policy (:meth:`DomainPolicy.load`).
POLICY_KEYS = ("kind", "config", "groups", "decomposition")


@dataclass
class GroupActor:
    """One group's trained actor and the observation statistics it was trained with."""

    agent: ActorCritic
    obs_rms: RunningMeanStd | None

    def act(self, obs: NDArray[np.floating]) -> FloatArray:
        """Mean action ``(n, n_act)`` for raw observations ``(n, n_obs)``."""
        x = np.asarray(obs, dtype=np.float64)
        x = self.obs_rms.normalize(x) if self.obs_rms is not None else x
        with torch.no_grad():
            mean = self.agent.mean(torch.as_tensor(x, dtype=torch.float32))
        return np.asarray(mean.numpy(), dtype=np.float64)


class DomainPolicy:
    """Three per-domain actors as one :class:`~netslice.intelligence.policies.base.ContextPolicy` (module docstring).

    Args:
        actors: group -> its actor (every group of :data:`~netslice.intelligence.decomposition.GROUPS`).
        encoder: the encoder of the traffic, allocation and time features (the training env's).
        decomposer: the SLA decomposer the actors were trained under.
        targets: the slices' SLA targets.
    """

    def __init__(
        self, actors: dict[str, GroupActor], encoder: Encoder, decomposer: SlaDecomposer, targets: SlaTargets
    ) -> None:
        self.actors = actors
        self.encoder = encoder
        self.decomposer = decomposer
        self.targets = targets
        self._budgets: DecompositionState | None = None
        self._local: FloatArray | None = None
        self._slot: int | None = None

    @classmethod
    def load(cls, path: str | Path, scenario: str | Scenario) -> DomainPolicy:
        """The three actors of a ``netslice train --agents per-domain`` run folder or its ``checkpoint.pt``.

        Args:
            path: the run folder or checkpoint.
            scenario: the scenario the policy will play (its slices must be those the actors were trained on).

        Raises:
            ConfigError: no checkpoint there, a checkpoint of another kind of agent, or actors trained on
                another number of slices than ``scenario`` has.
            CheckpointError: the file is not a usable checkpoint.
        """
        path = ckpt.run_checkpoint(path, "per-domain")
        data = ckpt.load_checkpoint(path, hint=EVAL_HINT)
        if data.get("kind") != KIND:
            raise ConfigError(f"policy: {str(path)!r} is not a run of per-domain agents (trained with --agents "
                              f"{(data.get('run_config') or {}).get('agents', 'central')}); load it without the "
                              "per-domain: prefix, or with per-slice: for per-slice agents")  # fmt: skip
        missing = [key for key in POLICY_KEYS if key not in data]
        if missing:
            raise ckpt.CheckpointError(f"checkpoint {path}: incomplete (missing {', '.join(missing)}); {EVAL_HINT}")
        with ckpt.restoring(path, EVAL_HINT):
            cfg = PPOConfig(**data["config"])
            actors = {}
            for g in GROUPS:
                saved = data["groups"][g]
                agent = new_agent(cfg, int(saved["n_obs"]), int(saved["n_act"]), int(saved["n_costs"]))
                agent.load_state_dict(saved["agent"])
                rms = RunningMeanStd.from_state_dict(saved["obs_rms"]) if saved["obs_rms"] else None
                actors[g] = GroupActor(agent, rms)
            dec = data["decomposition"]
            config = DecompositionConfig(**dec["config"])
            shares = read_only(np.asarray(dec["shares"], dtype=np.float64))
        env = DomainVectorEnv(1, scenario, weights=np.asarray(dec["weights"], dtype=np.float64), decomposition=config)
        if (
            any(env.obs_sizes[g] != actors[g].agent.n_obs for g in GROUPS)
            or env.decomposer.shares.shape != shares.shape
        ):
            trained = {g: a.agent.n_obs for g, a in actors.items()}
            name = scenario if isinstance(scenario, str) else scenario.name
            raise ConfigError(f"policy: {str(path)!r} was trained with observations of {trained} values, scenario "
                              f"{name} gives {env.obs_sizes} (another number of slices?)")  # fmt: skip
        return cls(actors, env.encoder, replace(env.decomposer, shares=shares), env.targets)

    def reset(self) -> None:
        """Forget the decomposition state (the next call starts at the fixed split)."""
        self._budgets = self._local = self._slot = None

    def act_context(self, ctx: PolicyContext) -> FloatArray:
        """The allocation ``(n_envs, 7, K)`` of the coming slot."""
        obs = ctx.observation
        n, K = obs.allocation.shape[0], obs.allocation.shape[-1]
        fresh = obs.kpis is None or bool(np.all(obs.episode_slot == 0))
        if fresh or self._budgets is None or self._local is None or self._budgets.n_envs != n:
            self._budgets = self.decomposer.initial(n)
            self._local = np.zeros((n, K, N_GROUPS))
            obs = replace(obs, kpis=None)
        elif obs.slot != self._slot and obs.kpis is not None:
            judged = judge_slot(self.decomposer, self.targets, self._budgets, obs.kpis)
            self._budgets, self._local = judged.state, judged.local
        self._slot = obs.slot
        per_group = layout.group_observations(self.encoder, obs, self._budgets.budgets_ms, self._local)
        actions = {g: actor.act(per_group[g]) for g, actor in self.actors.items()}
        alloc, _ = assemble_batch(actions, n, K)
        return alloc
