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
    """

    cores: FloatArray
    site_of_slice: IntArray
    site_names: tuple[str, ...]
    buffer_jobs: float
    smooth_eps: float = 0.1


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
    servers, speed = cpu_servers(share * params.cores[params.site_of_slice])
    with np.errstate(divide="ignore"):
        return servers, np.where(speed > 0.0, service.edge_work_s / np.maximum(speed, 1e-300), np.inf)


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
    servers, service_s = edge_service(params, share, service)
    return open_stage(q0, lam, 1.0 / service_s, servers, service.ca2, service.cs2_edge, slot_s, params.buffer_jobs)
