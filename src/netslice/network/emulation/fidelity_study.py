"""The fidelity study: measure a grid on the emulation, predict it with the simulator, calibrate, report errors.

:func:`run_study` measures the transport and edge grids (:mod:`.fidelity_measure`, needs root), predicts every
point with the simulator before calibration (:class:`TransportModel()`: payload bits only, one datagram per
transfer unit, no fixed delay, Poisson burstiness; :class:`EdgeModel`: the workload's nominal CPU per request,
``cs2 = 1``), fits the models on one half of each grid (:func:`.calibration.checkerboard`) and predicts again.
The result (plain data, JSON-ready) has per point the measurement and both predictions, and per KPI the median
relative error before and after calibration over the held-out half, the training half and all points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from netslice.network.emulation.calibration import checkerboard, fit_edge, fit_transport
from netslice.network.emulation.cgroup import PERIOD_US
from netslice.network.emulation.fidelity import (
    EDGE_KPIS,
    TRANSPORT_KPIS,
    EdgeModel,
    EdgePoint,
    TransportModel,
    TransportPoint,
    median_errors,
    nominal_work_ms,
    relative_errors,
    sim_edge,
    sim_transport,
)
from netslice.network.emulation.transport import HTB_BURST_BYTES


@dataclass(frozen=True)
class StudyConfig:
    """The scaled configuration and the grids.

    Attributes:
        capacity_mbps: the link's capacity, Mbit/s.
        queue_ms: every slice's queue, ms at its rate.
        shares: the transport grid's shares of the link.
        loads: the transport grid's offered loads (over the slice's rate).
        payloads: UDP payload sizes, bytes (each share x load at every size).
        edge_cores: the edge site's cores.
        quotas: the edge grid's CPU quotas, cores.
        utilisations: the edge grid's offered work over the quota.
        window_s: measured window per point, s.
        warmup_s: traffic before the window, s.
        edge_max_cores: the most offered edge work at a time, cores (edge points run in rounds under it).
        seed: seed of the Poisson senders.
        repeats: measurements of every point (their mean is compared; two or more also give the emulation's own
            run-to-run difference, the noise floor of every error).
    """

    capacity_mbps: float = 10.0
    queue_ms: float = 100.0
    shares: tuple[float, ...] = (0.1, 0.25, 0.5)
    loads: tuple[float, ...] = (0.3, 0.5, 0.7, 0.9, 1.2)
    payloads: tuple[int, ...] = (1200, 400)
    edge_cores: float = 2.0
    quotas: tuple[float, ...] = (0.1, 0.2, 0.4)
    utilisations: tuple[float, ...] = (0.3, 0.5, 0.7, 0.85)
    window_s: float = 4.0
    warmup_s: float = 1.0
    edge_max_cores: float = 0.6
    seed: int = 0
    repeats: int = 2

    @classmethod
    def quick(cls) -> StudyConfig:
        """A small grid with short windows (about a minute)."""
        return cls(shares=(0.1, 0.5), loads=(0.4, 0.8, 1.2), payloads=(1200,), quotas=(0.2, 0.4),
                   utilisations=(0.4, 0.8), window_s=2.0, warmup_s=0.5, repeats=1)  # fmt: skip

    def transport_points(self) -> list[TransportPoint]:
        """Every share x load x payload point."""
        return [TransportPoint(s, ld, pb) for pb in self.payloads for s in self.shares for ld in self.loads]

    def edge_points(self) -> list[EdgePoint]:
        """Every quota x utilisation point."""
        return [EdgePoint(q, u) for q in self.quotas for u in self.utilisations]


def compare(
    predicted: Sequence[dict[str, float]],
    measured: Sequence[dict[str, float]],
    keys: Sequence[str],
    train: Any,
    saturated: Any = None,
) -> dict[str, Any]:
    """Per-point relative errors and their medians over the held-out, training and all (and saturated) points."""
    errors = relative_errors(list(predicted), list(measured), tuple(keys))
    out = {
        "per_point": {k: [None if np.isnan(x) else float(x) for x in v] for k, v in errors.items()},
        "median_held_out": median_errors(errors, ~train),
        "median_train": median_errors(errors, train),
        "median_all": median_errors(errors),
    }
    if saturated is not None and saturated.any():
        # Below its rate a slice's throughput is its offered load in both; the header overhead shows when it is not.
        out["median_saturated_held_out"] = median_errors(errors, saturated & ~train)
    return out


def mean_of(repeats: Sequence[Sequence[dict[str, float]]]) -> list[dict[str, float]]:
    """Per point and key, the mean over the repeats."""
    return [{k: float(np.mean([r[i][k] for r in repeats])) for k in repeats[0][i]} for i in range(len(repeats[0]))]


def run_to_run(repeats: Sequence[Sequence[dict[str, float]]], keys: Sequence[str]) -> dict[str, float] | None:
    """Per key, the median over points of ``|first - second| / second`` between the first two repeats."""
    if len(repeats) < 2:
        return None
    return median_errors(relative_errors(list(repeats[0]), list(repeats[1]), tuple(keys)))


def loss_error(predicted: Sequence[dict[str, float]], measured: Sequence[dict[str, float]]) -> float:
    """The median absolute difference of the loss fraction (a relative error of a loss of 0 is meaningless)."""
    return float(np.median([abs(p["loss"] - m["loss"]) for p, m in zip(predicted, measured, strict=True)]))


def transport_part(config: StudyConfig, measured: list[dict[str, float]]) -> dict[str, Any]:
    """Predictions, calibration and errors of the transport grid, given its (mean) measurements."""
    points = config.transport_points()
    train = checkerboard([p.share for p in points], [p.load + 10 * p.payload_bytes for p in points])
    c, q = config.capacity_mbps, config.queue_ms
    saturated = np.array([p.load > 1.0 for p in points])

    def predict(model: TransportModel) -> list[dict[str, float]]:
        return [sim_transport(p, model, c, q, offered_mbps=m["offered_mbps"])
                for p, m in zip(points, measured, strict=True)]  # fmt: skip

    before = TransportModel()
    train_points = [p for p, t in zip(points, train, strict=True) if t]
    train_measured = [m for m, t in zip(measured, train, strict=True) if t]
    fit = fit_transport(train_points, train_measured, c, q, before)
    shaped = fit_transport(train_points, train_measured, c, q, TransportModel(burst_bytes=HTB_BURST_BYTES), shaper=True)
    assert isinstance(fit.model, TransportModel)
    assert isinstance(shaped.model, TransportModel)
    pred_before, pred_after, pred_shaped = predict(before), predict(fit.model), predict(shaped.model)
    return {
        "points": [asdict(p) | {"train": bool(t)} for p, t in zip(points, train, strict=True)],
        "measured": measured,
        "predicted_before": pred_before,
        "predicted_after": pred_after,
        "model_before": asdict(before),
        "model_after": asdict(fit.model),
        "predicted_shaped": pred_shaped,
        "model_shaped": asdict(shaped.model),
        "fit_loss": {"before": fit.loss_before, "after": fit.loss, "shaped": shaped.loss},
        "before": compare(pred_before, measured, TRANSPORT_KPIS, train, saturated),
        "after": compare(pred_after, measured, TRANSPORT_KPIS, train, saturated),
        "shaped": compare(pred_shaped, measured, TRANSPORT_KPIS, train, saturated),
        "loss_abs_error": {
            "before": loss_error(pred_before, measured),
            "after": loss_error(pred_after, measured),
            "shaped": loss_error(pred_shaped, measured),
        },
    }


def edge_part(
    config: StudyConfig, measured: list[dict[str, float]], work_ms: float, cfs_period_ms: float = PERIOD_US / 1000
) -> dict[str, Any]:
    """Predictions, calibration and errors of the edge grid, given its (mean) measurements and the nominal work.

    The CFS model (``shaped``) is fitted with the emulation's CFS period, ``cfs_period_ms``.
    """
    points = config.edge_points()
    train = checkerboard([p.quota_cores for p in points], [p.utilisation for p in points])
    cores = config.edge_cores

    def predict(model: EdgeModel) -> list[dict[str, float]]:
        return [sim_edge(p, model, work_ms, cores, rate_per_s=m["rate_per_s"])
                for p, m in zip(points, measured, strict=True)]  # fmt: skip

    before = EdgeModel(work_ms)
    train_points = [p for p, t in zip(points, train, strict=True) if t]
    train_measured = [m for m, t in zip(measured, train, strict=True) if t]
    fit = fit_edge(train_points, train_measured, work_ms, cores, before)
    shaped = fit_edge(train_points, train_measured, work_ms, cores, before, cfs_period_ms=cfs_period_ms)
    assert isinstance(fit.model, EdgeModel)
    assert isinstance(shaped.model, EdgeModel)
    pred_before, pred_after, pred_shaped = predict(before), predict(fit.model), predict(shaped.model)
    return {
        "nominal_work_ms": work_ms,
        "points": [asdict(p) | {"train": bool(t)} for p, t in zip(points, train, strict=True)],
        "measured": measured,
        "predicted_before": pred_before,
        "predicted_after": pred_after,
        "model_before": asdict(before),
        "model_after": asdict(fit.model),
        "predicted_shaped": pred_shaped,
        "model_shaped": asdict(shaped.model),
        "fit_loss": {"before": fit.loss_before, "after": fit.loss, "shaped": shaped.loss},
        "before": compare(pred_before, measured, EDGE_KPIS, train),
        "after": compare(pred_after, measured, EDGE_KPIS, train),
        "shaped": compare(pred_shaped, measured, EDGE_KPIS, train),
    }


def run_study(config: StudyConfig, transport: bool = True, edge: bool = True) -> dict[str, Any]:
    """Measure both grids on the emulation, predict them with the simulator, calibrate, compare (needs root)."""
    from netslice.network.emulation.fidelity_measure import measure_edge, measure_transport

    out: dict[str, Any] = {"config": asdict(config)}
    parts: dict[str, Any] = {}
    if transport:
        # One emulation per payload size, so that the small datagrams' higher packet rate does not load the CPUs
        # under the large ones.
        points = config.transport_points()
        repeats = []
        for r in range(config.repeats):
            measured: list[dict[str, float]] = [{} for _ in points]
            for size in config.payloads:
                group = [i for i, p in enumerate(points) if p.payload_bytes == size]
                got = measure_transport([points[i] for i in group], config.capacity_mbps, config.queue_ms,
                                        config.window_s, config.warmup_s, config.seed + 1000 * r + size)  # fmt: skip
                for i, m in zip(group, got, strict=True):
                    measured[i] = m
            repeats.append(measured)
        parts["transport"] = {"repeats": repeats}
    if edge:
        work = nominal_work_ms()
        repeats = [measure_edge(config.edge_points(), work, config.window_s, config.warmup_s, config.edge_max_cores,
                                config.seed + 1000 * r) for r in range(config.repeats)]  # fmt: skip
        parts["edge"] = {"repeats": repeats, "nominal_work_ms": work}
    return out | analyse(config, parts)


def analyse(config: StudyConfig, parts: dict[str, Any]) -> dict[str, Any]:
    """Predict, calibrate and compare measured grids: ``{part: {"repeats": [...], ...}}`` -> the study's parts.

    ``parts["transport"]["repeats"]`` and ``parts["edge"]["repeats"]`` (with ``"nominal_work_ms"``) are the
    measurements of :func:`run_study`; either part may be absent. Used by :func:`run_study` and :func:`reanalyse`.
    """
    out: dict[str, Any] = {}
    if "transport" in parts:
        repeats = parts["transport"]["repeats"]
        out["transport"] = transport_part(config, mean_of(repeats))
        out["transport"]["repeats"] = repeats
        out["transport"]["run_to_run"] = run_to_run(repeats, TRANSPORT_KPIS)
    if "edge" in parts:
        repeats = parts["edge"]["repeats"]
        out["edge"] = edge_part(config, mean_of(repeats), parts["edge"]["nominal_work_ms"])
        out["edge"]["repeats"] = repeats
        out["edge"]["run_to_run"] = run_to_run(repeats, EDGE_KPIS)
    return out


def reanalyse(study: dict[str, Any]) -> dict[str, Any]:
    """A saved study's measurements predicted, calibrated and compared again with this version's models.

    Everything but the measurements (and what the study held beside its parts, e.g. machine info) is recomputed;
    no root needed. Raises KeyError when ``study`` holds no measurements (``repeats``).
    """
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in study["config"].items()}
    config = StudyConfig(**fields)
    parts: dict[str, Any] = {part: study[part] for part in ("transport", "edge") if part in study}
    return study | analyse(config, parts)


def error_table(
    study: dict[str, Any], part: str, subset: str = "median_held_out"
) -> list[tuple[str, float, float, float]]:
    """Rows ``(kpi, median relative error before, after, shaped)`` of one part (``"transport"`` or ``"edge"``).

    ``after`` is the calibrated model of a slice as a link of its own rate (a slowed CPU); ``shaped`` the calibrated
    token-bucket shaper (CFS quota) model.
    """
    before, after, shaped = (study[part][model][subset] for model in ("before", "after", "shaped"))
    return [(k, before[k], after[k], shaped[k]) for k in before]
