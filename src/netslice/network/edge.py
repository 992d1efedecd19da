"""Edge and cloud computing: per-slice CPU share of the serving site -> request service.

Slice k is served at site ``site_of_slice[k]`` and gets ``share_k`` of its cores. A request needs
``edge_work_s`` core-seconds; with c allocated cores the service time is S = work / min(c, 1) on
max(c, 1) parallel servers (:func:`netslice.network.queueing.cpu_servers`).

* **Open-loop slices** (video frames, IoT reports, URLLC transactions): N UEs x ``req_per_ue``
  requests/s enter a G/G/c stage with a fluid backlog.
* **Interactive slices** (MAR offloading): each active UE keeps one request outstanding, so their
  request rate is set by the whole loop (:mod:`netslice.network.interactive`), which also gives
  their response time here: R = S (1 + smooth_relu(N / c - 1)). Calibrated against the testbed
  (edge compute ~100 ms per frame on one core, +~107 ms per extra UE, measured on the authors' OAI testbed:
  Q. Liu, N. Choi, T. Han, "Atlas: Automate Online Service Configuration in Network Slicing", ACM CoNEXT 2022).
  Their open stage below only yields the CPU utilisation at that rate.

**CFS bandwidth control** (``cfs_period_s > 0``): a quota below one core is then what Linux's CFS makes of it
(kernel documentation, scheduler/sched-bwc: ``cpu.cfs_quota_us`` per ``cpu.cfs_period_us``, 100 ms by default),
not a slowed server. A request runs at a whole core's speed while the group has quota left in the period, and
the group is throttled until the next period when it has none: a token bucket of rate c cores and depth c x
period. The open stage is then a shaper (:func:`netslice.network.queueing.shaped_sojourn`) with a line time of
the work at full speed and an allowance of one period; a request longer than one period's quota takes
``work / c - (1 - c) period``. The emulated edge (:mod:`netslice.network.emulation.edge`) runs such quotas;
:mod:`netslice.network.emulation.calibration` compares the two models against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.network.queueing import StageOut, cpu_servers, open_stage
from netslice.network.traffic import ServiceParams

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class EdgeParams:
    """Edge and cloud sites.

    Attributes:
        cores: ``(n_sites,)`` CPU cores per site.
        site_of_slice: ``(n_slices,)`` index of the site serving each slice.
        site_names: ``(n_sites,)`` site names.
        buffer_jobs: request queue per slice (requests).
        smooth_eps: width of the smooth max in the interactive response time.
        cfs_period_s: CFS bandwidth period of sub-core quotas (s); 0: a quota of c < 1 cores is one server
            slowed to speed c (see the module docstring).
    """

    cores: FloatArray
    site_of_slice: IntArray
    site_names: tuple[str, ...]
    buffer_jobs: float
    smooth_eps: float = 0.1
    cfs_period_s: float = 0.0


def edge_service(params: EdgeParams, share: FloatArray, service: ServiceParams) -> tuple[FloatArray, FloatArray]:
    """Servers and mean service time of each slice's requests.

    Args:
        params: edge parameters.
        share: ``(n_envs, n_slices)`` CPU share of the serving site.
        service: per-UE demand.

    Returns:
        ``(servers, service_s)``, arrays ``(n_envs, n_slices)``: parallel servers (>= 1) and the
        time one request takes on one of them (s; inf without CPU).
    """
    servers, speed, service_s = _scaled_servers(params, share, service)
    if params.cfs_period_s > 0.0:
        cfs = _cfs_line(service.edge_work_s, speed, params.cfs_period_s)
        service_s = np.where(speed > 0.0, np.minimum(service_s, cfs), np.inf)
    return servers, service_s


def _scaled_servers(
    params: EdgeParams, share: FloatArray, service: ServiceParams
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(servers, speed, service_s)`` of the speed-scaled model: a sub-core quota is a slowed server."""
    servers, speed = cpu_servers(share * params.cores[params.site_of_slice])
    with np.errstate(divide="ignore"):
        return servers, speed, np.where(speed > 0.0, service.edge_work_s / np.maximum(speed, 1e-300), np.inf)


def _cfs_line(work_s: FloatArray, speed: FloatArray, period_s: float) -> FloatArray:
    """Time of one request under a CFS quota of ``speed`` cores (< 1) with the bucket full: ``max(w, w/c - (1-c)P)``.

    It runs at full speed for the period's quota ``c P``, then waits ``(1 - c) P`` for the next period, and so on:
    ``work / c - (1 - c) period`` for work beyond one period's quota, the work itself within it.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        throttled = work_s / np.maximum(speed, 1e-300) - (1.0 - speed) * period_s
    return np.maximum(work_s, throttled)


def _cfs_shaper(params: EdgeParams, speed: FloatArray, service: ServiceParams) -> tuple[FloatArray, FloatArray] | None:
    """``(line_s, allowance_s)`` of the CFS shaper of each slice's sub-core quota (zeros: no shaping), or None."""
    if params.cfs_period_s <= 0.0:
        return None
    sub_core = (speed > 0.0) & (speed < 1.0)
    line = np.where(sub_core, _cfs_line(service.edge_work_s, speed, params.cfs_period_s), 0.0)
    return line, np.where(sub_core, params.cfs_period_s, 0.0)


def edge_step(
    params: EdgeParams,
    share: FloatArray,
    lam: FloatArray,
    service: ServiceParams,
    q0: FloatArray,
    slot_s: float,
) -> StageOut:
    """Serve one slot of edge requests as an open G/G/c stage.

    Args:
        params: edge parameters.
        share: ``(n_envs, n_slices)`` CPU share of the serving site.
        lam: ``(n_envs, n_slices)`` requests/s per slice.
        service: per-UE demand.
        q0: ``(n_envs, n_slices)`` backlog (requests).
        slot_s: slot length (s).

    Returns:
        The stage outcome, arrays ``(n_envs, n_slices)``.
    """
    servers, speed, virtual_s = _scaled_servers(params, share, service)
    return open_stage(
        q0, lam, 1.0 / virtual_s, servers, service.ca2, service.cs2_edge, slot_s, params.buffer_jobs,
        shaper=_cfs_shaper(params, speed, service),
    )  # fmt: skip
