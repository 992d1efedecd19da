"""Static baselines: the same allocation every slot, whatever the traffic.

* :meth:`StaticPolicy.equal_split`: every share row split equally among the K slices (1/K),
  MCS cap knobs 0 (no cap) -- the "static equal split" baseline of DeepSlicing.
* :meth:`StaticPolicy.initial`: the scenario's initial allocation (its card's provisioning).

Both implement :class:`~netslice.intelligence.policies.base.Policy` (flat observations in, flat
resource-major actions out) and :class:`~netslice.intelligence.policies.base.ContextPolicy`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.intelligence.policies.base import FloatArray, PolicyContext
from netslice.network.allocation import N_RESOURCES, check_values, equal_split
from netslice.network.scenarios import Scenario


@dataclass(frozen=True)
class StaticPolicy:
    """A fixed allocation.

    Attributes:
        allocation: ``(7, K)`` allocation in [0, 1] (rows prb_ul ... edge_cpu).
        name: label for reports.
    """

    allocation: FloatArray
    name: str = "static"

    def __post_init__(self) -> None:
        alloc = np.asarray(self.allocation, dtype=np.float64)
        if alloc.ndim != 2 or alloc.shape[0] != N_RESOURCES:
            raise ConfigError(f"allocation: shape must be ({N_RESOURCES}, n_slices), got {alloc.shape}")
        check_values(alloc[None], "allocation")
        object.__setattr__(self, "allocation", alloc.copy())

    @classmethod
    def equal_split(cls, n_slices: int) -> StaticPolicy:
        """Every share row 1/K, MCS knobs 0."""
        return cls(equal_split(1, n_slices)[0], name="static-equal")

    @classmethod
    def initial(cls, scenario: Scenario) -> StaticPolicy:
        """The scenario's initial allocation."""
        return cls(np.asarray(scenario.params.initial_allocation, dtype=np.float64), name="static-initial")

    def act(self, obs: NDArray[np.floating]) -> FloatArray:
        """The allocation, flattened resource-major, for each of the ``obs.shape[0]`` envs."""
        n_envs = int(np.asarray(obs).shape[0])
        return np.tile(self.allocation.reshape(1, -1), (n_envs, 1))

    def act_context(self, ctx: PolicyContext) -> FloatArray:
        """The allocation ``(n_envs, 7, K)``."""
        return np.tile(self.allocation[None], (ctx.spaces.n_envs, 1, 1))
