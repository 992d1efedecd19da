"""Transport network: a graph of links, per-slice bandwidth shares, path delay and loss.

Each cell's traffic follows a fixed path (shortest by propagation delay) from its site to the
core site (the N3 path), and each slice's traffic then follows the path from the core site to the
edge site that serves it (the N6 path). Every link carries both directions with the same capacity
(full duplex). Slice k gets ``share_k`` of every link's capacity.

Per link, slice and direction, an open G/G/1 stage in transfer units gives
delay = propagation + switching (fixed) + serialisation (the service time) + queueing + backlog,
(fibre ~5 us/km, ITU-T G.114's planning value). A path's delay and variance are the sums over its links; its
delivered and loss fractions compose multiplicatively.

With ``burst_bits > 0`` a slice's share is a token-bucket shaper on the link instead of a link of its own
(an HTB class, an SDN meter): a transfer unit that finds tokens leaves after its serialisation at the link's
full rate; otherwise it waits as in the G/G/1 stage at the share's rate, less the bucket's allowance
``burst_bits / (share x capacity)`` (:func:`netslice.network.queueing.shaped_sojourn`). The emulated transport
(:mod:`netslice.network.emulation.transport`) is such a shaper, with a configured bucket;
:mod:`netslice.network.emulation.calibration` fits the rest of the model to it.

Internal layout: link arrays are ``(n_envs, 2, n_slices, n_links)`` and path arrays
``(n_envs, 2, n_slices, n_cells)``, so routing is one matrix product with the incidence matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from netslice.network.queueing import MAX_DELAY_S, StageOut, closed_response, open_stage

FloatArray = NDArray[np.float64]
Incidence: TypeAlias = FloatArray | sparse.csr_array

#: Fibre propagation delay, ~4.9-5 us per km (light at ~2e8 m/s in silica; ITU-T G.114 plans with 5 us/km).
FIBRE_S_PER_KM = 5e-6


@dataclass(frozen=True)
class TransportParams:
    """Links and routes of the transport network.

    Attributes:
        capacity_bps: ``(n_links,)`` link capacity per direction (bit/s).
        link_delay_s: ``(n_links,)`` fixed delay per link: propagation plus switching (s).
        access: ``(n_cells, n_links)`` 0/1 incidence of each cell's N3 path (dense, or CSR when large).
        access_t: transpose of ``access`` (kept so the step never transposes a sparse matrix).
        n6: ``(n_slices, n_links)`` 0/1 incidence of each slice's core-to-edge path.
        buffer_bits: switch buffer per slice, link and direction (bits).
        link_names: ``(n_links,)`` human-readable link names ("a-b").
        burst_bits: token-bucket depth of every slice's shaper per link and direction (bits); 0: every slice's
            share is a link of that rate (no shaper; see the module docstring).
        line_bps: with shapers, the rate at which a unit that finds tokens is sent (the port under the shapers,
            bit/s); 0: the link's capacity.
    """

    capacity_bps: FloatArray
    link_delay_s: FloatArray
    access: Incidence
    access_t: Incidence
    n6: FloatArray
    buffer_bits: float
    link_names: tuple[str, ...]
    burst_bits: float = 0.0
    line_bps: float = 0.0

    @property
    def n_links(self) -> int:
        """Number of links."""
        return int(self.capacity_bps.shape[0])


@dataclass(frozen=True)
class TransportOut:
    """Transport outcome of one slot.

    Attributes:
        links: per-link stage outcome, ``(n_envs, 2, n_slices, n_links)``.
        delay: path delay per cell, ``(n_envs, 2, n_slices, n_cells)`` (s).
        var: path delay variance (s^2), same shape.
        delivered: path delivered fraction, same shape.
        lost: path loss fraction, same shape.
    """

    links: StageOut
    delay: FloatArray
    var: FloatArray
    delivered: FloatArray
    lost: FloatArray


def _route(x: FloatArray, matrix: Incidence) -> FloatArray:
    """Multiply the last axis of ``x`` by ``matrix`` (dense or sparse), keeping leading axes."""
    lead = x.shape[:-1]
    out: FloatArray = np.asarray(x.reshape(-1, x.shape[-1]) @ matrix, dtype=np.float64)
    return out.reshape(*lead, out.shape[-1])


def _along_paths(params: TransportParams, link_value: FloatArray) -> FloatArray:
    """Sum a per-link quantity along each cell's N3 path plus the slice's N6 path."""
    n6_sum: FloatArray = (link_value * params.n6).sum(axis=-1, keepdims=True)
    return _route(link_value, params.access_t) + n6_sum


def _shaper(params: TransportParams, share: FloatArray, unit: FloatArray) -> tuple[FloatArray, FloatArray] | None:
    """``(line_s, allowance_s)`` of every slice's token-bucket shaper per link, or None without shapers."""
    if params.burst_bits <= 0.0:
        return None
    rate = share[:, None, :, None] * params.capacity_bps
    with np.errstate(divide="ignore"):
        allowance = np.minimum(params.burst_bits / rate, MAX_DELAY_S)  # no share: no allowance that matters
    return unit / (params.line_bps or params.capacity_bps), allowance


def transport_step(
    params: TransportParams,
    share: FloatArray,
    offered_bits: FloatArray,
    job_bits: FloatArray,
    ca2: FloatArray,
    q0: FloatArray,
    slot_s: float,
) -> TransportOut:
    """Serve one slot of transport traffic.

    Args:
        params: transport parameters.
        share: ``(n_envs, n_slices)`` bandwidth share on every link.
        offered_bits: ``(n_envs, 2, n_slices, n_cells)`` offered load per cell (bit/s).
        job_bits: ``(2, n_slices)`` transfer unit per direction (bits).
        ca2: ``(n_slices,)`` arrival burstiness.
        q0: ``(n_envs, 2, n_slices, n_links)`` backlog (transfer units).
        slot_s: slot length (s).

    Returns:
        The slot's :class:`TransportOut`.
    """
    load = _route(offered_bits, params.access) + offered_bits.sum(axis=-1, keepdims=True) * params.n6
    unit = job_bits[:, :, None]
    mu = share[:, None, :, None] * params.capacity_bps / unit
    links = open_stage(
        q0, load / unit, mu, 1.0, ca2[:, None], 1.0, slot_s, params.buffer_bits / unit, params.link_delay_s,
        _shaper(params, share, unit),
    )  # fmt: skip
    delivered = np.exp(_along_paths(params, np.log(np.maximum(links.delivered, 1e-300))))
    kept = np.exp(_along_paths(params, np.log(np.maximum(1.0 - links.lost, 1e-300))))
    return TransportOut(
        links=links,
        delay=_along_paths(params, links.delay),
        var=_along_paths(params, links.var),
        delivered=delivered,
        lost=1.0 - kept,
    )


def closed_paths(
    params: TransportParams, share: FloatArray, population: FloatArray, job_bits: FloatArray, eps: float
) -> tuple[FloatArray, FloatArray]:
    """Path response time of closed-loop (interactive) traffic, per direction, slice and cell.

    Each link is a single-server station of the loop (:func:`closed_response`) that can hold every
    UE whose path crosses it.

    Args:
        params: transport parameters.
        share: ``(n_envs, n_slices)`` bandwidth share on every link.
        population: ``(n_envs, n_slices, n_cells)`` UEs of the loop in each cell.
        job_bits: ``(2, n_slices)`` transfer unit per direction (bits).
        eps: width of the smooth max.

    Returns:
        ``(delay, var)``, arrays ``(n_envs, 2, n_slices, n_cells)`` (s, s^2).
    """
    on_link = _route(population, params.access) + population.sum(axis=-1, keepdims=True) * params.n6
    bandwidth = share[:, None, :, None] * params.capacity_bps  # (E, 1, K, L)
    with np.errstate(divide="ignore"):
        service = np.where(bandwidth > 0.0, job_bits[:, :, None] / np.maximum(bandwidth, 1e-300), np.inf)
    delay, var = closed_response(on_link[:, None], service, 1.0, eps)
    return _along_paths(params, delay + params.link_delay_s), _along_paths(params, var)
