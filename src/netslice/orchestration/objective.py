"""The operator's objective: weighted resource usage, defined once.

The DRL problem minimises the usage of the slices' allocations (the reward is its negative), the
oracle searches for the least-usage allocation, and the evaluation reports it. All three use this
one :class:`Objective`:

``u = sum_d w_d usage_d``, the weighted mean over the domains d in (ran, tn, cn, edge) of the
allocated fraction of each domain's capacity (:attr:`netslice.network.kernel.Kpis.usage`; the RAN
part is the mean of the UL and DL PRB shares, the edge part weighs each site by its cores). The
weights ``w`` are non-negative with a positive sum and are normalised to sum to 1; the default is
equal weights (0.25 each). Per slice, ``u_k = sum_d w_d usage_{d,k}`` sums over the slices to ``u``.

>>> Objective.create().weights.tolist()
[0.25, 0.25, 0.25, 0.25]
>>> float(Objective.create([2, 1, 1, 0]).usage(np.array([0.5, 0.2, 0.2, 0.9])))
0.35
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError
from netslice.network.allocation import DOMAINS, read_only
from netslice.network.kernel import SimParams, slice_usage

FloatArray = NDArray[np.float64]

#: Equal weight for every domain.
DEFAULT_WEIGHTS = (0.25, 0.25, 0.25, 0.25)


@dataclass(frozen=True)
class Objective:
    """Weighted usage over the domains (see the module docstring).

    Attributes:
        weights: ``(4,)`` normalised domain weights, order :data:`~netslice.network.allocation.DOMAINS`.
    """

    weights: FloatArray

    @classmethod
    def create(cls, weights: Sequence[float] | FloatArray | None = None) -> Objective:
        """The objective with ``weights`` (default :data:`DEFAULT_WEIGHTS`), normalised to sum to 1.

        Raises:
            ConfigError: weights of the wrong shape, negative, non-finite or all zero.
        """
        w = np.array(DEFAULT_WEIGHTS if weights is None else weights, dtype=np.float64)
        if w.shape != (len(DOMAINS),) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ConfigError(f"weights: must be {len(DOMAINS)} finite non-negative numbers "
                              f"({', '.join(DOMAINS)}) with a positive sum, got {w.tolist()}")  # fmt: skip
        return cls(read_only(w / w.sum()))

    def usage(self, usage: FloatArray) -> FloatArray:
        """Weighted usage ``(...)`` of domain usages ``(..., 4)``."""
        out: FloatArray = np.asarray(usage, dtype=np.float64) @ self.weights
        return out

    def slice_usage(self, slice_usage: FloatArray) -> FloatArray:
        """Each slice's weighted usage ``(..., n_slices)`` of per-slice domain usages ``(..., 4, n_slices)``."""
        out: FloatArray = np.einsum("d,...dk->...k", self.weights, np.asarray(slice_usage, dtype=np.float64))
        return out

    def allocation_usage(self, params: SimParams, allocation: FloatArray) -> FloatArray:
        """Each slice's weighted usage ``(..., n_slices)`` of allocations ``(..., n_resources, n_slices)``."""
        return self.slice_usage(slice_usage(params, allocation))
