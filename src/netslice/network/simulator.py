"""The stateful simulator: a small wrapper around the pure step of :mod:`netslice.network.kernel`.

It owns one scenario's parameters, the state of ``n_envs`` networks and the one random
generator, and validates every allocation before it reaches the pure step (invalid input raises
:class:`~netslice.errors.InvalidAllocationError` and changes nothing).

>>> from netslice.network import scenarios
>>> sim = Simulator(scenarios.load("testbed-v0").params, n_envs=2, seed=0)
>>> kpis = sim.step(sim.params.initial_allocation)
>>> kpis.latency_ms.shape
(2, 3)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.network import fused
from netslice.network.allocation import validate_allocation
from netslice.network.kernel import Kpis, SimParams, SimState, reset, reset_envs, step

#: Step implementations: the numpy array program, or the numba-compiled fused loop.
BACKENDS = ("auto", "numpy", "fused")

FloatArray = NDArray[np.float64]


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
        if backend not in BACKENDS:
            raise ConfigError(f"backend: must be one of {BACKENDS}, got {backend!r}")
        if backend == "fused" and not fused.available():
            raise ConfigError("backend: 'fused' needs numba (pip install 'netslice[fast]')")
        self.backend = (
            "fused" if backend == "auto" and fused.available() else ("numpy" if backend == "auto" else backend)
        )
        self._packed = fused.pack(params) if self.backend == "fused" else None
        self.params = params
        self.n_envs = n_envs
        self.rng = np.random.default_rng(seed)
        self.state: SimState = reset(params, n_envs, self.rng)

    def reset(self, seed: int | None = None, mask: NDArray[np.bool_] | None = None) -> SimState:
        """Reset all envs (or those where ``mask`` is true); a seed re-seeds the generator first."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        if mask is None:
            self.state = reset(self.params, self.n_envs, self.rng)
        else:
            self.state = reset_envs(self.params, self.state, np.asarray(mask, dtype=bool), self.rng)
        return self.state

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
        if self._packed is not None:
            self.state, kpis = fused.fused_step(self._packed, self.state, alloc, self.rng)
        else:
            self.state, kpis = step(self.params, self.state, alloc, self.rng)
        return kpis
