"""Per-slice SLA shortfall of a slot: the cost vector c(s, a) of the constrained MDP.

For slice k, each SLA term gives a normalised shortfall, zero when the term holds:

* latency: max(0, latency / latency_SLA - 1) on the mean or the tail latency;
* throughput: max(0, 1 - thp / thp_SLA) for DL and UL;
* frame rate: max(0, 1 - fps / fps_SLA);
* reliability: max(0, (rel_SLA - rel) / (1 - rel_SLA)), i.e. shortfall in units of the allowed loss.

The slice's cost is the largest of its terms, so c_k <= 0 (here: == 0) means every term holds.
Columns follow the scenario's slice order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.network.allocation import has_nonfinite
from netslice.network.kernel import Kpis
from netslice.network.scenarios.schema import ScenarioSpec

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SlaTargets:
    """SLA targets as arrays ``(n_slices,)``; NaN where a slice has no such term.

    Attributes:
        latency_ms: latency bound (ms).
        latency_tail: True where the bound applies to the tail latency rather than the mean.
        thp_dl_kbps: guaranteed DL throughput (kbit/s).
        thp_ul_kbps: guaranteed UL throughput (kbit/s).
        fps: delivered frames per second per UE.
        reliability: minimum fraction of data delivered.
    """

    latency_ms: FloatArray
    latency_tail: NDArray[np.bool_]
    thp_dl_kbps: FloatArray
    thp_ul_kbps: FloatArray
    fps: FloatArray
    reliability: FloatArray

    @classmethod
    def from_spec(cls, spec: ScenarioSpec) -> SlaTargets:
        """Collect the SLA terms of every slice of a scenario."""

        def arr(field: str) -> FloatArray:
            vals = [getattr(s.sla, field) for s in spec.slices]
            return np.array([np.nan if v is None else float(v) for v in vals])

        return cls(
            latency_ms=arr("latency_ms"),
            latency_tail=np.array([s.sla.latency_percentile == "tail" for s in spec.slices]),
            thp_dl_kbps=arr("thp_dl_kbps"),
            thp_ul_kbps=arr("thp_ul_kbps"),
            fps=arr("fps"),
            reliability=arr("reliability"),
        )


#: Columns (slices) of an array: an index array, or a slice (a view, cheaper) when they are consecutive.
Columns = NDArray[np.int64] | slice


def term_shortfall(name: str, kpis: Kpis, targets: SlaTargets, cols: Columns) -> FloatArray:
    """Normalised shortfall of one SLA term for the slices ``cols`` (see the module docstring)."""
    t = getattr(targets, name)[cols]
    if name == "latency_ms":
        latency = np.where(targets.latency_tail[cols], kpis.latency_tail_ms[:, cols], kpis.latency_ms[:, cols])
        out: FloatArray = latency / t - 1.0
    elif name == "reliability":
        out = (t - kpis.reliability[:, cols]) / (1.0 - t)
    else:
        out = 1.0 - getattr(kpis, name)[:, cols] / t
    return out


#: SLA terms and the KPI each bounds.
SLA_TERMS = ("latency_ms", "thp_dl_kbps", "thp_ul_kbps", "fps", "reliability")


#: The SLA terms some slice has, each with the columns (slices) that have it (:func:`term_columns`).
TermColumns = tuple[tuple[str, Columns], ...]


def term_columns(targets: SlaTargets) -> TermColumns:
    """The SLA terms that some slice of ``targets`` has, each with the columns (slices) that have it.

    Consecutive columns come as a slice: the same columns, indexed as a view instead of a copy.
    """
    cols = ((name, np.flatnonzero(~np.isnan(getattr(targets, name)))) for name in SLA_TERMS)
    return tuple((name, _as_slice(c)) for name, c in cols if c.size)


def _as_slice(cols: NDArray[np.int64]) -> Columns:
    """``cols`` as a slice when they are consecutive (same columns), else as they are."""
    if np.array_equal(cols, np.arange(cols[0], cols[0] + cols.size)):
        return slice(int(cols[0]), int(cols[0]) + cols.size)
    return cols


def _largest_shortfall(
    targets: SlaTargets, kpis: Kpis, terms: TermColumns | None, out: FloatArray,
    posinf: float | None = None, neginf: float | None = None,
) -> FloatArray:  # fmt: skip
    """``out`` raised in place to each slice's largest normalised term shortfall (the loop of :func:`sla_cost`).

    Non-finite shortfalls go through ``np.nan_to_num(term, posinf=posinf, neginf=neginf)`` (None: the largest
    finite float), only in the terms that have one.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, cols in term_columns(targets) if terms is None else terms:
            term = term_shortfall(name, kpis, targets, cols)
            if has_nonfinite(term):  # rare (a starved slice)
                term = np.nan_to_num(term, posinf=posinf, neginf=neginf)
            if isinstance(cols, slice):  # a view: the maximum in place
                np.maximum(out[:, cols], term, out=out[:, cols])
            else:
                out[:, cols] = np.maximum(out[:, cols], term)
    return out


def sla_cost(targets: SlaTargets, kpis: Kpis, terms: TermColumns | None = None) -> FloatArray:
    """Cost ``(n_envs, n_slices)``: the largest normalised shortfall of each slice's SLA terms.

    Only the slices that have a term are computed for it (most slices have one or two terms). Callers
    that evaluate many slots against the same targets pass ``terms`` (:func:`term_columns`) once.
    Non-finite shortfalls (NaN to 0, +-inf to the largest finite float) are fixed only in the terms that
    have one: on a few slices ``nan_to_num`` costs several times the term itself.
    """
    return _largest_shortfall(targets, kpis, terms, np.zeros(kpis.latency_ms.shape))


def sla_margin(targets: SlaTargets, kpis: Kpis, terms: TermColumns | None = None) -> FloatArray:
    """The signed SLA margin ``(n_envs, n_slices)``: :func:`sla_cost` without the floor at 0.

    Each slice's largest normalised shortfall: > 0 exactly where the cost is > 0, and < 0 by how much room
    the slot left. A slice without SLA terms reads -1; non-finite shortfalls read 0 (NaN) or +-1 (+-inf).
    """
    margin = _largest_shortfall(targets, kpis, terms, np.full(kpis.latency_ms.shape, -np.inf), posinf=1.0, neginf=-1.0)
    return np.where(np.isneginf(margin), -1.0, margin)


#: Names of the SLA terms, the last axis of :func:`violation_mask`.
TERM_NAMES = ("latency", "thp_dl", "thp_ul", "fps", "reliability")


def violation_mask(targets: SlaTargets, kpis: Kpis) -> NDArray[np.bool_]:
    """Which SLA term each slice misses in each env: ``(n_envs, n_slices, 5)``, order :data:`TERM_NAMES`."""
    latency = np.where(targets.latency_tail, kpis.latency_tail_ms, kpis.latency_ms)
    with np.errstate(invalid="ignore"):  # NaN targets (no such term) compare False
        return np.stack(
            [
                latency > targets.latency_ms,
                kpis.thp_dl_kbps < targets.thp_dl_kbps,
                kpis.thp_ul_kbps < targets.thp_ul_kbps,
                kpis.fps < targets.fps,
                kpis.reliability < targets.reliability,
            ],
            axis=-1,
        )


def violated_terms(targets: SlaTargets, kpis: Kpis, env: int, k: int) -> tuple[str, ...]:
    """Names of the SLA terms slice ``k`` misses in env ``env`` (see :data:`TERM_NAMES`)."""
    mask = violation_mask(targets, kpis)[env, k]
    return tuple(name for name, bad in zip(TERM_NAMES, mask, strict=True) if bool(bad))


def describe(spec: ScenarioSpec, k: int) -> str:
    """Human-readable SLA of slice ``k`` (``"latency <= 500 ms"``)."""
    s = spec.slices[k].sla
    parts = []
    if s.latency_ms is not None:
        parts.append(f"{'p95 ' if s.latency_percentile == 'tail' else ''}latency <= {s.latency_ms:g} ms")
    if s.thp_dl_kbps is not None:
        parts.append(f"DL >= {s.thp_dl_kbps:g} kbit/s")
    if s.thp_ul_kbps is not None:
        parts.append(f"UL >= {s.thp_ul_kbps:g} kbit/s")
    if s.fps is not None:
        parts.append(f"fps >= {s.fps:g}")
    if s.reliability is not None:
        parts.append(f"reliability >= {s.reliability:g}")
    return ", ".join(parts)
