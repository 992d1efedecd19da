"""The policy protocols every baseline, the oracle and every trained agent implement.

Three ways to act, one per kind of input:

* :class:`Policy`: ``act(obs)`` maps a batch of flat observations ``(n_envs, n_features)`` (the
  layout of :mod:`netslice.intelligence.envs.features`) to flat resource-major actions
  ``(n_envs, 7 K)`` in [0, 1]. This is what runs inside the environments; trained agents, the
  static and the rule-based baselines implement it. ``reset()`` is optional: call
  :func:`reset_policy`, which calls it when the policy has one (e.g. to clear a recurrent state).
* :class:`ContextPolicy`: ``act_context(ctx)`` maps a :class:`PolicyContext` (the orchestrator's
  raw :class:`~netslice.orchestration.agent_api.Observation`, its spaces and the scenario) to
  allocations ``(n_envs, 7, K)``, the orchestrator's action shape. Policies that need more than
  the encoded observation use it: the rule-based baseline reads the exact active UEs.
* :class:`ModelPolicy`: ``act_model(ctx, model)`` also gets the orchestrator's
  :class:`~netslice.orchestration.planning.PlanningModel`, a read-only snapshot of the network
  model, its state and the SLA targets, to plan with (the oracle, the forecast planner, later the
  safety layer). Implementing this method is how a policy declares that it plans with the model;
  it never gets the orchestrator or the network itself.

:func:`allocation_for` gives a context or model policy what it declared it needs and returns its
allocation for the coming slot.

>>> import numpy as np
>>> from netslice.intelligence.policies.static import StaticPolicy
>>> from netslice.orchestration.orchestrator import Orchestrator
>>> orch = Orchestrator.create("testbed-v0", n_envs=2, seed=0)
>>> policy = StaticPolicy.equal_split(3)
>>> ctx = PolicyContext.of(orch)
>>> policy.act_context(ctx).shape
(2, 7, 3)
>>> allocation_for(policy, orch).shape
(2, 7, 3)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from netslice.network.scenarios import Scenario
from netslice.orchestration.agent_api import Observation, Spaces
from netslice.orchestration.orchestrator import Orchestrator
from netslice.orchestration.planning import PlanningModel

FloatArray = NDArray[np.float64]
T = TypeVar("T")


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


@runtime_checkable
class ModelPolicy(Protocol):
    """Plans with the network model (see the module docstring)."""

    def act_model(self, ctx: PolicyContext, model: PlanningModel) -> FloatArray:
        """Allocations ``(n_envs, 7, K)`` in [0, 1] for the coming slot, planned with ``model``."""
        ...


@dataclass(frozen=True)
class PolicyContext:
    """What a :class:`ContextPolicy` may read before a slot.

    Attributes:
        observation: the orchestrator's latest observation (``kpis`` is ``None`` right after a reset).
        spaces: shapes and names of the orchestrator's agent API.
        scenario: the scenario card (traffic scales, slice kinds, SLAs).
    """

    observation: Observation
    spaces: Spaces
    scenario: Scenario

    @classmethod
    def of(cls, orch: Orchestrator) -> PolicyContext:
        """The context of an in-process orchestrator's latest observation."""
        return cls(orch.observation(), orch.spaces(), orch.scenario)


#: Any policy :func:`~netslice.intelligence.evaluate.evaluate` can run.
AnyPolicy = Policy | ContextPolicy | ModelPolicy


def allocation_for(policy: ContextPolicy | ModelPolicy, orch: Orchestrator) -> FloatArray:
    """The allocation ``(n_envs, 7, K)`` ``policy`` asks for in ``orch``'s coming slot.

    A :class:`ModelPolicy` gets the context and the planning model; a :class:`ContextPolicy` the context.

    Raises:
        TypeError: ``policy`` implements neither protocol.
    """
    ctx = PolicyContext.of(orch)
    if isinstance(policy, ModelPolicy):
        return policy.act_model(ctx, orch.planning_model())
    if isinstance(policy, ContextPolicy):
        return policy.act_context(ctx)
    raise TypeError(f"{type(policy).__name__}: implements neither act_model nor act_context")


def bind_policy(policy: object, orch: Orchestrator) -> None:
    """Call ``policy.bind(orch)`` when the policy defines one (the method is optional).

    A policy that plans for the networks it plays (a :class:`~.bound.BoundPolicy`, or a
    :class:`~.switching.SwitchingPolicy` with one as its baseline) is told which ones before it acts, and starts
    from a fresh state.
    """
    bind = getattr(policy, "bind", None)
    if callable(bind):
        bind(orch)


def reset_policy(policy: object) -> None:
    """Call ``policy.reset()`` when the policy defines one (the method is optional)."""
    reset = getattr(policy, "reset", None)
    if callable(reset):
        reset()


class PerScenario(Generic[T]):
    """One object per scenario (e.g. an observation encoder), made by ``make`` on first use.

    A scenario is known by identity: the object made for it is kept with it, so a new scenario object at the same
    address is not mistaken for the old one.
    """

    def __init__(self, make: Callable[[Scenario], T]) -> None:
        self._make = make
        self._known: dict[int, tuple[Scenario, T]] = {}

    def __call__(self, scenario: Scenario) -> T:
        """The object of ``scenario``."""
        known = self._known.get(id(scenario))
        if known is None or known[0] is not scenario:
            known = self._known[id(scenario)] = (scenario, self._make(scenario))
        return known[1]
