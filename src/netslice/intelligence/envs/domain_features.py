"""What each per-domain agent sees and sends: its observation layout and its rows of the allocation.

The groups and their domains come from :data:`netslice.intelligence.decomposition.GROUP_DOMAINS`. A group's
allocation rows are its domains' rows in :data:`netslice.orchestration.domains.ROWS`. So ``ran_edge`` sends
prb_ul, prb_dl, mcs_ul, mcs_dl and edge_cpu, ``transport`` tn_bw, and ``core`` cn_cpu.

Observation of group g (``float32``): one block per slice, in slice order, then the time features.

=====================  ==========================================================================  ========
feature                value                                                                       bounds
=====================  ==========================================================================  ========
``active_ues``         features 0-2 of :mod:`.features` (traffic every agent may see)               [0, 5]
``offered_dl``                                                                                      [0, 5]
``offered_ul``                                                                                      [0, 5]
``alloc_<row>``        the allocation in force of each of the group's rows (resource order)        [0, 1]
``<kpi>``              its domains' own KPIs (:data:`DOMAIN_KPIS`): latency parts as               see below
                       ``log1p(ms / 100)`` like the end-to-end latency feature ([0, 10]), PRB and
                       CPU use / 100 ([0, 1]), CQI / 15 ([0, 1])
``budget``             ``log1p(budget_ms / 100)``: its latency budget from the decomposer for the   [0, 10]
                       coming slot (10, the bound, where the slice has no latency term)
``local_cost``         the last slot's latency cost against its budget (:func:`.local_cost`)        [0, 1]
``hour_sin/cos``       time features of :mod:`.features` (after the slice blocks)                  [-1, 1]
=====================  ==========================================================================  ========

Nothing else enters: not the end-to-end latency, reliability or cost, and not another group's KPIs or
rows. :func:`group_observations` reads only these inputs, and
``tests/intelligence/test_env_domains.py`` checks it by perturbing the rest. The budget is the one
coordination channel: under ``"adaptive"`` decomposition it depends on every group's latency, by design,
as a SliceProfile's requirements depend on the NSMF's view of the whole slice.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from gymnasium import spaces

from netslice.errors import InvalidAllocationError
from netslice.intelligence.decomposition import GROUP_DOMAINS, GROUPS
from netslice.intelligence.envs.features import (
    ALLOC_START,
    LATENCY_SCALE_MS,
    SLICE_FEATURES,
    SLICE_HIGH,
    SLICE_LOW,
    TIME_FEATURES,
    TIME_HIGH,
    TIME_LOW,
    Encoder,
    Float32Array,
    FloatArray,
)
from netslice.intelligence.envs.options import clip_action
from netslice.network.allocation import DOMAINS, RESOURCES
from netslice.orchestration.agent_api import Observation
from netslice.orchestration.domains import ROWS

#: Allocation rows of each group, in resource order (its domains' manager rows).
GROUP_ROWS: dict[str, tuple[int, ...]] = {
    g: tuple(sorted(r for d in GROUP_DOMAINS[g] for r in ROWS[d])) for g in GROUPS
}
#: The KPI fields of each domain that only that domain determines (its part of the latency, its load).
DOMAIN_KPIS: dict[str, tuple[str, ...]] = {
    "ran": ("ran_ms", "prb_used_ul", "prb_used_dl", "cqi_ul", "cqi_dl"),
    "tn": ("tn_ms",),
    "cn": ("cn_ms", "cpu_load_cn"),
    "edge": ("edge_ms", "cpu_load_edge"),
}
#: Divisor of the non-latency KPI features (PRB and CPU use in %, CQI 0-15, TS 38.214 Table 5.2.2.1-2).
KPI_DIVISOR: dict[str, float] = {
    "prb_used_ul": 100.0,
    "prb_used_dl": 100.0,
    "cqi_ul": 15.0,
    "cqi_dl": 15.0,
    "cpu_load_cn": 100.0,
    "cpu_load_edge": 100.0,
}
#: Upper bound of the latency and budget features (as the end-to-end latency feature's).
LATENCY_HIGH = float(SLICE_HIGH[SLICE_FEATURES.index("latency")])
#: Traffic features every agent sees: the first three of :mod:`.features`.
TRAFFIC_FEATURES: tuple[str, ...] = SLICE_FEATURES[:3]


def group_kpis(group: str) -> tuple[str, ...]:
    """The KPI fields group ``group`` sees, its domains in DOMAINS order."""
    return tuple(f for d in DOMAINS if d in GROUP_DOMAINS[group] for f in DOMAIN_KPIS[d])


def slice_feature_names(group: str) -> tuple[str, ...]:
    """Names of one slice block of group ``group``'s observation (module table)."""
    rows = tuple(f"alloc_{RESOURCES[r]}" for r in GROUP_ROWS[group])
    return (*TRAFFIC_FEATURES, *rows, *group_kpis(group), "budget", "local_cost")


def feature_names(group: str, slices: tuple[str, ...]) -> tuple[str, ...]:
    """Names of group ``group``'s flat observation (``<slice>/<feature>``, then the time features)."""
    return tuple(f"{s}/{f}" for s in slices for f in slice_feature_names(group)) + TIME_FEATURES


def observation_space(group: str, n_slices: int) -> spaces.Box:
    """Box of group ``group``'s observation for ``n_slices`` slices (module table)."""
    kpis = group_kpis(group)
    kpi_high = [LATENCY_HIGH if f.endswith("_ms") else 1.0 for f in kpis]
    n_rows = len(GROUP_ROWS[group])
    low = np.concatenate([SLICE_LOW[:3], np.zeros(n_rows + len(kpis) + 2)])
    high = np.concatenate([SLICE_HIGH[:3], np.ones(n_rows), kpi_high, [LATENCY_HIGH, 1.0]])
    return spaces.Box(
        low=np.concatenate([np.tile(low, n_slices), TIME_LOW]).astype(np.float32),
        high=np.concatenate([np.tile(high, n_slices), TIME_HIGH]).astype(np.float32),
        dtype=np.float32,
    )


def action_space(group: str, n_slices: int) -> spaces.Box:
    """Box of group ``group``'s action: its rows of the allocation, resource-major (``i * K + k``)."""
    return spaces.Box(low=0.0, high=1.0, shape=(len(GROUP_ROWS[group]) * n_slices,), dtype=np.float32)


def _latency_feature(ms: FloatArray) -> FloatArray:
    """``log1p(max(ms, 0) / 100)`` in [0, 10], NaN read as the bound (as :mod:`.features` reads latency)."""
    with np.errstate(invalid="ignore", over="ignore"):
        x = np.log1p(np.maximum(ms, 0.0) / LATENCY_SCALE_MS)
    out: FloatArray = np.clip(np.nan_to_num(x, nan=LATENCY_HIGH, posinf=LATENCY_HIGH), 0.0, LATENCY_HIGH)
    return out


def group_observations(
    encoder: Encoder, obs: Observation, budgets_ms: FloatArray, local_cost: FloatArray
) -> dict[str, Float32Array]:
    """Every group's observation ``(n_envs, n_features)`` (module table).

    Args:
        encoder: the encoder of the traffic, allocation and time features.
        obs: the orchestrator's observation after a reset or a slot.
        budgets_ms: ``(n_envs, K, G)`` latency budgets of the coming slot (NaN where no latency term).
        local_cost: ``(n_envs, K, G)`` each group's latency cost of the last slot.
    """
    per_slice = encoder.slice_features(obs)  # (E, K, 14): only the traffic and allocation columns are read
    time = encoder.time_features(obs.hour)  # (E, 2)
    n_envs, K = per_slice.shape[:2]
    budget = np.where(np.isnan(budgets_ms), LATENCY_HIGH, _latency_feature(budgets_ms))
    out: dict[str, Float32Array] = {}
    for g, group in enumerate(GROUPS):
        parts = [per_slice[..., :3], per_slice[..., [ALLOC_START + r for r in GROUP_ROWS[group]]]]
        for name in group_kpis(group):
            if obs.kpis is None:
                parts.append(np.zeros((n_envs, K, 1)))
                continue
            value = np.asarray(getattr(obs.kpis, name), dtype=np.float64)
            if name.endswith("_ms"):
                feature = _latency_feature(value)
            else:
                feature = np.clip(np.nan_to_num(value / KPI_DIVISOR[name], nan=1.0), 0.0, 1.0)
            parts.append(feature[..., None])
        parts += [budget[..., g : g + 1], np.clip(local_cost[..., g : g + 1], 0.0, 1.0)]
        blocks = np.concatenate(parts, axis=-1).reshape(n_envs, -1)
        out[group] = np.concatenate([blocks, time], axis=-1).astype(np.float32)
    return out


def assemble(base: FloatArray, actions: Mapping[str, object]) -> tuple[FloatArray, dict[str, float]]:
    """The joint allocation ``(7, K)``: ``base`` with each acting group's rows replaced by its action.

    Groups not in ``actions`` keep their rows of ``base`` (the allocation in force).

    Args:
        base: ``(7, K)`` the allocation in force.
        actions: group -> its action, ``len(GROUP_ROWS[group]) * K`` values in [0, 1], resource-major.

    Returns:
        The allocation and, per acting group, how far its action was outside [0, 1] (clipped).

    Raises:
        InvalidAllocationError: an unknown group, an action of the wrong size, or a non-finite value.
    """
    alloc = np.array(base, dtype=np.float64, copy=True)
    K = alloc.shape[-1]
    clips: dict[str, float] = {}
    for group, action in actions.items():
        if group not in GROUP_ROWS:
            raise InvalidAllocationError(f"action[{group}]: no such agent (agents: {', '.join(GROUPS)})")
        rows = GROUP_ROWS[group]
        values = np.asarray(action, dtype=np.float64)
        if values.size != len(rows) * K:
            raise InvalidAllocationError(
                f"action[{group}]: expected {len(rows) * K} values (rows {[RESOURCES[r] for r in rows]} x {K} "
                f"slices, resource-major), got shape {values.shape}"
            )
        clipped, clip = clip_action(values.reshape(-1), name=f"action[{group}]")
        alloc[list(rows), :] = clipped.reshape(len(rows), K)
        clips[group] = float(clip)
    return alloc, clips
