"""SLA decomposition: split a slice's end-to-end SLA into per-domain budgets.

A decomposition is any callable ``(terms, kpis, k, app_latency_ms) -> budgets`` where ``terms`` are
the slice's end-to-end SLA terms, ``kpis`` the one-env KPIs at the allocation admission reserved,
and ``budgets`` maps each term to a per-domain bound (``{"latency_ms": {"ran": ..., ...}, ...}``).
Per-domain agents and per-domain SliceProfiles use these budgets.

:func:`proportional` (the default) splits the network part of the latency budget (SLA minus the
application's own latency) in proportion to each domain's share of the latency measured at the
reserved allocation, asks every domain to carry the guaranteed throughput, and splits the allowed
loss equally in the log domain (each of the four domains keeps reliability R^(1/4)).

The per-slot, per-agent-group version of the split (:mod:`netslice.intelligence.decomposition`) shares this
module's definitions: the KPI field of each domain's latency (:data:`LATENCY_FIELD`, read by
:func:`latency_parts`), the network's latency budget (:func:`network_budget`) and the proportional weights
(:func:`proportional_weights`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from netslice.network.allocation import DOMAINS
from netslice.network.kernel import Kpis

Budgets = dict[str, dict[str, float]]
Decomposition = Callable[[dict[str, float | None], Kpis, int, float], Budgets]

#: KPI field holding each domain's part of the end-to-end latency.
LATENCY_FIELD = {"ran": "ran_ms", "tn": "tn_ms", "cn": "cn_ms", "edge": "edge_ms"}


def latency_parts(kpis: Kpis) -> NDArray[np.float64]:
    """Each domain's part of the latency ``(n_envs, K, 4)`` (ms, DOMAINS order)."""
    return np.stack([np.asarray(getattr(kpis, LATENCY_FIELD[d]), dtype=np.float64) for d in DOMAINS], axis=-1)


def network_budget(latency_ms: ArrayLike, app_ms: ArrayLike) -> NDArray[np.float64]:
    """The network's part of a latency bound: ``max(0, latency - app)``, the application's own latency removed.

    >>> network_budget([300.0, 50.0, np.nan], 94.0).tolist()
    [206.0, 0.0, nan]
    """
    out: NDArray[np.float64] = np.maximum(np.asarray(latency_ms, np.float64) - np.asarray(app_ms, np.float64), 0.0)
    return out


def proportional_weights(parts: ArrayLike) -> NDArray[np.float64]:
    """``parts`` ``(..., n)`` normalised to sum to 1 along the last axis; equal weights where they sum to 0 (or NaN).

    >>> proportional_weights([20.0, 10.0, 0.0, 70.0]).tolist(), proportional_weights([0.0, 0.0]).tolist()
    ([0.2, 0.1, 0.0, 0.7], [0.5, 0.5])
    """
    w = np.asarray(parts, dtype=np.float64)
    total = w.sum(axis=-1, keepdims=True)
    out: NDArray[np.float64] = np.where(total > 0.0, w / np.where(total > 0.0, total, 1.0), 1.0 / w.shape[-1])
    return out


def proportional(terms: dict[str, float | None], kpis: Kpis, k: int, app_latency_ms: float) -> Budgets:
    """Default decomposition (see the module docstring).

    >>> from types import SimpleNamespace
    >>> kp = SimpleNamespace(ran_ms=np.array([[20.0]]), tn_ms=np.array([[10.0]]), cn_ms=np.array([[0.0]]),
    ...                      edge_ms=np.array([[70.0]]))
    >>> proportional({"latency_ms": 300.0}, kp, 0, 100.0)["latency_ms"]
    {'ran': 40.0, 'tn': 20.0, 'cn': 0.0, 'edge': 140.0}
    """
    budgets: Budgets = {}
    latency = terms.get("latency_ms")
    if latency is not None:
        weights = proportional_weights(latency_parts(kpis)[0, k])
        budget = network_budget(latency, app_latency_ms)
        budgets["latency_ms"] = {d: float(budget * w) for d, w in zip(DOMAINS, weights, strict=True)}
    for name in ("thp_dl_kbps", "thp_ul_kbps"):
        value = terms.get(name)
        if value is not None:
            budgets[name] = dict.fromkeys(DOMAINS, float(value))
    reliability = terms.get("reliability")
    if reliability is not None:
        budgets["reliability"] = dict.fromkeys(DOMAINS, float(reliability ** (1.0 / len(DOMAINS))))
    return budgets
