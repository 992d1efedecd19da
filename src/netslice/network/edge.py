"""Edge and cloud computing: per-slice CPU share of the serving site -> request service.

Slice k is served at site ``site_of_slice[k]`` and gets ``share_k`` of its cores. A request needs
``edge_work_s`` core-seconds; with c allocated cores the service time is S = work / min(c, 1) on
max(c, 1) parallel servers (:func:`netslice.network.queueing.cpu_servers`).

* **Open-loop slices** (video frames, IoT reports, URLLC transactions): N UEs x ``req_per_ue``
  requests/s enter a G/G/c stage with a fluid backlog.
* **Interactive slices** (MAR offloading): each active UE keeps one request outstanding and sends
  the next as soon as the answer arrives, so the site holds N requests. Mean value analysis of
  this closed system with zero think time gives the response time R = S max(1, N / c); a smooth
  max keeps R differentiable and monotone: R = S (1 + smooth_relu(N / c - 1)). The request
  throughput N / R is what loads the other domains. Calibrated against the testbed (edge compute
  ~100 ms per frame on one core, +~107 ms per extra UE; authors-testbed.md 5.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.network.queueing import MAX_DELAY_S, StageOut, cpu_servers, open_stage, smooth_relu
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


@dataclass(frozen=True)
class EdgeOut:
    """Edge outcome of one slot, arrays ``(n_envs, n_slices)``.

    Attributes:
        stage: response time, variance, delivery and loss of each slice's requests.
        req_rate: requests/s served (interactive) or offered (open loop) per slice.
        cores: cores allocated to each slice.
    """

    stage: StageOut
    req_rate: FloatArray
    cores: FloatArray


def edge_step(
    params: EdgeParams,
    share: FloatArray,
    load: FloatArray,
    service: ServiceParams,
    q0: FloatArray,
    slot_s: float,
) -> EdgeOut:
    """Serve one slot of edge requests.

    Args:
        params: edge parameters.
        share: ``(n_envs, n_slices)`` CPU share of the serving site.
        load: ``(n_envs, n_slices)`` active UEs per slice.
        service: per-UE demand.
        q0: ``(n_envs, n_slices)`` backlog of open-loop slices (requests).
        slot_s: slot length (s).

    Returns:
        The slot's :class:`EdgeOut`.
    """
    cores = share * params.cores[params.site_of_slice]
    servers, speed = cpu_servers(cores)
    mu_server = speed / service.edge_work_s
    lam_open = load * service.req_per_ue
    open_ = open_stage(q0, lam_open, mu_server, servers, service.ca2, service.cs2_edge, slot_s, params.buffer_jobs)
    # Interactive (closed-loop) slices: R = S (1 + smooth_relu(N / c - 1)).
    s = 1.0 / np.maximum(mu_server, 1e-9)
    population = load / servers
    resp = np.minimum(s * (1.0 + smooth_relu(population - 1.0, params.smooth_eps)), MAX_DELAY_S)
    closed_var = service.cs2_edge * s * s * np.maximum(population, 1.0)
    inter = service.interactive
    stage = StageOut(
        delay=np.where(inter, resp, open_.delay),
        var=np.where(inter, closed_var, open_.var),
        delivered=np.where(inter, 1.0, open_.delivered),
        lost=np.where(inter, 0.0, open_.lost),
        q1=np.where(inter, 0.0, open_.q1),
        rho=np.where(inter, np.minimum(population, 1.0), open_.rho),
    )
    return EdgeOut(stage=stage, req_rate=np.where(inter, load / resp, lam_open), cores=cores)
