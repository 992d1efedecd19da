"""Enforcement of one slot's allocation across the domain managers, with faults contained.

:func:`enforce_all` hands each :class:`~netslice.orchestration.domains.DomainManager` its rows of the
allocation: the manager stages them (validation, fault hook) and commits them. A manager whose
``stage`` raises, or that takes longer than its ``timeout_s``, commits nothing: its previous
allocation stays in force and a :class:`DomainFault` reports what happened. The other domains are
enforced as usual.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from netslice.errors import InvalidAllocationError
from netslice.network.allocation import N_RESOURCES, check_capacity, check_values, read_only
from netslice.orchestration.domains import DomainManager

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class DomainFault:
    """A manager that failed to enforce an allocation; its previous allocation stayed in force.

    Attributes:
        domain: the domain ("ran", "tn", "cn", "edge").
        kind: "error" (``apply`` raised) or "timeout" (it took longer than its deadline).
        message: what happened.
        slot: orchestrator slot counter at the time.
    """

    domain: str
    kind: str
    message: str
    slot: int


@lru_cache(maxsize=64)
def row_index(rows: tuple[int, ...]) -> slice | list[int]:
    """An index of the allocation rows ``rows``: a slice (a view, cheap) when they are consecutive, else a list."""
    if rows and list(rows) == list(range(rows[0], rows[0] + len(rows))):
        return slice(rows[0], rows[0] + len(rows))
    return list(rows)


def enforce_all(
    managers: Mapping[str, DomainManager],
    alloc: FloatArray,
    slot: int,
    *,
    valid_under: NDArray[np.int64] | None = None,
) -> tuple[FloatArray, list[DomainFault]]:
    """Hand each manager its rows; a manager that raises or overruns keeps its previous allocation.

    Args:
        managers: the domain managers.
        alloc: ``(n_envs, n_resources, n_slices)`` allocation already checked and within capacity.
        slot: slot counter for fault records.
        valid_under: an edge-site map under which ``alloc`` is known to pass the value and node-sum rules
            (see :class:`~netslice.orchestration.agent_api.Prepared`); when every manager uses that very
            map, they are not checked again.

    Returns:
        The allocation in force after enforcement (float64; read-only when every manager committed), and the
        faults of this slot. Each manager's fault hook sees a read-only view of its rows.
    """
    faults: list[DomainFault] = []
    kept: list[DomainManager] = []  # managers whose previous allocation stays in force
    validated = _all_valid(managers, alloc, valid_under)
    # One read-only copy of the allocation: each manager that commits puts its rows (a view) in force as they are.
    frozen = read_only(alloc.astype(np.float64))
    for name, mgr in managers.items():
        start = time.perf_counter()
        fault: DomainFault | None = None
        try:
            staged = mgr.stage(frozen[:, row_index(mgr.rows), :], validated=validated, frozen=True)
        except Exception as err:  # any manager failure is contained and reported
            fault = DomainFault(name, "error", f"{type(err).__name__}: {err}", slot)
        else:
            elapsed = time.perf_counter() - start
            if elapsed > mgr.timeout_s:
                fault = DomainFault(name, "timeout", f"apply took {elapsed:.3f} s > {mgr.timeout_s} s", slot)
        if fault is None:
            mgr.commit(staged)
        else:
            faults.append(fault)
            kept.append(mgr)
    if not kept:
        return frozen, faults
    out = frozen.copy(order="K")
    for mgr in kept:
        out[:, row_index(mgr.rows), :] = mgr.in_force
    return out, faults


def _all_valid(
    managers: Mapping[str, DomainManager], alloc: FloatArray, valid_under: NDArray[np.int64] | None = None
) -> bool:
    """Whether every manager's rows of ``alloc`` pass its :meth:`DomainManager.validate` value and sum rules.

    One check of the whole allocation instead of one per domain (the rules are per row, so passing here
    means passing in every manager); none when ``alloc`` is known to pass them under the managers' edge-site
    map (``valid_under``). False, so that each manager validates (and reports) on its own, when the check
    fails or the managers do not share one edge-site map.
    """
    if not managers or alloc.ndim != 3 or alloc.shape[1] != N_RESOURCES:
        return False
    shared = next(iter(managers.values())).site_of_slice
    for mgr in managers.values():
        if mgr.site_of_slice is not shared:
            return False
    if valid_under is shared:
        return True
    try:
        check_values(alloc, "allocation")
        check_capacity(alloc, shared, "allocation")
    except InvalidAllocationError:
        return False
    return True
