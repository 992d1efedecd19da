"""The policy protocols every baseline, the oracle and every trained agent implement.

Two ways to act, one per kind of input:

* :class:`Policy`: ``act(obs)`` maps a batch of flat observations ``(n_envs, n_features)`` (the
  layout of :mod:`netslice.intelligence.envs.features`) to flat resource-major actions
  ``(n_envs, 7 K)`` in [0, 1]. This is what runs inside the environments; trained agents, the
  static and the rule-based baselines implement it. ``reset()`` is optional: call
  :func:`reset_policy`, which calls it when the policy has one (e.g. to clear a recurrent state).
* :class:`ContextPolicy`: ``act_context(ctx)`` maps a :class:`PolicyContext` (the orchestrator's
  raw :class:`~netslice.orchestration.orchestrator.Observation`, its spaces and the scenario) to
  allocations ``(n_envs, 7, K)``, the orchestrator's action shape. Policies that need more than
  the encoded observation use it: the rule-based baseline reads the exact active UEs; the oracle
  and the forecast planner also get the in-process orchestrator (``ctx.orchestrator``) whose model
  they query. A policy declares that need with a class attribute ``needs_model = True``; no other
  policy may read it.

>>> import numpy as np
>>> from netslice.intelligence.policies.static import StaticPolicy
>>> from netslice.orchestration.orchestrator import Orchestrator
>>> orch = Orchestrator.create("testbed-v0", n_envs=2, seed=0)
>>> policy = StaticPolicy.equal_split(3)
>>> ctx = PolicyContext.of(orch)
>>> policy.act_context(ctx).shape
(2, 7, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from netslice.network.scenarios import Scenario
from netslice.orchestration.orchestrator import Observation, Orchestrator, Spaces

FloatArray = NDArray[np.float64]


@runtime_checkable
class Policy(Protocol):
    """Acts on batches of flat encoded observations (see the module docstring)."""

    def act(self, obs: NDArray[np.floating]) -> FloatArray:
        """Flat resource-major actions ``(n_envs, 7 K)`` in [0, 1] for observations ``(n_envs, n_features)``."""
        ...


@runtime_checkable
class ContextPolicy(Protocol):
    """Acts on the orchestrator's raw observation (see the module docstring)."""

    def act_context(self, ctx: PolicyContext) -> FloatArray:
        """Allocations ``(n_envs, 7, K)`` in [0, 1] for the coming slot."""
        ...


@dataclass(frozen=True)
class PolicyContext:
    """What a :class:`ContextPolicy` may read before a slot.

    Attributes:
        observation: the orchestrator's latest observation (``kpis`` is ``None`` right after a reset).
        spaces: shapes and names of the orchestrator's agent API.
        scenario: the scenario card (traffic scales, slice kinds, SLAs).
        orchestrator: the in-process orchestrator, for the oracle only (``None`` otherwise).
    """

    observation: Observation
    spaces: Spaces
    scenario: Scenario
    orchestrator: Orchestrator | None = None

    @classmethod
    def of(cls, orch: Orchestrator, with_model: bool = False) -> PolicyContext:
        """The context of an in-process orchestrator's latest observation.

        Args:
            orch: the orchestrator.
            with_model: hand the orchestrator itself over too (oracle only).
        """
        return cls(orch.observation(), orch.spaces(), orch.scenario, orch if with_model else None)


def reset_policy(policy: object) -> None:
    """Call ``policy.reset()`` when the policy defines one (the method is optional)."""
    reset = getattr(policy, "reset", None)
    if callable(reset):
        reset()
