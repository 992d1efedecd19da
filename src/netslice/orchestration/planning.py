"""What a model-based policy may ask the orchestrator before a slot: the planning model.

The oracle, the forecast planner and, later, the safety layer (predicting a slot's SLA violations,
checking a fallback allocation) plan with an exact model of the network. They never touch the
network or the orchestrator: the orchestrator hands them a :class:`PlanningModel`, a read-only
snapshot of what planning needs, through the :class:`~netslice.intelligence.policies.base.ModelPolicy`
protocol.

==================  ==========================================================================================
attribute / call    what
==================  ==========================================================================================
``network``         the :class:`~netslice.network.model.NetworkModel` (parameters, backend, pure step)
``state``           the networks' state now (read it, never change it: the model's calls do not)
``targets``         the SLA targets in force (each provisioned slice's ServiceProfile terms)
``active``          ``(n_slices,)`` provisioned slices (the others get nothing whatever a policy asks)
``probe(load)``     a :class:`~netslice.network.model.Probe` of the coming slot, optionally under a load
                    forecast; ``probe.cost(candidates, targets)`` is the SLA cost of stacked candidates
==================  ==========================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.network.kernel import SimParams, SimState
from netslice.network.model import NetworkModel, Probe
from netslice.network.scenarios.sla import SlaTargets

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class PlanningModel:
    """A read-only snapshot for planning (see the module docstring).

    Attributes:
        network: the network model.
        state: the networks' state before the coming slot.
        targets: SLA targets in force.
        active: ``(n_slices,)`` provisioned slices.
    """

    network: NetworkModel
    state: SimState
    targets: SlaTargets
    active: NDArray[np.bool_]

    @property
    def params(self) -> SimParams:
        """The scenario's network parameters."""
        return self.network.params

    @property
    def load_shape(self) -> tuple[int, ...]:
        """``(n_envs, n_slices)``: the shape of a load to plan for."""
        return tuple(self.state.traffic.load.shape)

    def probe(self, load: FloatArray | None = None) -> Probe:
        """The coming slot from now, under ``load`` ``(n_envs, n_slices)`` active UEs (default: the true one).

        Raises:
            ConfigError: ``load`` is not finite, non-negative and shaped :attr:`load_shape`.
        """
        return self.network.probe(self.state, load)

    def cost(self, candidates: FloatArray, load: FloatArray | None = None) -> FloatArray:
        """SLA cost ``(D, n_envs, n_slices)`` of stacked candidates ``(D, n_envs, n_resources, n_slices)``."""
        return self.probe(load).cost(candidates, self.targets)
