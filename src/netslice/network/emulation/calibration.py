"""Calibrate the simulator's transport and edge parameters from emulation measurements.

The fit minimises the mean absolute log ratio of the simulator's prediction (:mod:`.fidelity`, the simulator's
own functions) to the measurement, over the training points and the KPIs named in ``keys``. A log ratio weighs
a factor-of-two error the same at 0.1 ms and at 100 ms, and the absolute value (not the square) keeps a few
points the model cannot follow (a delay of 0.1 ms at low load) from pulling the fit away from all the others.
The parameters are those of :class:`TransportModel` (header overhead, effective transfer unit, fixed delay,
arrival burstiness; the overhead first, from the throughput alone, then the rest from the delays; or, for the
shaper model, the line rate in place of the transfer unit, with the shaper's configured bucket) and
:class:`EdgeModel` (work per request, its variability, a fixed time per request; with or without the CFS
period), each searched within physical bounds by bounded Nelder-Mead from a few starts (deterministic).

:func:`checkerboard` splits a share x load grid into two halves, each covering every share and every load, so
that the calibration is evaluated on points it was not fitted to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize, minimize_scalar

from netslice.network.emulation.fidelity import (
    EdgeModel,
    EdgePoint,
    TransportModel,
    TransportPoint,
    sim_edge,
    sim_transport,
)

#: KPIs the transport fit matches (the mean and a tail of the delay, and the throughput).
TRANSPORT_FIT_KEYS = ("throughput_mbps", "delay_mean_ms", "delay_p90_ms")
#: KPIs the edge fit matches.
EDGE_FIT_KEYS = ("service_ms", "response_mean_ms", "response_p90_ms")


@dataclass(frozen=True)
class Fit:
    """The outcome of a calibration.

    Attributes:
        model: the fitted parameters (a :class:`TransportModel` or an :class:`EdgeModel`).
        loss: the mean absolute log ratio at the fit, over the training points and keys.
        loss_before: the same, with the model the fit started from.
    """

    model: TransportModel | EdgeModel
    loss: float
    loss_before: float


def checkerboard(first: Sequence[float], second: Sequence[float]) -> NDArray[np.bool_]:
    """A training mask that splits a two-factor grid like a checkerboard (the other half is held out).

    Args:
        first: each point's first factor (a share or a quota).
        second: each point's second factor (a load or a utilisation).

    Returns:
        True where ``rank(first) + rank(second)`` is even, the ranks among each factor's distinct values.

    Example:
        >>> checkerboard([0.1, 0.1, 0.5, 0.5], [0.3, 0.9, 0.3, 0.9]).tolist()
        [True, False, False, True]
    """
    r1 = np.searchsorted(np.unique(first), first)
    r2 = np.searchsorted(np.unique(second), second)
    mask: NDArray[np.bool_] = (r1 + r2) % 2 == 0
    return mask


def log_loss(predicted: list[dict[str, float]], measured: list[dict[str, float]], keys: Sequence[str]) -> float:
    """Mean ``|log(predicted / measured)|`` over the points and keys with positive values.

    Example:
        >>> round(log_loss([{"a": 2.0}, {"a": 1.0}], [{"a": 1.0}, {"a": 1.0}], ["a"]), 4)
        0.3466
    """
    terms = [
        abs(np.log(p[k] / m[k]))
        for p, m in zip(predicted, measured, strict=True)
        for k in keys
        if m[k] > 0.0 and p[k] > 0.0 and np.isfinite(m[k])
    ]
    return float(np.mean(terms)) if terms else float("nan")


def _search(
    objective: Callable[[NDArray[np.float64]], float], starts: list[list[float]], bounds: list[tuple[float, float]]
) -> NDArray[np.float64]:
    """Bounded Nelder-Mead from each start; the best end point."""
    best_x, best_f = np.asarray(starts[0], dtype=np.float64), float("inf")
    for x0 in starts:
        res = minimize(objective, np.asarray(x0), method="Nelder-Mead", bounds=bounds,
                       options={"xatol": 1e-4, "fatol": 1e-7, "maxiter": 2000})  # fmt: skip
        if res.fun < best_f:
            best_x, best_f = np.asarray(res.x, dtype=np.float64), float(res.fun)
    return best_x


def transport_model(x: NDArray[np.float64]) -> TransportModel:
    """The search vector ``(overhead_bytes, log10 unit_fraction, fixed_delay_ms, ca2)`` as a model."""
    return TransportModel(overhead_bytes=float(x[0]), unit_fraction=float(10.0 ** x[1]),
                          fixed_delay_ms=float(x[2]), ca2=float(x[3]))  # fmt: skip


def shaper_model(x: NDArray[np.float64], burst_bytes: float) -> TransportModel:
    """The shaper model's search vector ``(overhead_bytes, fixed_delay_ms, ca2, log10 line_mbps)`` as a model.

    One datagram per transfer unit; the bucket ``burst_bytes`` is the shaper's configuration, not fitted.
    """
    return TransportModel(overhead_bytes=float(x[0]), fixed_delay_ms=float(x[1]), ca2=float(x[2]),
                          burst_bytes=burst_bytes, line_mbps=float(10.0 ** x[3]))  # fmt: skip


def fit_transport(
    points: Sequence[TransportPoint],
    measured: Sequence[dict[str, float]],
    capacity_mbps: float,
    queue_ms: float,
    start: TransportModel | None = None,
    keys: Sequence[str] = TRANSPORT_FIT_KEYS,
    shaper: bool = False,
) -> Fit:
    """Fit :class:`TransportModel` to measured transport points.

    Args:
        points: the training points.
        measured: their measurements (with ``offered_mbps``, the rate really offered, when available).
        capacity_mbps: the link capacity they were measured on, Mbit/s.
        queue_ms: their queue, ms at their rate.
        start: the model before calibration (default: the simulator's view, :class:`TransportModel()`).
        keys: the KPIs matched.
        shaper: fit the token-bucket shaper model (line rate, fixed delay, ``ca2``; one datagram per transfer
            unit; the bucket ``start.burst_bytes`` as configured) instead of the link model (transfer unit, fixed
            delay, ``ca2``).

    Raises:
        ValueError: ``shaper`` without a bucket (``start.burst_bytes`` <= 0).

    Returns:
        The :class:`Fit`.
    """
    start = start or TransportModel()
    if shaper and start.burst_bytes <= 0.0:
        raise ValueError(f"start.burst_bytes: the shaper model needs the shaper's bucket (> 0), "
                         f"got {start.burst_bytes}")  # fmt: skip

    def predict(model: TransportModel) -> list[dict[str, float]]:
        return [sim_transport(p, model, capacity_mbps, queue_ms, offered_mbps=m.get("offered_mbps"))
                for p, m in zip(points, measured, strict=True)]  # fmt: skip

    # Stage 1: the header overhead from the throughput alone (it sets the goodput of a saturated slice).
    thp_keys = [k for k in keys if k == "throughput_mbps"]
    overhead = start.overhead_bytes
    if thp_keys:
        res = minimize_scalar(lambda h: log_loss(predict(replace(start, overhead_bytes=float(h))), list(measured),
                                                 thp_keys), bounds=(0.0, 100.0), method="bounded",
                              options={"xatol": 0.01})  # fmt: skip
        overhead = float(res.x)
    # Stage 2: the delay parameters, with that overhead.
    delay_keys = [k for k in keys if k != "throughput_mbps"]

    def as_model(x: NDArray[np.float64]) -> TransportModel:
        return shaper_model(x, start.burst_bytes) if shaper else transport_model(x)

    if shaper:  # line rate from the link's capacity to 100 Gbit/s
        line = np.log10(capacity_mbps)
        bounds = [(0.0, 10.0), (0.0, 8.0), (line, 5.0)]
        starts = [[start.fixed_delay_ms, start.ca2, line + 1.0], [0.05, 0.5, line + 2.0], [0.1, 0.0, 4.0]]
    else:
        bounds = [(-3.0, 0.5), (0.0, 10.0), (0.0, 8.0)]
        starts = [[np.log10(start.unit_fraction), start.fixed_delay_ms, start.ca2], [-1.0, 0.05, 0.5],
                  [-2.0, 0.1, 4.0]]  # fmt: skip

    def objective(x: NDArray[np.float64]) -> float:
        value = log_loss(predict(as_model(np.concatenate([[overhead], x]))), list(measured), delay_keys)
        return value if np.isfinite(value) else 1e9

    x = _search(objective, starts, bounds) if delay_keys else np.array(starts[0])
    model = as_model(np.concatenate([[overhead], x]))
    return Fit(model, log_loss(predict(model), list(measured), keys), log_loss(predict(start), list(measured), keys))


def fit_edge(
    points: Sequence[EdgePoint],
    measured: Sequence[dict[str, float]],
    nominal_work_ms: float,
    cores: float,
    start: EdgeModel | None = None,
    keys: Sequence[str] = EDGE_FIT_KEYS,
    cfs_period_ms: float = 0.0,
) -> Fit:
    """Fit :class:`EdgeModel` (work per request, service-time variability, fixed time) to measured edge points.

    Args:
        points: the training points.
        measured: their measurements (with ``rate_per_s``, the rate really offered, when available).
        nominal_work_ms: the nominal work that set their request rates, ms.
        cores: the site's cores.
        start: the model before calibration (default: the nominal work, ``cs2 = 1``).
        keys: the KPIs matched.
        cfs_period_ms: the simulator's CFS period in the fitted model (the emulation's; 0: the slowed-server model).

    Returns:
        The :class:`Fit`.
    """
    start = start or EdgeModel(nominal_work_ms)

    def predict(model: EdgeModel) -> list[dict[str, float]]:
        return [sim_edge(p, model, nominal_work_ms, cores, rate_per_s=m.get("rate_per_s"))
                for p, m in zip(points, measured, strict=True)]  # fmt: skip

    def as_model(x: NDArray[np.float64]) -> EdgeModel:
        return EdgeModel(float(10.0 ** x[0]), float(x[1]), cfs_period_ms, float(x[2]))

    def objective(x: NDArray[np.float64]) -> float:
        value = log_loss(predict(as_model(x)), list(measured), keys)
        return value if np.isfinite(value) else 1e9

    bounds = [(np.log10(nominal_work_ms) - 1.5, np.log10(nominal_work_ms) + 1.5), (0.0, 20.0), (0.0, 20.0)]
    starts = [[np.log10(start.work_ms), start.cs2, start.fixed_ms], [np.log10(start.work_ms) - 0.3, 0.2, 1.0],
              [np.log10(start.work_ms) + 0.2, 1.0, 2.0]]  # fmt: skip
    model = as_model(_search(objective, starts, bounds))
    return Fit(model, log_loss(predict(model), list(measured), keys), log_loss(predict(start), list(measured), keys))
