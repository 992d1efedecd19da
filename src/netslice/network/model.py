"""The network model API: what if these allocations were enforced, under this load, from this state.

One object answers every what-if question upper layers ask of the network, with the same step the
simulator runs (one backend dispatch, here), and without touching any network's state:

==========================  ===================================================================================
call                        answers
==========================  ===================================================================================
``step(state, alloc, rng)``  the next state and the slot's KPIs (what :class:`~.simulator.Simulator` runs)
``probe(state, load=...)``   a :class:`Probe` of the coming slot from ``state``, optionally under another load:
                             ``probe.kpis(candidates)`` / ``probe.cost(candidates, targets)`` evaluate stacked
                             candidate allocations ``(D, n_envs, n_resources, n_slices)`` in one call
``idle(n_envs)``             a fresh state (empty queues, no shadowing) to probe in steady state: admission
                             control's question "can this slice be served at its peak?"
==========================  ===================================================================================

Users: the oracle and the forecast planner (search for the least-usage allocation meeting every SLA),
admission control (smallest reservation meeting a profile), and the coming safety layer and SLA
decomposition. Probes are pure: the random generator they pass to the step only draws the *next*
slot's traffic and shadowing, which do not affect the probed slot's KPIs.

>>> from netslice.network import scenarios
>>> from netslice.network.simulator import Simulator
>>> sim = Simulator(scenarios.load("testbed-v0").params, n_envs=2, seed=0)
>>> probe = sim.model.probe(sim.state)
>>> probe.kpis(np.stack([sim.state.alloc, 0.5 * sim.state.alloc])).latency_ms.shape  # 2 candidates x 2 envs
(4, 3)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.network import fused
from netslice.network.kernel import Kpis, SimParams, SimState, map_state, reset, step
from netslice.network.scenarios.sla import SlaTargets, sla_cost

#: The SLA cost ``(n, n_slices)`` of a slot's KPIs against the targets: :func:`~.scenarios.sla.sla_cost` (the
#: end-to-end SLA) or any cost of the same signature (e.g. a per-domain split's, held to per-group budgets).
Judge = Callable[[SlaTargets, Kpis], NDArray[np.float64]]

FloatArray = NDArray[np.float64]

#: Step implementations: the numpy array program, or the numba-compiled fused loop.
BACKENDS = ("auto", "numpy", "fused")


def resolve_backend(backend: str, params: SimParams | None = None) -> str:
    """The backend ``backend`` names: ``auto`` is ``fused`` when numba is installed, else ``numpy``.

    The fused kernel models neither token-bucket shapers (``transport.burst_bits``) nor CFS quotas
    (``edge.cfs_period_s``): for ``params`` that use them, ``auto`` is ``numpy``.

    Raises:
        ConfigError: an unknown name, ``fused`` without numba, or ``fused`` for ``params`` with shapers.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend: must be one of {BACKENDS}, got {backend!r}")
    if backend == "fused" and not fused.available():
        raise ConfigError("backend: 'fused' needs numba (pip install 'netslice[fast]')")
    shaped = params is not None and (params.transport.burst_bits > 0.0 or params.edge.cfs_period_s > 0.0)
    if backend == "fused" and shaped:
        raise ConfigError(
            "backend: 'fused' does not model token-bucket shapers (transport.burst_kbit > 0) or CFS quotas "
            "(edge.cfs_period_ms > 0); use 'numpy' or 'auto'"
        )
    if backend == "auto":
        return "fused" if fused.available() and not shaped else "numpy"
    return backend


@dataclass(frozen=True)
class NetworkModel:
    """A scenario's network as a pure function (see the module docstring).

    Attributes:
        params: the scenario's parameters.
        backend: ``"numpy"`` or ``"fused"`` (resolved; see :func:`resolve_backend`).
    """

    params: SimParams
    backend: str
    _packed: fused.Packed | None = field(default=None, repr=False, compare=False)

    @classmethod
    def create(cls, params: SimParams, backend: str = "auto") -> NetworkModel:
        """The model of ``params`` on ``backend`` (``auto``, ``numpy`` or ``fused``)."""
        resolved = resolve_backend(backend, params)
        return cls(params, resolved, fused.pack(params) if resolved == "fused" else None)

    def using(self, backend: str) -> NetworkModel:
        """The same network on another backend (this model when it already runs there)."""
        same = resolve_backend(backend, self.params) == self.backend
        return self if same else NetworkModel.create(self.params, backend)

    def step(self, state: SimState, allocation: FloatArray, rng: np.random.Generator) -> tuple[SimState, Kpis]:
        """One slot of every env: ``(next_state, kpis)`` (the contract of :func:`netslice.network.kernel.step`)."""
        if self._packed is not None:
            return fused.fused_step(self._packed, state, allocation, rng)
        return step(self.params, state, allocation, rng)

    def probe(self, state: SimState, load: FloatArray | None = None, *, steady: bool = False) -> Probe:
        """What-if queries on the coming slot from ``state``.

        Args:
            state: the state to start from (not modified).
            load: ``(n_envs, n_slices)`` active UEs of the coming slot; default: the state's own
                (which the simulator drew: clairvoyance).
            steady: the candidates were already in force in the slot before (no enforcement-delay
                blend with ``state.alloc``), as for a reservation checked at admission.

        Raises:
            ConfigError: ``load`` is not finite, non-negative and shaped like the state's load.
        """
        if load is not None:
            shape = state.traffic.load.shape
            load = np.asarray(load, dtype=np.float64)
            if load.shape != shape or not np.all(np.isfinite(load)) or np.any(load < 0):
                raise ConfigError(f"load: must be finite, >= 0 and shaped {shape}, got shape {load.shape}")
            state = replace(state, traffic=replace(state.traffic, load=np.ascontiguousarray(load)))
        return Probe(self, state, steady)

    def idle(self, n_envs: int = 1) -> SimState:
        """A fresh state of ``n_envs`` envs with empty queues and no shadowing (traffic drawn with seed 0).

        Probe it with the load to check (``probe(model.idle(), load, steady=True)``): the steady-state
        question of admission control.
        """
        state = reset(self.params, n_envs, np.random.default_rng(0))
        return replace(state, shadow=np.zeros_like(state.shadow))


@dataclass
class Probe:
    """The coming slot from one state, evaluated under stacked candidate allocations.

    Attributes:
        model: the network model.
        state: the state probed from (with the load planned for).
        steady: candidates count as already in force (see :meth:`NetworkModel.probe`).
    """

    model: NetworkModel
    state: SimState
    steady: bool = False
    _tiled: dict[int, SimState] = field(default_factory=dict, repr=False)
    # Only draws the next slot's traffic and shadowing, which do not change the probed slot's KPIs.
    _rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0), repr=False)

    @property
    def n_envs(self) -> int:
        """Envs of the probed state."""
        return self.state.n_envs

    def kpis(self, candidates: FloatArray) -> Kpis:
        """KPIs of the coming slot under each candidate.

        Args:
            candidates: ``(D, n_envs, n_resources, n_slices)``; candidate ``d`` of env ``e`` is row
                ``d * n_envs + e`` of every KPI array.
        """
        return self.step(candidates)[1]

    def step(self, candidates: FloatArray) -> tuple[SimState, Kpis]:
        """The state after the coming slot (its backlogs) and the slot's KPIs, rows as in :meth:`kpis`."""
        n = candidates.shape[0]
        if n not in self._tiled:
            self._tiled[n] = map_state(lambda x: np.ascontiguousarray(np.concatenate([x] * n, axis=0)), self.state)
        flat = np.ascontiguousarray(candidates.reshape(-1, *candidates.shape[2:]))
        start = replace(self._tiled[n], alloc=flat) if self.steady else self._tiled[n]
        return self.model.step(start, flat, self._rng)

    def cost(self, candidates: FloatArray, targets: SlaTargets, judge: Judge = sla_cost) -> FloatArray:
        """Cost ``(D, n_envs, n_slices)`` of each candidate by ``judge`` (default :func:`~.scenarios.sla.sla_cost`)."""
        out: FloatArray = judge(targets, self.kpis(candidates)).reshape(candidates.shape[0], self.n_envs, -1)
        return out
