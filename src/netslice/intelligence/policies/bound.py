"""A context or model policy bound to one orchestrator, acting as a plain :class:`~.base.Policy`.

The training shield and :class:`~.switching.SwitchingPolicy` ask their baseline ``act(obs)`` with the encoded
observations. The rule-based policy reads those; a planner (:class:`~.forecast.ForecastPlanner`) needs the
orchestrator's raw observation and planning model instead. :class:`BoundPolicy` gives it them: its ``act``
ignores the encoded rows (it checks their number) and returns the planner's allocation for the coming slot of
the orchestrator it is bound to, flattened resource-major. Call it once per slot, before the slot is played
(a forecast planner conditions on each slot it is shown), and bind it to the networks being played
(:meth:`BoundPolicy.bind`, which also resets the policy: a planner's state belongs to its networks).

>>> import numpy as np
>>> from netslice.intelligence.envs.vector import SliceVectorEnv
>>> from netslice.intelligence.policies.forecast import ForecastPlanner
>>> envs = SliceVectorEnv(2, "testbed-v0", seed=0)
>>> obs, _ = envs.reset(seed=0)
>>> baseline = BoundPolicy(ForecastPlanner.create(0.999), envs.orch)
>>> baseline.act(obs).shape
(2, 21)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netslice.intelligence.envs.features import flatten_allocation
from netslice.intelligence.policies.base import ContextPolicy, ModelPolicy, allocation_for, reset_policy
from netslice.orchestration.orchestrator import Orchestrator

FloatArray = NDArray[np.float64]


@dataclass
class BoundPolicy:
    """``policy`` acting on ``orch``'s coming slot (see the module docstring).

    Attributes:
        policy: a context or model policy.
        orch: the orchestrator whose networks it plans for.
    """

    policy: ContextPolicy | ModelPolicy
    orch: Orchestrator | None = None

    def act(self, obs: NDArray[np.floating]) -> FloatArray:
        """The policy's flat allocation ``(n_envs, 7 K)`` for the coming slot (``obs`` only sets the row count).

        Raises:
            ValueError: ``obs`` has another number of rows than the orchestrator has networks.
            RuntimeError: not bound to an orchestrator yet.
        """
        if self.orch is None:
            raise RuntimeError(
                f"baseline: {type(self.policy).__name__} plans with the network model and is not bound to the "
                "networks it plays; bind(orchestrator) first (netslice's evaluate and collect do)"
            )
        allocation = allocation_for(self.policy, self.orch)
        n = np.asarray(obs).shape[0]
        if allocation.shape[0] != n:
            raise ValueError(f"baseline: bound to {allocation.shape[0]} networks, asked for {n} observations")
        return flatten_allocation(allocation)

    def bind(self, orch: Orchestrator) -> None:
        """Plan for ``orch``'s networks from now on, from a fresh state."""
        self.orch = orch
        reset_policy(self.policy)

    def reset(self) -> None:
        """Reset the policy's state (a planner's forecasts)."""
        reset_policy(self.policy)

    def state(self) -> dict[str, Any]:
        """The policy's state for an exact resume ({} when it keeps none); numpy arrays and plain data only."""
        get = getattr(self.policy, "state", None)
        return dict(get()) if callable(get) else {}

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state` (the planning model's parameters come from the bound orchestrator).

        Unbound, there is nothing to continue: :meth:`bind` starts the policy afresh on the networks it is given.
        """
        load = getattr(self.policy, "load_state", None)
        if callable(load) and self.orch is not None:
            load(state, self.orch.planning_model().params.traffic)
