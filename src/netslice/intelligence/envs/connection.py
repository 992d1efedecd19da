"""How an environment connects to the orchestrator: the agent API it drives, and the encoder and spaces behind it.

:class:`AgentApi` is the interface the environments use (an in-process
:class:`~netslice.orchestration.orchestrator.Orchestrator` or the REST client); :func:`connect` builds or
checks the orchestrator, :class:`~.features.Encoder` and :class:`~netslice.orchestration.agent_api.Spaces`
of an environment.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.intelligence.envs.features import Encoder, FloatArray
from netslice.network import scenarios
from netslice.network.allocation import RESOURCES
from netslice.network.scenarios import Scenario
from netslice.orchestration.agent_api import Observation, Spaces, StepResult
from netslice.orchestration.orchestrator import Orchestrator


class AgentApi(Protocol):
    """The orchestrator's agent API the environments use (in-process or over HTTP, one interface)."""

    def spaces(self) -> Spaces:
        """Shapes, bounds and names."""
        ...

    def reset(self, seed: int | None = None, mask: NDArray[np.bool_] | None = None) -> Observation:
        """Start new episodes (all envs, or those in ``mask``)."""
        ...

    def step(self, action: object | None = None) -> StepResult:
        """Run one slot under ``action``."""
        ...

    def observation(self) -> Observation:
        """The latest observation."""
        ...


def connect(
    scenario: str | Scenario,
    n_envs: int,
    seed: int | None,
    *,
    orchestrator: AgentApi | None = None,
    encoder: Encoder | None = None,
    weights: FloatArray | None = None,
    backend: str = "auto",
    include_kpis: bool = False,
) -> tuple[AgentApi, Encoder, Spaces]:
    """The orchestrator, encoder and spaces behind an environment.

    Args:
        scenario: scenario name or loaded scenario (used when ``orchestrator`` is not an in-process
            :class:`Orchestrator`, and to build one when none is given).
        n_envs: networks of a new orchestrator (ignored when ``orchestrator`` is given).
        seed: seed of a new orchestrator.
        orchestrator: an existing orchestrator (or client with the same interface) to drive.
        encoder: an existing encoder (default: built from the scenario with ``weights``; ``weights``
            is then ignored).
        weights: domain weights of the reward (see :meth:`Encoder.from_scenario`).
        backend: simulator backend of a new orchestrator.
        include_kpis: put the raw KPIs in the info dicts.

    Raises:
        ConfigError: the encoder's slices differ from the orchestrator's.
    """
    if orchestrator is None:
        # An env's own orchestrator records no threshold events: nothing reads them, and they are costly.
        orchestrator = Orchestrator.create(scenario, n_envs=n_envs, seed=seed, backend=backend, events=False)
    if encoder is None:
        if isinstance(orchestrator, Orchestrator):
            sc = orchestrator.scenario
        else:
            sc = scenarios.load(scenario) if isinstance(scenario, str) else scenario
        encoder = Encoder.from_scenario(sc, weights=weights, include_kpis=include_kpis)
    elif include_kpis and not encoder.include_kpis:
        encoder = replace(encoder, include_kpis=True)
    sp = orchestrator.spaces()
    if tuple(sp.slices) != encoder.slice_names or tuple(sp.resources) != RESOURCES:
        raise ConfigError(f"encoder: slices {encoder.slice_names} and resources {RESOURCES} must match the "
                          f"orchestrator's {sp.slices} and {sp.resources}")  # fmt: skip
    return orchestrator, encoder, sp
