"""The simulator against the emulation: per-slice transport and edge KPIs over a grid of shares and loads.

A scaled, single-link and single-site configuration that both can run:

* **transport**: one link of ``capacity_mbps``; a grid point is a slice with a share of it, an offered load (a
  fraction of its rate ``share x capacity``), a UDP payload size and a queue of ``queue_ms`` at its rate. The
  emulation gives the slice an HTB class of rate ``share x capacity`` with a bfifo of ``queue_ms`` and sends it
  Poisson UDP traffic. The simulator's prediction comes from its own
  :func:`netslice.network.transport.transport_step` on a one-link, one-cell :class:`TransportParams`, run for a
  few slots so that its backlog reaches its steady state, and :func:`netslice.network.queueing.gamma_quantile`
  for the percentiles (as :func:`netslice.network.kernel.step` computes its tail).
* **edge**: one site of ``edge_cores`` cores; a grid point is a slice with a CPU quota (cores) and a Poisson
  request load at a utilisation of that quota. The emulation runs the real per-request workload in a cgroup with
  that quota. The simulator's prediction comes from :func:`netslice.network.edge.edge_step` (share =
  quota / cores) and :func:`netslice.network.edge.edge_service`.

The parameters the simulator needs and cannot know a priori are gathered in :class:`TransportModel` and
:class:`EdgeModel`; :mod:`.calibration` fits them to measurements. Nothing here re-implements a simulator formula:
every prediction is a call into the simulator's functions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.network.edge import EdgeParams, edge_service, edge_step
from netslice.network.queueing import gamma_quantile
from netslice.network.traffic import ServiceParams
from netslice.network.transport import TransportParams, transport_step

FloatArray = NDArray[np.float64]

#: Standard-normal quantiles of the percentiles compared (p50, p90, p99).
Z = {"p50": 0.0, "p90": 1.2815516, "p99": 2.3263479}
#: Transport KPIs compared, in table order (the loss is compared as an absolute difference).
TRANSPORT_KPIS = ("throughput_mbps", "delay_mean_ms", "delay_p50_ms", "delay_p90_ms", "delay_p99_ms")
#: Edge KPIs compared, in table order.
EDGE_KPIS = ("service_ms", "response_mean_ms", "response_p50_ms", "response_p90_ms", "response_p99_ms")


@dataclass(frozen=True)
class TransportPoint:
    """One transport grid point: a slice on the link.

    Attributes:
        share: the slice's share of the link, in (0, 1].
        load: offered UDP payload rate over the slice's rate ``share x capacity``.
        payload_bytes: UDP payload per datagram, bytes.
    """

    share: float
    load: float
    payload_bytes: int = 1200


@dataclass(frozen=True)
class EdgePoint:
    """One edge grid point: a slice on the site.

    Attributes:
        quota_cores: the slice's CPU quota, cores.
        utilisation: offered work over the quota (requests/s x nominal work / quota).
    """

    quota_cores: float
    utilisation: float


@dataclass(frozen=True)
class TransportModel:
    """What the simulator must be told about a slice's packets and the link.

    Attributes:
        overhead_bytes: header bytes per datagram that count against the link rate but not the goodput (the
            offered bits on the link are ``payload + overhead`` per datagram). 0: the simulator's view, payload only.
        unit_fraction: the simulator's transfer unit (``job_bits``) as a fraction of a datagram on the link. Its
            service and waiting times scale with it; throughput and loss do not. 1: one datagram. An HTB class
            with a token bucket lets a datagram that finds tokens through at once, so its effective unit is
            smaller.
        fixed_delay_ms: fixed delay per link (the simulator's ``link_delay_s``: switching and processing), ms.
        ca2: burstiness of the arrivals as the simulator sees them; its G/G/1 stage uses ``(ca2 + 1) / 2``, so
            with deterministic service (fixed-size datagrams) the effective value is below Poisson's 1.
        burst_bytes: the slice's configured token-bucket depth, bytes; 0: the simulator's slice is a link of the
            share's rate, not a shaper. The simulator's ``TransportParams.burst_bits`` is this plus one datagram
            on the wire: HTB sends while its tokens are not negative and charges the datagram after
            (:data:`~netslice.network.emulation.transport.HTB_BURST_BYTES`).
        line_mbps: with a shaper, the rate at which a datagram that finds tokens is sent (``line_bps``), Mbit/s;
            0: the link's capacity.
    """

    overhead_bytes: float = 0.0
    unit_fraction: float = 1.0
    fixed_delay_ms: float = 0.0
    ca2: float = 1.0
    burst_bytes: float = 0.0
    line_mbps: float = 0.0


@dataclass(frozen=True)
class EdgeModel:
    """What the simulator must be told about a slice's requests.

    Attributes:
        work_ms: CPU time of one request on one core (the simulator's ``edge_work_s``), ms.
        cs2: squared coefficient of variation of the service time (``cs2_edge``).
        cfs_period_ms: the CFS bandwidth period (the simulator's ``EdgeParams.cfs_period_s``), ms; 0: the
            simulator's sub-core quota is a slowed server.
        fixed_ms: fixed time per request outside the server's CPU work (request handling, wake-up), the
            simulator's ``app_latency_s``: it adds to the response time, not to the service time, ms.
    """

    work_ms: float
    cs2: float = 1.0
    cfs_period_ms: float = 0.0
    fixed_ms: float = 0.0


def transport_params(
    capacity_mbps: float, buffer_bits: float, fixed_delay_ms: float, burst_bytes: float = 0.0, line_mbps: float = 0.0
) -> TransportParams:
    """A one-link, one-cell transport network: the cell's N3 path is the link, and no N6 path."""
    one = np.ones((1, 1))
    return TransportParams(
        capacity_bps=np.array([capacity_mbps * 1e6]),
        link_delay_s=np.array([fixed_delay_ms * 1e-3]),
        access=one,
        access_t=one,
        n6=np.zeros((1, 1)),
        buffer_bits=buffer_bits,
        link_names=("link",),
        burst_bits=burst_bytes * 8.0,
        line_bps=line_mbps * 1e6,
    )


def sim_transport(
    point: TransportPoint,
    model: TransportModel,
    capacity_mbps: float,
    queue_ms: float,
    slot_s: float = 2.0,
    slots: int = 5,
    offered_mbps: float | None = None,
) -> dict[str, float]:
    """The simulator's per-slice transport KPIs at one grid point (downlink direction).

    Args:
        point: the grid point.
        model: the simulator's packet and link parameters.
        capacity_mbps: link capacity, Mbit/s.
        queue_ms: the slice's queue, ms at its rate (buffer = ``share x capacity x queue_ms``).
        slot_s: slot length, s.
        slots: slots run from an empty queue; the last one is reported (the backlog carries over).
        offered_mbps: the offered payload rate, Mbit/s; by default ``load x share x capacity`` (a measurement
            passes the rate its Poisson sender really offered in the window).

    Returns:
        ``throughput_mbps`` (payload), ``delay_mean_ms``, ``delay_p50_ms``, ``delay_p90_ms``, ``delay_p99_ms``
        and ``loss``.
    """
    rate_bps = point.share * capacity_mbps * 1e6
    datagram = point.payload_bytes + model.overhead_bytes
    burst = model.burst_bytes + datagram if model.burst_bytes > 0.0 else 0.0
    params = transport_params(capacity_mbps, rate_bps * queue_ms * 1e-3, model.fixed_delay_ms, burst, model.line_mbps)
    wire = datagram / point.payload_bytes  # bits on the link per payload bit
    unit = model.unit_fraction * datagram * 8.0
    payload_bps = point.load * rate_bps if offered_mbps is None else offered_mbps * 1e6
    offered = np.zeros((1, 2, 1, 1))
    offered[0, 1, 0, 0] = payload_bps * wire
    share = np.array([[point.share]])
    q = np.zeros((1, 2, 1, 1))
    for _ in range(slots):
        out = transport_step(params, share, offered, np.full((2, 1), unit), np.array([model.ca2]), q, slot_s)
        q = out.links.q1
    mean, var = out.delay[0, 1, 0, 0], out.var[0, 1, 0, 0]
    kpis = {"throughput_mbps": payload_bps * float(out.delivered[0, 1, 0, 0]) / 1e6, "delay_mean_ms": float(mean) * 1e3}
    for name, z in Z.items():
        kpis[f"delay_{name}_ms"] = float(gamma_quantile(np.array([mean]), np.array([var]), z)[0]) * 1e3
    kpis["loss"] = float(out.lost[0, 1, 0, 0])
    return kpis


def edge_service_params(model: EdgeModel) -> ServiceParams:
    """A one-slice, open-loop :class:`ServiceParams` with the model's work and variability (Poisson arrivals)."""
    one, zero = np.ones(1), np.zeros(1)
    return ServiceParams(
        ul_kbps=zero, dl_kbps=zero, job_bits=np.full((2, 1), 8000.0), pkt_bits=np.full(1, 8000.0),
        req_per_ue=one, edge_work_s=np.array([model.work_ms * 1e-3]), interactive=np.zeros(1, dtype=bool),
        ca2=one, cs2_edge=np.array([model.cs2]), latency_dirs=np.ones((2, 1)),
        app_latency_s=np.array([model.fixed_ms * 1e-3]), fps=zero,
    )  # fmt: skip


def sim_edge(
    point: EdgePoint,
    model: EdgeModel,
    nominal_work_ms: float,
    cores: float,
    slot_s: float = 2.0,
    slots: int = 5,
    rate_per_s: float | None = None,
) -> dict[str, float]:
    """The simulator's per-slice edge KPIs at one grid point.

    Args:
        point: the grid point; its request rate is ``utilisation x quota / nominal_work``.
        model: the simulator's request parameters.
        nominal_work_ms: the workload's nominal CPU per request, ms (sets the request rate, as in the emulation).
        cores: the site's cores (share = quota / cores).
        slot_s: slot length, s.
        slots: slots run from an empty queue; the last one is reported.
        rate_per_s: the request rate, requests/s; by default the point's (a measurement passes the rate its
            Poisson generator really offered in the window).

    Returns:
        ``service_ms`` and ``response_mean_ms``, ``response_p50_ms``, ``response_p90_ms``, ``response_p99_ms``.
    """
    params = EdgeParams(
        cores=np.array([cores]), site_of_slice=np.zeros(1, dtype=np.int64), site_names=("edge",), buffer_jobs=1e6,
        cfs_period_s=model.cfs_period_ms * 1e-3,
    )  # fmt: skip
    service = edge_service_params(model)
    share = np.array([[point.quota_cores / cores]])
    lam = np.array([[request_rate(point, nominal_work_ms) if rate_per_s is None else rate_per_s]])
    q = np.zeros((1, 1))
    for _ in range(slots):
        out = edge_step(params, share, lam, service, q, slot_s)
        q = out.q1
    _, service_s = edge_service(params, share, service)
    # The response composes as the kernel's latency does: the application's fixed part plus the stage.
    mean, var = out.delay[0, 0] + service.app_latency_s[0], out.var[0, 0]
    kpis = {"service_ms": float(service_s[0, 0]) * 1e3, "response_mean_ms": float(mean) * 1e3}
    for name, z in Z.items():
        kpis[f"response_{name}_ms"] = float(gamma_quantile(np.array([mean]), np.array([var]), z)[0]) * 1e3
    return kpis


def request_rate(point: EdgePoint, nominal_work_ms: float) -> float:
    """Requests per second of an edge grid point: ``utilisation x quota / nominal work``."""
    return point.utilisation * point.quota_cores / (nominal_work_ms * 1e-3)


def nominal_work_ms(frame: tuple[int, int] = (480, 640), repeats: int = 30) -> float:
    """The workload's CPU time per request on this machine, ms: the median of ``repeats`` in-process runs.

    This is what a user would put into the simulator before any emulation: the cost of the work itself, without
    the server's request handling or the scheduler.
    """
    from netslice.network.emulation.workload import sobel_edges

    img = np.random.default_rng(0).integers(0, 256, frame).astype(np.float32)
    sobel_edges(img)
    times = []
    for _ in range(repeats):
        t = time.thread_time_ns()
        sobel_edges(img)
        times.append(time.thread_time_ns() - t)
    return float(np.median(times)) / 1e6


def relative_errors(
    predicted: list[dict[str, float]], measured: list[dict[str, float]], keys: tuple[str, ...]
) -> dict[str, FloatArray]:
    """Per KPI, ``|predicted - measured| / measured`` at every point (NaN where nothing was measured)."""
    out: dict[str, FloatArray] = {}
    for key in keys:
        p = np.array([x[key] for x in predicted], dtype=np.float64)
        m = np.array([x[key] for x in measured], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[key] = np.where(m > 0.0, np.abs(p - m) / m, np.nan)
    return out


def median_errors(errors: dict[str, FloatArray], mask: NDArray[np.bool_] | None = None) -> dict[str, float]:
    """Per KPI, the median relative error over the points in ``mask`` (all points by default)."""
    return {k: float(np.nanmedian(v if mask is None else v[mask])) for k, v in errors.items()}
