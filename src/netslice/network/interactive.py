"""Interactive (closed-loop) slices: request rate and response time set by the whole loop.

A MAR-style UE keeps one request outstanding: it uploads a frame, the edge processes it, the answer
comes back, the app renders it (``app_latency_s``) and the UE sends the next one. The N active UEs
of the slice in cell c therefore cycle through a closed network of stations: the cell's UL RAN
queue, the transport links of the N3 and N6 paths, the slice's UPF, the edge site, and back down.
At each station the loop is modelled with the closed-loop bound of
:func:`netslice.network.queueing.closed_response`, R_i = S_i (1 + smooth_relu(N_i / c_i - 1)),
where N_i are the UEs that can reach the station (the cell's UEs at its RAN, all UEs of the slice
at the UPF and the edge). The cycle is

    C_c = app + sum over the latency directions of (RAN + transport path) + UPF + edge,

and the cell's request rate is X_c = N_c / C_c. Because every R_i falls when its resource grows
and none depends on X, more of any resource never raises the latency of an interactive slice, and
the loop can never overload a station (its population is bounded). The open stages then run at
the rate X to give utilisation, throughput and loss. With the testbed's fast network the edge
dominates and R_edge = S max(1, N / c) reproduces the measured +~107 ms per extra UE
(the MAR measurements, 1-4 UEs, of the authors' OAI testbed: Q. Liu, N. Choi, T. Han, "Atlas: Automate
Online Service Configuration in Network Slicing", ACM CoNEXT 2022, data in github.com/liuqiangus/Atlas).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.network.core import CoreParams
from netslice.network.edge import EdgeParams, edge_service
from netslice.network.queueing import closed_response, cpu_servers
from netslice.network.ran import RanLink
from netslice.network.traffic import ServiceParams
from netslice.network.transport import TransportParams, closed_paths

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ClosedLoop:
    """Response times of interactive slices' loops (meaningful only where ``interactive``).

    Attributes:
        ran: ``(n_envs, 2, n_cells, n_slices)`` RAN response time per direction (s).
        ran_var: its variance (s^2).
        tn: ``(n_envs, 2, n_cells, n_slices)`` transport path response time per direction (s).
        tn_var: its variance (s^2).
        cn: ``(n_envs, n_slices)`` UPF response time, all passes (s).
        cn_var: its variance (s^2).
        edge: ``(n_envs, n_slices)`` edge response time (s).
        edge_var: its variance (s^2).
        cycle: ``(n_envs, n_cells, n_slices)`` end-to-end cycle C_c including the app latency (s).
        var: ``(n_envs, n_cells, n_slices)`` variance of the cycle (s^2).
        rate: ``(n_envs, n_cells, n_slices)`` requests/s of the cell's UEs, X_c = N_c / C_c.
    """

    ran: FloatArray
    ran_var: FloatArray
    tn: FloatArray
    tn_var: FloatArray
    cn: FloatArray
    cn_var: FloatArray
    edge: FloatArray
    edge_var: FloatArray
    cycle: FloatArray
    var: FloatArray
    rate: FloatArray


def closed_loop(
    link: RanLink,
    transport: TransportParams,
    core: CoreParams,
    edge: EdgeParams,
    service: ServiceParams,
    eff_tn: FloatArray,
    eff_cn: FloatArray,
    eff_edge: FloatArray,
    population: FloatArray,
) -> ClosedLoop:
    """Solve every slice's loop as if it were interactive (callers select with ``service.interactive``).

    Args:
        link: the slot's RAN link adaptation.
        transport: transport parameters.
        core: core parameters.
        edge: edge parameters (its ``smooth_eps`` sets the smooth max of every station).
        service: per-UE demand.
        eff_tn: ``(n_envs, n_slices)`` effective bandwidth share.
        eff_cn: ``(n_envs, n_slices)`` effective UPF CPU share.
        eff_edge: ``(n_envs, n_slices)`` effective edge CPU share.
        population: ``(n_envs, n_cells, n_slices)`` active UEs per cell.

    Returns:
        The loops' :class:`ClosedLoop`.
    """
    eps = edge.smooth_eps
    unit = service.job_bits[:, None, :]  # (2, 1, K)
    with np.errstate(divide="ignore"):
        ran_s = np.where(link.rate > 0.0, unit / np.maximum(link.rate, 1e-300), np.inf)
    ran, ran_var = closed_response(population[:, None], ran_s, 1.0, eps)
    ran = ran + link.fixed_delay
    tn, tn_var = closed_paths(transport, eff_tn, population.swapaxes(1, 2), service.job_bits, eps)
    tn, tn_var = tn.swapaxes(2, 3), tn_var.swapaxes(2, 3)

    n_slice = population.sum(axis=1)  # (E, K)
    dirs = service.latency_dirs  # (2, K)
    servers, speed = cpu_servers(eff_cn * core.cores)
    pkts = (dirs * service.job_bits).sum(axis=0) / service.pkt_bits  # packets per request through the UPF
    with np.errstate(divide="ignore"):
        cn_s = np.where(speed > 0.0, pkts / np.maximum(speed * core.pps_per_core, 1e-300), np.inf)
    cn, cn_var = closed_response(n_slice, cn_s, servers, eps)
    cn = cn + dirs.sum(axis=0) * core.processing_delay_s
    edge_servers, edge_s = edge_service(edge, eff_edge, service)
    r_edge, edge_var = closed_response(n_slice, edge_s, edge_servers, eps)
    edge_var = service.cs2_edge * edge_var

    d = dirs[:, None, :]  # (2, 1, K)
    cycle = service.app_latency_s + (d * (ran + tn)).sum(axis=1) + (cn + r_edge)[:, None, :]
    var = (d * (ran_var + tn_var)).sum(axis=1) + (cn_var + edge_var)[:, None, :]
    return ClosedLoop(
        ran=ran, ran_var=ran_var, tn=tn, tn_var=tn_var, cn=cn, cn_var=cn_var, edge=r_edge, edge_var=edge_var,
        cycle=cycle, var=var, rate=population / np.maximum(cycle, 1e-12),
    )  # fmt: skip
