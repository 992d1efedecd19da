"""The shapes the orchestrator's agent API speaks: what agents see and send, and what a slot returns.

==================  ==========================================================================================
type                what
==================  ==========================================================================================
:class:`Spaces`      shapes, bounds and names (``Orchestrator.spaces()``, ``GET /ai/v1/spaces``)
:class:`Observation` what an agent sees after a reset or a slot (``Orchestrator.observation()``)
:class:`Prepared`    an action after the orchestrator's checks (``Orchestrator.prepare(action)``, the dry run)
:class:`StepResult`  the outcome of one slot (``Orchestrator.step(action)``, ``POST /ai/v1/actions``)
==================  ==========================================================================================

The same shapes travel over HTTP (:mod:`netslice.orchestration.api.codec`) and come back from the REST
client, so an environment drives a local or a remote orchestrator alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.network.kernel import Kpis
from netslice.orchestration.enforcement import DomainFault

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Spaces:
    """Shapes, bounds and names of what an agent sees and sends.

    Attributes:
        scenario: scenario name (with its version suffix).
        n_envs: networks simulated side by side.
        action_shape: ``(n_envs, n_resources, n_slices)``; every entry in [0, 1].
        resources: allocation rows (``prb_ul``, ..., ``edge_cpu``).
        slices: slice names, the column order of every per-slice array and of the cost vector.
        domains: usage columns (``ran``, ``tn``, ``cn``, ``edge``).
        kpis: KPI fields reported per slice.
        slots_per_episode: slots of one episode (one day by default).
        slot_s: slot length (s).
    """

    scenario: str
    n_envs: int
    action_shape: tuple[int, int, int]
    resources: tuple[str, ...]
    slices: tuple[str, ...]
    domains: tuple[str, ...]
    kpis: tuple[str, ...]
    slots_per_episode: int
    slot_s: float


@dataclass(frozen=True)
class Observation:
    """What the orchestrator exposes to agents after a reset or a slot.

    Attributes:
        slot: slots run since the last full reset.
        hour: ``(n_envs,)`` hour of day of the coming slot.
        episode_slot: ``(n_envs,)`` slots each env has run since its own (full or partial) reset,
            i.e. the index of the coming slot in the env's episode.
        active: ``(n_slices,)`` provisioned slices.
        allocation: ``(n_envs, n_resources, n_slices)`` allocation in force.
        kpis: the last slot's KPIs (``None`` right after a full reset; after a partial reset the
            reset envs' rows still describe the slot before it).
        cost: ``(n_envs, n_slices)`` the last slot's SLA cost (zeros after a reset).
        faults: domain faults of the last slot.
    """

    slot: int
    hour: FloatArray
    episode_slot: NDArray[np.int64]
    active: NDArray[np.bool_]
    allocation: FloatArray
    kpis: Kpis | None
    cost: FloatArray
    faults: tuple[DomainFault, ...] = ()


@dataclass(frozen=True)
class Prepared:
    """An action after the orchestrator's checks, before any domain manager sees it.

    Attributes:
        checked: ``(n_envs, n_resources, n_slices)`` the action as checked (slices not provisioned at 0).
        enforced: the allocation capacity enforcement makes of it (what the domain managers get).
        modified: ``(n_envs,)`` whether capacity enforcement changed the action.
        sites: the edge-site map under which ``enforced`` is known to pass the value and node-sum rules
            (the enforcer is one of :data:`~netslice.orchestration.capacity.WITHIN_RULES`), else ``None``.
    """

    checked: FloatArray
    enforced: FloatArray
    modified: NDArray[np.bool_]
    sites: NDArray[np.int64] | None = None


@dataclass(frozen=True)
class StepResult:
    """Outcome of one slot.

    Attributes:
        observation: the observation after the slot.
        kpis: the slot's KPIs.
        cost: ``(n_envs, n_slices)`` SLA cost c(s, a), slice order of :attr:`Spaces.slices`.
        usage: ``(n_envs, 4)`` allocated fraction of each domain (order :attr:`Spaces.domains`).
        modified: ``(n_envs,)`` whether capacity enforcement changed the action.
        faults: domain faults of the slot.
    """

    observation: Observation
    kpis: Kpis
    cost: FloatArray
    usage: FloatArray
    modified: NDArray[np.bool_]
    faults: tuple[DomainFault, ...]
