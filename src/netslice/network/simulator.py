"""The stateful simulator: a small wrapper around the pure step of :mod:`netslice.network.kernel`.

It owns one scenario's network model (:class:`~netslice.network.model.NetworkModel`: parameters and
backend), the state of ``n_envs`` networks and the one random generator. It is the only owner of
the network state: :attr:`Simulator.state` is read-only, and only :meth:`~Simulator.reset`,
:meth:`~Simulator.step` and :meth:`~Simulator.set_presence` (slices arriving and leaving) replace it.
Every allocation is validated before it reaches the step (invalid input raises
:class:`~netslice.errors.InvalidAllocationError` and changes nothing).

>>> from netslice.network import scenarios
>>> sim = Simulator(scenarios.load("testbed-v0").params, n_envs=2, seed=0)
>>> kpis = sim.step(sim.params.initial_allocation)
>>> kpis.latency_ms.shape
(2, 3)
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.network.allocation import validate_allocation
from netslice.network.kernel import Kpis, SimParams, SimState, reset, reset_envs
from netslice.network.model import BACKENDS, NetworkModel
from netslice.network.presence import change_presence, mask_load

__all__ = ["BACKENDS", "Network", "Simulator"]

FloatArray = NDArray[np.float64]


class Network(Protocol):
    """What the orchestration layer uses of a network: :class:`Simulator`, or the emulation's hybrid network.

    :class:`netslice.network.emulation.hybrid.HybridNetwork` runs RAN and core in the simulator and carries the
    transport and edge traffic on a real Linux data plane, behind the same calls.
    """

    @property
    def model(self) -> NetworkModel: ...  # noqa: D102

    @property
    def backend(self) -> str: ...  # noqa: D102

    @property
    def state(self) -> SimState: ...  # noqa: D102

    @property
    def present(self) -> NDArray[np.bool_]: ...  # noqa: D102

    def set_presence(self, present: NDArray[np.bool_]) -> None: ...  # noqa: D102

    def reset(  # noqa: D102
        self, seed: int | None = None, mask: NDArray[np.bool_] | None = None, allocation: FloatArray | None = None
    ) -> SimState: ...

    def step(self, allocation: FloatArray, *, validate: bool = True) -> Kpis: ...  # noqa: D102


class Simulator:
    """Batched simulator with its state and random generator.

    Args:
        params: scenario parameters.
        n_envs: number of independent networks.
        seed: seed of the random generator (``None`` draws one from the OS).
        backend: ``"numpy"`` (vectorised array program), ``"fused"`` (numba-compiled loop, same
            results to 1e-9) or ``"auto"`` (fused when numba is installed).
    """

    def __init__(self, params: SimParams, n_envs: int = 1, seed: int | None = None, backend: str = "auto") -> None:
        if n_envs < 1:
            raise ConfigError(f"n_envs: must be >= 1, got {n_envs}")
        self.model = NetworkModel.create(params, backend)
        self.n_envs = n_envs
        self.rng = np.random.default_rng(seed)
        self._state: SimState = reset(params, n_envs, self.rng)
        self._present = np.ones((n_envs, params.n_slices), dtype=bool)
        self._all_present = True  # kept with _present: the step skips the load mask when every slice is present

    @property
    def params(self) -> SimParams:
        """The scenario's parameters."""
        return self.model.params

    @property
    def backend(self) -> str:
        """The step implementation in use (``"numpy"`` or ``"fused"``)."""
        return self.model.backend

    @property
    def present(self) -> NDArray[np.bool_]:
        """``(n_envs, n_slices)`` slices present in each network (a copy; see :meth:`set_presence`)."""
        return self._present.copy()

    def set_presence(self, present: NDArray[np.bool_]) -> None:
        """Say which slices are present in each network from the coming slot on.

        An absent slice offers no load; a slice that leaves or arrives starts from empty queues, an
        arriving one with fresh traffic processes (:mod:`netslice.network.presence`).

        Args:
            present: ``(n_envs, n_slices)``, or ``(n_slices,)`` for every network.

        Raises:
            ConfigError: ``present`` has another shape.
        """
        new = np.asarray(present, dtype=bool)
        shape = self._present.shape
        if new.shape == shape[1:]:
            new = np.broadcast_to(new, shape)
        if new.shape != shape:
            raise ConfigError(f"present: must be shaped {shape} or {shape[1:]}, got {new.shape}")
        self._state = change_presence(self.params, self._state, self._present, new, self.rng)
        self._present = np.array(new, copy=True)
        self._all_present = bool(new.all())

    @property
    def state(self) -> SimState:
        """The networks' state (read-only: only :meth:`reset`, :meth:`step` and :meth:`set_presence` replace it)."""
        return self._state

    def reset(
        self, seed: int | None = None, mask: NDArray[np.bool_] | None = None, allocation: FloatArray | None = None
    ) -> SimState:
        """Reset all envs (or those where ``mask`` is true); a seed re-seeds the generator first.

        Args:
            seed: re-seed the generator first.
            mask: ``(n_envs,)`` envs to reset (default: all).
            allocation: ``(n_resources, n_slices)`` allocation in force in the reset envs (default: the
                scenario's initial allocation).
        """
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        if mask is None:
            state = reset(self.params, self.n_envs, self.rng)
        else:
            state = reset_envs(self.params, self._state, np.asarray(mask, dtype=bool), self.rng)
        if allocation is not None and state is not self._state:
            # A new state (no env reset keeps the old one): its arrays are its own, nobody has seen them yet.
            state.alloc[slice(None) if mask is None else np.asarray(mask, dtype=bool)] = allocation
        self._state = state if self._all_present else mask_load(state, self._present)
        return self._state

    def step(self, allocation: FloatArray, *, validate: bool = True) -> Kpis:
        """Run one slot.

        Args:
            allocation: ``(n_envs, n_resources, n_slices)``, or ``(n_resources, n_slices)`` for
                the same allocation in every env.
            validate: check the allocation first (skip only for allocations known to be valid).

        Returns:
            The slot's KPIs.
        """
        alloc = np.asarray(allocation, dtype=np.float64)
        if alloc.ndim == 2:
            alloc = np.broadcast_to(alloc, (self.n_envs, *alloc.shape))
        if validate:
            validate_allocation(alloc, self.n_envs, self.params.n_slices, self.params.edge.site_of_slice)
        state, kpis = self.model.step(self._state, alloc, self.rng)
        self._state = state if self._all_present else mask_load(state, self._present)
        return kpis
