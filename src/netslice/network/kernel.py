"""The end-to-end step kernel (pure numpy): composes traffic, RAN, transport, core and edge into one batched step.

``step(params, state, allocation, rng) -> (state, kpis)`` is a pure function over arrays shaped
``(n_envs, ...)``: no Python loop over envs, slices, cells or links. One slot of ``slot_s``
seconds runs as follows.

1. **Enforcement delay.** Domain d reconfigures in ``enforce_delay_s[d]``; for that fraction of
   the slot the previous allocation still runs, so the slot sees the time average
   phi * previous + (1 - phi) * new, phi = min(1, delay / slot).
2. **Link adaptation** of every cell (CQI, BLER, rate of each slice's PRBs).
3. **Interactive loops** (:mod:`netslice.network.interactive`): the response time of every station
   and the request rate X_c = N_c / cycle of closed-loop slices.
4. **Offered load** per direction and cell: open-loop slices N x per-UE rate split over cells by
   ``cell_share``, interactive slices X_c x transfer unit.
5. **RAN, transport, core, edge** open stages (each with its own carried-over backlog; interactive
   slices keep none and take only utilisation and residual HARQ loss from them).
6. **Composition** per cell: latency = app + [UL: RAN + TN path + UPF] + edge + [DL: UPF + TN path
   + RAN] (halves included per ``latency_dirs``); delivered fractions multiply; slice KPIs are
   traffic-weighted over cells.
7. The traffic and shadowing advance to the next slot; the new allocation becomes "previous".

The state's ``traffic.load`` is the load of the *coming* slot, so an oracle that reads the state
knows next-slot traffic while agents see it one slot late through the KPIs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, is_dataclass, replace
from operator import attrgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from netslice.network.allocation import (
    CN_CPU,
    DOMAINS,
    EDGE_CPU,
    MCS_DL,
    MCS_UL,
    PRB_DL,
    PRB_UL,
    TN_BW,
)
from netslice.network.core import CoreParams, core_step
from netslice.network.edge import EdgeParams, edge_step
from netslice.network.interactive import closed_loop
from netslice.network.queueing import MIN_OFFERED_BPS, StageOut, gamma_quantile
from netslice.network.ran import RanParams, ran_link, ran_step
from netslice.network.traffic import ServiceParams, TrafficParams, TrafficState, init_traffic, step_traffic
from netslice.network.transport import TransportParams, transport_step

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class SimParams:
    """Everything that defines a scenario's network (built by the scenario loader).

    Attributes:
        name: scenario name with version suffix (``testbed-v0``).
        slice_names: ``(n_slices,)`` slice names.
        slot_s: orchestration interval (s).
        start_hour: hour of day of slot 0.
        traffic: traffic model.
        service: per-UE demand.
        ran: radio access network.
        transport: transport network.
        core: core network.
        edge: edge and cloud sites.
        enforce_fraction: ``(n_resources,)`` fraction of a slot that still runs the previous
            allocation of each resource row (min(1, enforcement delay / slot)).
        initial_allocation: ``(n_resources, n_slices)`` allocation in force at reset.
        per_ue_bits: ``(2, n_slices)`` open-loop offered rate per UE, [UL, DL] (bit/s).
        tail_z: standard-normal quantile of the reported latency percentile (1.6449 = p95).
    """

    name: str
    slice_names: tuple[str, ...]
    slot_s: float
    start_hour: float
    traffic: TrafficParams
    service: ServiceParams
    ran: RanParams
    transport: TransportParams
    core: CoreParams
    edge: EdgeParams
    enforce_fraction: FloatArray
    initial_allocation: FloatArray
    per_ue_bits: FloatArray
    tail_z: float = 1.6448536269514722

    @property
    def n_slices(self) -> int:
        """Number of slices."""
        return len(self.slice_names)

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return self.ran.n_cells

    @property
    def n_links(self) -> int:
        """Number of transport links."""
        return self.transport.n_links


@dataclass(frozen=True)
class SimState:
    """State of ``n_envs`` independent networks.

    Attributes:
        t: ``(n_envs,)`` slots since reset.
        traffic: traffic processes and the coming slot's load.
        shadow: ``(n_envs, 2, n_cells, n_slices)`` shadowing (dB).
        q_ran: ``(n_envs, 2, n_cells, n_slices)`` RAN backlog (transfer units).
        q_tn: ``(n_envs, 2, n_slices, n_links)`` transport backlog (transfer units).
        q_cn: ``(n_envs, n_slices)`` UPF backlog (packets).
        q_edge: ``(n_envs, n_slices)`` edge backlog (requests).
        alloc: ``(n_envs, n_resources, n_slices)`` allocation in force at the end of the last slot.
    """

    t: IntArray
    traffic: TrafficState
    shadow: FloatArray
    q_ran: FloatArray
    q_tn: FloatArray
    q_cn: FloatArray
    q_edge: FloatArray
    alloc: FloatArray

    @property
    def n_envs(self) -> int:
        """Number of envs."""
        return int(self.t.shape[0])


@dataclass(frozen=True)
class Kpis:
    """Per-slice KPIs of one slot, arrays ``(n_envs, n_slices)`` unless noted.

    Names follow TS 28.552/28.554 where one exists (in brackets).

    Attributes:
        hour: ``(n_envs,)`` hour of day of the slot.
        active_ues: mean active UEs (DRB.MeanActiveUeDl).
        offered_dl_kbps: offered downlink load (kbit/s).
        offered_ul_kbps: offered uplink load (kbit/s).
        thp_dl_kbps: downlink throughput of the slice (DTSNSI, kbit/s).
        thp_ul_kbps: uplink throughput of the slice (UTSNSI, kbit/s).
        latency_ms: mean end-to-end latency (E2E delay, ms).
        latency_tail_ms: tail (p95 by default) end-to-end latency (ms).
        reliability: fraction of offered data not lost (1 - packet loss rate).
        fps: delivered frames per second per UE (video slices; 0 otherwise).
        ran_ms: RAN share of the latency (ms); ``tn_ms``, ``cn_ms``, ``edge_ms`` likewise.
        tn_ms: transport share of the latency (ms).
        cn_ms: core share of the latency (ms).
        edge_ms: edge share of the latency (ms).
        prb_used_ul: UL PRBs in use, % of the cells' PRBs (RRU.PrbUsedUl).
        prb_used_dl: DL PRBs in use, % of the cells' PRBs (RRU.PrbUsedDl).
        cqi_dl: traffic-weighted mean DL CQI after the MCS cap (CARR.WBCQIDist mean).
        cqi_ul: traffic-weighted mean UL CQI after the MCS cap.
        prb_load_peak_ul: the slice's UL PRB load in its most loaded cell: offered load over what its PRBs
            carry at the slot's MCS and BLER (the per-cell load behind RRU.PrbUsedUl, uncapped: > 1 is
            overload; 0 where no cell has load). Unlike the cell-weighted means, it shows the bottleneck cell.
        prb_load_peak_dl: likewise in DL.
        cpu_load_cn: UPF CPU utilisation, % of the allocated vCPUs (VR.VCpuUsageMean).
        cpu_load_edge: edge CPU utilisation, % of the allocated cores.
        usage: ``(n_envs, 4)`` allocated fraction of each domain's capacity, order :data:`DOMAINS`.
        slice_usage: ``(n_envs, 4, n_slices)`` each slice's part of ``usage``.
    """

    hour: FloatArray
    active_ues: FloatArray
    offered_dl_kbps: FloatArray
    offered_ul_kbps: FloatArray
    thp_dl_kbps: FloatArray
    thp_ul_kbps: FloatArray
    latency_ms: FloatArray
    latency_tail_ms: FloatArray
    reliability: FloatArray
    fps: FloatArray
    ran_ms: FloatArray
    tn_ms: FloatArray
    cn_ms: FloatArray
    edge_ms: FloatArray
    prb_used_ul: FloatArray
    prb_used_dl: FloatArray
    cqi_ul: FloatArray
    cqi_dl: FloatArray
    prb_load_peak_ul: FloatArray
    prb_load_peak_dl: FloatArray
    cpu_load_cn: FloatArray
    cpu_load_edge: FloatArray
    usage: FloatArray
    slice_usage: FloatArray


def hour_of(params: SimParams, t: IntArray) -> FloatArray:
    """Hour of day of slot ``t``."""
    return np.asarray((params.start_hour + t * (params.slot_s / 3600.0)) % 24.0, dtype=np.float64)


def reset(params: SimParams, n_envs: int, rng: np.random.Generator) -> SimState:
    """A fresh state for ``n_envs`` envs: empty queues, initial allocation, random traffic and channel.

    Draws, in order: traffic noise ``(n_envs, n_slices)``, burst uniforms, day factors, then the
    shadowing ``(n_envs, 2, n_cells, n_slices)`` (only when ``shadow_sigma_db > 0``).
    """
    t = np.zeros(n_envs, dtype=np.int64)
    traffic = init_traffic(params.traffic, hour_of(params, t), rng)
    ran_shape = (n_envs, 2, params.n_cells, params.n_slices)
    shadow = np.zeros(ran_shape)
    if params.ran.shadow_sigma_db > 0.0:
        shadow = params.ran.shadow_sigma_db * rng.standard_normal(ran_shape)
    return SimState(
        t=t,
        traffic=traffic,
        shadow=shadow,
        q_ran=np.zeros(ran_shape),
        q_tn=np.zeros((n_envs, 2, params.n_slices, params.n_links)),
        q_cn=np.zeros((n_envs, params.n_slices)),
        q_edge=np.zeros((n_envs, params.n_slices)),
        alloc=np.broadcast_to(params.initial_allocation, (n_envs, *params.initial_allocation.shape)).copy(),
    )


def reset_envs(params: SimParams, state: SimState, mask: NDArray[np.bool_], rng: np.random.Generator) -> SimState:
    """Reset the envs where ``mask`` is true and keep the others (no loop over envs).

    Random draws are made for the masked envs only, in the order of :func:`reset`.
    """
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return state
    fresh = reset(params, idx.size, rng)

    def put(old: NDArray[Any], new: NDArray[Any]) -> NDArray[Any]:
        out = old.copy()
        out[idx] = new
        return out

    return map_state(put, state, fresh)


def map_state(fn: Callable[..., NDArray[Any]], *states: SimState) -> SimState:
    """A new state whose every array is ``fn`` of the matching arrays of ``states``.

    ``fn`` gets one array from each state (``fn(a_0, a_1, ...)``) for every array field, those of
    the nested :class:`~netslice.network.traffic.TrafficState` included, in field order; the
    states' structure is rebuilt around its results. For example
    ``map_state(lambda x: np.concatenate([x] * n, axis=0), state)`` repeats every env ``n`` times.

    Raises:
        TypeError: no state given.
    """
    if not states:
        raise TypeError("map_state: give at least one state")
    leaves, tree = _plan(states[0])
    arrays: Iterable[NDArray[Any]]
    if len(states) == 1:  # kept lean: fused_step maps a state every slot
        arrays = map(fn, leaves(states[0]))
    else:
        arrays = (fn(*group) for group in zip(*map(leaves, states), strict=True))
    mapped: SimState = _build(tree, iter(arrays))
    return mapped


#: Per dataclass type: a getter of all its arrays (C speed) and its field tree (see :func:`_plan`).
_PLANS: dict[type, tuple[Callable[[Any], tuple[NDArray[Any], ...]], Any]] = {}


def _plan(obj: Any) -> tuple[Callable[[Any], tuple[NDArray[Any], ...]], Any]:
    """How to take a dataclass instance apart and put it back together (cached per type).

    Returns:
        An :func:`operator.attrgetter` of the dotted paths of every array (``"traffic.noise"``), in
        field order, and the tree ``(type, children)`` where a child is ``None`` for an array and a
        tree for a nested dataclass.
    """
    plan = _PLANS.get(type(obj))
    if plan is None:

        def walk(node: Any, prefix: str) -> tuple[list[str], Any]:
            paths: list[str] = []
            children: list[Any] = []
            for f in fields(node):
                value = getattr(node, f.name)
                if is_dataclass(value):
                    sub_paths, sub_tree = walk(value, f"{prefix}{f.name}.")
                    paths += sub_paths
                    children.append(sub_tree)
                else:
                    paths.append(prefix + f.name)
                    children.append(None)
            return paths, (type(node), tuple(children))

        paths, tree = walk(obj, "")
        plan = _PLANS[type(obj)] = (attrgetter(*paths), tree)
    return plan


def _build(tree: Any, arrays: Iterator[NDArray[Any]]) -> Any:
    """A dataclass of the field ``tree`` (see :func:`_plan`) filled from ``arrays`` in field order."""
    cls, children = tree
    return cls(*[next(arrays) if child is None else _build(child, arrays) for child in children])


def step(params: SimParams, state: SimState, allocation: FloatArray, rng: np.random.Generator) -> tuple[SimState, Kpis]:
    """Run one slot for every env (see the module docstring for the order of events).

    Args:
        params: scenario parameters.
        state: current state.
        allocation: ``(n_envs, n_resources, n_slices)`` new allocation; assumed valid (see
            :func:`netslice.network.allocation.validate_allocation`, which the
            :class:`~netslice.network.simulator.Simulator` wrapper calls).
        rng: the one random generator; draws, in order: traffic noise, burst uniforms, shadowing.

    Returns:
        ``(next_state, kpis)``.
    """
    slot, service, cell_share = params.slot_s, params.service, params.traffic.cell_share
    phi = params.enforce_fraction[:, None]
    effective = phi * state.alloc + (1.0 - phi) * allocation
    load = state.traffic.load

    interactive = service.interactive
    link = ran_link(params.ran, effective[:, PRB_UL : PRB_DL + 1], effective[:, MCS_UL : MCS_DL + 1], state.shadow)
    population = load[:, None, :] * cell_share  # (E, C, K)
    loop = closed_loop(
        link, params.transport, params.core, params.edge, service,
        effective[:, TN_BW], effective[:, CN_CPU], effective[:, EDGE_CPU], population,
    )  # fmt: skip
    open_bits = (load[:, None, :] * params.per_ue_bits)[:, :, None, :] * cell_share  # (E, 2, C, K)
    cell_bits = np.where(interactive, loop.rate[:, None] * service.job_bits[:, None, :], open_bits)
    bits = cell_bits.sum(axis=2)  # (E, 2, K)

    edge_req_rate = np.where(interactive, loop.rate.sum(axis=1), load * service.req_per_ue)
    edge = _closed(
        edge_step(params.edge, effective[:, EDGE_CPU], edge_req_rate, service, state.q_edge, slot), interactive
    )
    ran = ran_step(params.ran, link, cell_bits, service.job_bits, service.ca2, state.q_ran, slot)
    ran_stage = _closed(ran.stage, interactive, ran.residual)
    tn = transport_step(
        params.transport, effective[:, TN_BW], cell_bits.swapaxes(2, 3), service.job_bits, service.ca2, state.q_tn, slot
    )
    tn_links = _closed(tn.links, interactive[:, None])
    cn = _closed(
        core_step(params.core, effective[:, CN_CPU], bits.sum(axis=1), service.pkt_bits, service.ca2, state.q_cn, slot),
        interactive,
    )

    # Composition per direction and cell, (E, 2, C, K); interactive slices take their loop's response times.
    dirs = service.latency_dirs[:, None, :]  # (2, 1, K)
    n_halves = service.latency_dirs.sum(axis=0)  # (K,) 0, 1 or 2 passes through the UPF
    ran_part = (dirs * np.where(interactive, loop.ran, ran.stage.delay)).sum(axis=1)  # (E, C, K)
    tn_part = (dirs * np.where(interactive, loop.tn, tn.delay.swapaxes(2, 3))).sum(axis=1)
    cn_part = np.where(interactive, loop.cn, n_halves * cn.delay)  # (E, K)
    edge_part = np.where(interactive, loop.edge, edge.delay)
    latency = service.app_latency_s + ran_part + tn_part + (cn_part + edge_part)[:, None, :]
    open_var = (dirs * (ran.stage.var + tn.var.swapaxes(2, 3))).sum(axis=1) + (n_halves * cn.var + edge.var)[:, None, :]
    var = np.where(interactive, loop.var, open_var)
    tail = gamma_quantile(latency, var, params.tail_z)
    tn_delivered = np.where(interactive[:, None], 1.0, tn.delivered)
    tn_lost = np.where(interactive[:, None], 0.0, tn.lost)

    common_kept = (1.0 - cn.lost) * (1.0 - edge.lost)  # (E, K)
    delivered = ran_stage.delivered * tn_delivered.swapaxes(2, 3) * (cn.delivered * edge.delivered)[:, None, None, :]
    kept = (1.0 - ran_stage.lost) * (1.0 - tn_lost.swapaxes(2, 3)) * common_kept[:, None, None, :]
    thp = (cell_bits * delivered).sum(axis=2)  # (E, 2, K) bit/s
    offered_total = bits.sum(axis=1)
    reliability = np.where(
        offered_total > MIN_OFFERED_BPS, (cell_bits * kept).sum(axis=(1, 2)) / np.maximum(offered_total, 1e-300), 1.0
    )
    delivered_dl = np.where(bits[:, 1] > MIN_OFFERED_BPS, thp[:, 1] / np.maximum(bits[:, 1], 1e-300), 1.0)

    prb_total = params.ran.prb.sum(axis=1)  # (2,)
    prb_used = ran.prb_used.sum(axis=2) / prb_total[:, None] * 100.0  # (E, 2, K)
    cqi = (ran.cqi * cell_share).sum(axis=2)  # (E, 2, K)
    prb_load_peak = ran.stage.rho.max(axis=2)  # (E, 2, K)
    per_slice_usage = slice_usage(params, effective)
    kpis = Kpis(
        hour=hour_of(params, state.t),
        active_ues=load,
        offered_dl_kbps=bits[:, 1] / 1e3,
        offered_ul_kbps=bits[:, 0] / 1e3,
        thp_dl_kbps=thp[:, 1] / 1e3,
        thp_ul_kbps=thp[:, 0] / 1e3,
        latency_ms=(latency * cell_share).sum(axis=1) * 1e3,
        latency_tail_ms=(tail * cell_share).sum(axis=1) * 1e3,
        reliability=reliability,
        fps=service.fps * delivered_dl,
        ran_ms=(ran_part * cell_share).sum(axis=1) * 1e3,
        tn_ms=(tn_part * cell_share).sum(axis=1) * 1e3,
        cn_ms=cn_part * 1e3,
        edge_ms=edge_part * 1e3,
        prb_used_ul=prb_used[:, 0],
        prb_used_dl=prb_used[:, 1],
        cqi_ul=cqi[:, 0],
        cqi_dl=cqi[:, 1],
        prb_load_peak_ul=prb_load_peak[:, 0],
        prb_load_peak_dl=prb_load_peak[:, 1],
        cpu_load_cn=np.minimum(cn.rho, 1.0) * 100.0,
        cpu_load_edge=np.minimum(edge.rho, 1.0) * 100.0,
        usage=per_slice_usage.sum(axis=2),
        slice_usage=per_slice_usage,
    )

    t_next = state.t + 1
    traffic = step_traffic(params.traffic, state.traffic, hour_of(params, t_next), rng)
    shadow = state.shadow
    if params.ran.shadow_sigma_db > 0.0:
        rho = params.ran.shadow_rho
        shadow = rho * shadow + params.ran.shadow_sigma_db * np.sqrt(1.0 - rho * rho) * rng.standard_normal(
            shadow.shape
        )
    next_state = SimState(
        t=t_next,
        traffic=traffic,
        shadow=shadow,
        q_ran=ran_stage.q1,
        q_tn=tn_links.q1,
        q_cn=cn.q1,
        q_edge=edge.q1,
        alloc=np.array(allocation, dtype=np.float64, copy=True),
    )
    return next_state, kpis


def _closed(stage: StageOut, interactive: NDArray[np.bool_], residual: FloatArray | float = 0.0) -> StageOut:
    """An open stage as seen by interactive slices: no backlog or overflow, only residual HARQ loss.

    Their delays come from the closed loop; the open stage run at the loop's rate only gives the
    utilisation (a bounded population cannot overflow a buffer).
    """
    return StageOut(
        delay=stage.delay,
        var=stage.var,
        delivered=np.where(interactive, 1.0 - residual, stage.delivered),
        lost=np.where(interactive, residual, stage.lost),
        q1=np.where(interactive, 0.0, stage.q1),
        rho=stage.rho,
    )


def slice_usage(params: SimParams, alloc: FloatArray) -> FloatArray:
    """Each slice's allocated fraction of each domain's capacity.

    Args:
        params: scenario parameters.
        alloc: allocations ``(..., n_resources, n_slices)`` (any leading axes).

    Returns:
        ``(..., 4, n_slices)`` in :data:`DOMAINS` order; the RAN part is the mean of the UL and DL PRB
        shares, the edge part weighs the slice's site by its share of all edge cores.
    """
    site_cores = params.edge.cores[params.edge.site_of_slice]
    return np.stack(
        [
            0.5 * (alloc[..., PRB_UL, :] + alloc[..., PRB_DL, :]),
            alloc[..., TN_BW, :],
            alloc[..., CN_CPU, :],
            alloc[..., EDGE_CPU, :] * site_cores / params.edge.cores.sum(),
        ],
        axis=-2,
    )


def with_initial_allocation(params: SimParams, allocation: FloatArray) -> SimParams:
    """Return ``params`` with another allocation in force at reset."""
    return replace(params, initial_allocation=np.asarray(allocation, dtype=np.float64))


__all__ = ["DOMAINS", "Kpis", "SimParams", "SimState", "hour_of", "map_state", "reset", "reset_envs", "step"]
