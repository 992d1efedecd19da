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
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from numpy.typing import NDArray

from netslice.intelligence.agents.nets import ActorCritic
from netslice.intelligence.agents.normalize import RunningMeanStd
from netslice.intelligence.decomposition import N_GROUPS, DecompositionState, SlaDecomposer, judge_slot
from netslice.intelligence.envs import domain_features as layout
from netslice.intelligence.envs.domain_vector import assemble_batch
from netslice.intelligence.envs.features import Encoder, FloatArray
from netslice.intelligence.policies.base import PolicyContext
from netslice.network.scenarios.sla import SlaTargets


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
