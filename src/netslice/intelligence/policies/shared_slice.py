"""One trained slice agent serving every slice of a network: :class:`SharedSlicePolicy`.

A per-slice agent (trained with ``netslice train --agents per-slice`` on
:class:`~netslice.intelligence.envs.slice_agents.SliceAgentsVectorEnv`) sees one slice at a time, in the layout of
:mod:`~netslice.intelligence.envs.slice_features`, and answers with that slice's column of the allocation. This
:class:`~.base.ContextPolicy` runs it on every provisioned slice of the orchestrator's observation, with the same
encoding as the env, and returns the allocation ``(n_envs, 7, K)`` (0 for the slots without a slice), whatever the
number of slices K of the network it serves.

A slice that did not run the last slot reads 0 in its own block, as in the env: the policy takes a slice as such
when it was not provisioned at the previous call and used nothing in the slot observed. The orchestrator's
observation names no slice ids, so a slot whose slice leaves and whose next tenant arrives between the same two
slots is not seen as new here (the env, with an in-process orchestrator, sees it): that tenant's first decision
reads the former tenant's last slot.
The SLA features are the scenario's (the targets of the slot profiles :func:`~netslice.orchestration.lifecycle.
scenario_profile` gives; the env reads the targets in force of an in-process orchestrator, the same for such
slices).

>>> import numpy as np
>>> from netslice.intelligence.policies.base import allocation_for
>>> from netslice.orchestration.orchestrator import Orchestrator
>>> class Half:
...     def act(self, obs):
...         return np.full((len(obs), 7), 0.5)
>>> orch = Orchestrator.create("metro-v0", n_envs=2, seed=0)
>>> orch.terminate_slice("mmtc")
>>> _ = orch.step()  # the next observation shows the slice gone
>>> alloc = allocation_for(SharedSlicePolicy(Half()), orch)
>>> alloc.shape, float(alloc[0, 0, 2]), float(alloc[0, 0, 0])
((2, 7, 5), 0.0, 0.5)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.intelligence.envs.slice_features import N_AGENT_FEATURES, SliceEncoder
from netslice.intelligence.policies.base import FloatArray, PerScenario, Policy, PolicyContext
from netslice.network.allocation import N_RESOURCES
from netslice.network.scenarios import Scenario


class SharedSlicePolicy:
    """A slice agent (any :class:`~.base.Policy` on agent observations) run on every present slice.

    Args:
        actor: maps agent observations ``(m, 40)`` to slice columns ``(m, 7)`` in [0, 1] (e.g. a trained
            :class:`~netslice.intelligence.agents.policy.PPOPolicy`, deterministic).
        name: a label for tables.
    """

    def __init__(self, actor: Policy, name: str = "per-slice") -> None:
        self.actor = actor
        self.name = name
        self._encoders = PerScenario(SliceEncoder.from_scenario)
        self._ran: NDArray[np.bool_] | None = None  # slices provisioned at the previous call (they ran the slot)

    @classmethod
    def load(cls, path: str | Path, name: str = "per-slice") -> SharedSlicePolicy:
        """The slice agent of a ``netslice train --agents per-slice`` run folder or its ``checkpoint.pt``.

        Raises:
            ConfigError: no checkpoint there, or it is not a per-slice agent (its observation size).
            CheckpointError: the file is not a usable PPO checkpoint.
        """
        from netslice.intelligence.agents.checkpoint import run_checkpoint  # torch, only when a checkpoint is loaded
        from netslice.intelligence.agents.policy import PPOPolicy

        actor = PPOPolicy.load(run_checkpoint(path, "per-slice"))
        if (actor.agent.n_obs, actor.agent.n_act) != (N_AGENT_FEATURES, N_RESOURCES):
            raise ConfigError(
                f"policy: {str(path)!r} was trained with {actor.agent.n_obs} observations and {actor.agent.n_act} "
                f"actions, a per-slice agent has {N_AGENT_FEATURES} and {N_RESOURCES} (a centralised agent? load it "
                "without the per-slice: prefix)"
            )
        return cls(actor, name)

    def reset(self) -> None:
        """Forget which slices ran the last slot (a new evaluation starts)."""
        self._ran = None

    def encoder(self, scenario: Scenario) -> SliceEncoder:
        """The slice encoder of ``scenario`` (made once per scenario object)."""
        return self._encoders(scenario)

    def act_context(self, ctx: PolicyContext) -> FloatArray:
        """The allocation ``(n_envs, 7, K)``: each present slice's column from the actor, 0 for absent slots."""
        obs = ctx.observation
        present = np.asarray(obs.active, dtype=bool)
        fresh = None
        if obs.kpis is None:
            self._ran = None
        elif self._ran is not None and self._ran.shape == present.shape:
            # New since the last call and used nothing in the observed slot: it arrived after that slot ran, whose
            # KPIs are not its own. (A slice admitted before the slot ran, with a non-zero allocation, used some.)
            idle = ~np.asarray(obs.kpis.slice_usage, dtype=np.float64).any(axis=1)  # (n_envs, K)
            fresh = (present & ~self._ran)[None, :] & idle
        x = self.encoder(ctx.scenario).encode(obs, present, fresh)  # (n_envs, K, N)
        n_envs, k = x.shape[:2]
        columns = self.act_agents(x.reshape(n_envs * k, N_AGENT_FEATURES)).reshape(n_envs, k, N_RESOURCES)
        self._ran = present.copy()
        out: FloatArray = np.where(present[None, :, None], columns, 0.0).transpose(0, 2, 1).copy()
        return out

    def act_agents(self, obs: NDArray[np.floating]) -> FloatArray:
        """The actor's slice columns ``(m, 7)``, clipped to [0, 1], for agent observations ``(m, 40)``."""
        out: FloatArray = np.clip(np.asarray(self.actor.act(obs), dtype=np.float64), 0.0, 1.0)
        return out
