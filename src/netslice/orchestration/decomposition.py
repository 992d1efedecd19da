"""SLA decomposition: split a slice's end-to-end SLA into per-domain budgets.

A decomposition is any callable ``(terms, kpis, k, app_latency_ms) -> budgets`` where ``terms`` are
the slice's end-to-end SLA terms, ``kpis`` the one-env KPIs at the allocation admission reserved,
and ``budgets`` maps each term to a per-domain bound (``{"latency_ms": {"ran": ..., ...}, ...}``).
Per-domain agents and per-domain SliceProfiles use these budgets.

:func:`proportional` (the default) splits the network part of the latency budget (SLA minus the
application's own latency) in proportion to each domain's share of the latency measured at the
reserved allocation, asks every domain to carry the guaranteed throughput, and splits the allowed
loss equally in the log domain (each of the four domains keeps reliability R^(1/4)).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from netslice.network.allocation import DOMAINS
from netslice.network.kernel import Kpis

Budgets = dict[str, dict[str, float]]
Decomposition = Callable[[dict[str, float | None], Kpis, int, float], Budgets]

#: KPI field holding each domain's part of the end-to-end latency.
LATENCY_FIELD = {"ran": "ran_ms", "tn": "tn_ms", "cn": "cn_ms", "edge": "edge_ms"}


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
        parts = np.array([float(getattr(kpis, LATENCY_FIELD[d])[0, k]) for d in DOMAINS])
        weights = parts / parts.sum() if parts.sum() > 0.0 else np.full(len(DOMAINS), 1.0 / len(DOMAINS))
        network_budget = max(latency - app_latency_ms, 0.0)
        budgets["latency_ms"] = {d: float(network_budget * w) for d, w in zip(DOMAINS, weights, strict=True)}
    for name in ("thp_dl_kbps", "thp_ul_kbps"):
        value = terms.get(name)
        if value is not None:
            budgets[name] = dict.fromkeys(DOMAINS, float(value))
    reliability = terms.get("reliability")
    if reliability is not None:
        budgets["reliability"] = dict.fromkeys(DOMAINS, float(reliability ** (1.0 / len(DOMAINS))))
    return budgets
