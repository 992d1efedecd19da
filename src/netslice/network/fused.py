"""Fast backend: the slot step as one numba-compiled loop (:mod:`.fused_kernel`).

``fused_step(packed, state, allocation, rng)`` has the contract of
:func:`netslice.network.kernel.step` and returns the same state and KPIs (tests check the two
agree to 1e-9). It draws the same random arrays in the same order with the one numpy generator,
then runs the compiled kernel, which avoids numpy's per-call overhead (the single-env case) and
the temporaries of a long chain of array operations (the batched case).

numba is an optional extra (``pip install netslice[fast]``); without it the kernel still runs as
plain Python (slowly), and :func:`available` is false so callers pick the numpy backend.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from netslice.network import fused_kernel
from netslice.network.kernel import Kpis, SimParams, SimState
from netslice.network.queueing import wh_max_inv9k
from netslice.network.traffic import TrafficState

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class Packed(NamedTuple):
    """Scenario parameters flattened into arrays and scalars that numba can take."""

    slot_s: float
    tail_z: float
    tail_cap: float
    start_hour: float
    enforce: FloatArray
    per_ue_bits: FloatArray
    scale: FloatArray
    harmonics: FloatArray
    peak: FloatArray
    noise_sigma: FloatArray
    noise_rho: FloatArray
    burst_factor: FloatArray
    p_burst_on: FloatArray
    p_burst_off: FloatArray
    min_fraction: float
    cell_share: FloatArray
    job_bits: FloatArray
    pkt_bits: FloatArray
    req_per_ue: FloatArray
    edge_work: FloatArray
    interactive: NDArray[np.bool_]
    ca2: FloatArray
    cs2_edge: FloatArray
    latency_dirs: FloatArray
    app_latency: FloatArray
    fps: FloatArray
    prb: FloatArray
    prb_rate: FloatArray
    sinr: FloatArray
    shadow_sigma: float
    shadow_rho: float
    thresholds: FloatArray
    se: FloatArray
    bler_slope: float
    harq_max_tx: int
    harq_rtt: float
    base_latency: FloatArray
    ran_buffer: float
    capacity: FloatArray
    link_delay: FloatArray
    acc_ptr: IntArray
    acc_idx: IntArray
    n6_ptr: IntArray
    n6_idx: IntArray
    tn_buffer: float
    cn_cores: float
    pps_per_core: float
    cn_delay: float
    cn_buffer: float
    site_cores: FloatArray
    total_cores: float
    edge_buffer: float
    smooth_eps: float


class StateArrays(NamedTuple):
    """The arrays of a :class:`SimState`, flat."""

    t: IntArray
    noise: FloatArray
    burst: FloatArray
    day: FloatArray
    load: FloatArray
    shadow: FloatArray
    q_ran: FloatArray
    q_tn: FloatArray
    q_cn: FloatArray
    q_edge: FloatArray
    alloc: FloatArray


class KpiArrays(NamedTuple):
    """The arrays of a :class:`Kpis`, in field order."""

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
    cpu_load_cn: FloatArray
    cpu_load_edge: FloatArray
    usage: FloatArray
    slice_usage: FloatArray


def available() -> bool:
    """Whether numba is installed, so the fused step runs compiled."""
    return fused_kernel.HAVE_NUMBA


def _csr(matrix: FloatArray | sparse.csr_array) -> tuple[IntArray, IntArray]:
    m = sparse.csr_array(matrix)
    m.sort_indices()
    return m.indptr.astype(np.int64), m.indices.astype(np.int64)


def pack(params: SimParams) -> Packed:
    """Flatten a scenario's parameters for the kernel (do it once per scenario)."""
    t, svc, ran, tn, cn, edge = (
        params.traffic,
        params.service,
        params.ran,
        params.transport,
        params.core,
        params.edge,
    )
    acc_ptr, acc_idx = _csr(tn.access)
    n6_ptr, n6_idx = _csr(tn.n6)
    f = np.ascontiguousarray
    return Packed(
        slot_s=float(params.slot_s), tail_z=float(params.tail_z), tail_cap=wh_max_inv9k(params.tail_z),
        start_hour=float(params.start_hour),
        enforce=f(params.enforce_fraction), per_ue_bits=f(params.per_ue_bits),
        scale=f(t.scale), harmonics=f(t.harmonics), peak=f(t.profile_peak), noise_sigma=f(t.noise_sigma),
        noise_rho=f(t.noise_rho), burst_factor=f(t.burst_factor), p_burst_on=f(t.p_burst_on),
        p_burst_off=f(t.p_burst_off), min_fraction=float(t.min_fraction), cell_share=f(t.cell_share),
        job_bits=f(svc.job_bits), pkt_bits=f(svc.pkt_bits), req_per_ue=f(svc.req_per_ue), edge_work=f(svc.edge_work_s),
        interactive=f(svc.interactive), ca2=f(svc.ca2), cs2_edge=f(svc.cs2_edge), latency_dirs=f(svc.latency_dirs),
        app_latency=f(svc.app_latency_s), fps=f(svc.fps),
        prb=f(ran.prb), prb_rate=f(ran.prb_rate), sinr=f(ran.sinr_db), shadow_sigma=float(ran.shadow_sigma_db),
        shadow_rho=float(ran.shadow_rho), thresholds=f(ran.thresholds_db), se=f(ran.se_table),
        bler_slope=float(ran.bler_slope_db), harq_max_tx=int(ran.harq_max_tx), harq_rtt=float(ran.harq_rtt_s),
        base_latency=f(ran.base_latency_s), ran_buffer=float(ran.buffer_bits),
        capacity=f(tn.capacity_bps), link_delay=f(tn.link_delay_s), acc_ptr=acc_ptr, acc_idx=acc_idx,
        n6_ptr=n6_ptr, n6_idx=n6_idx, tn_buffer=float(tn.buffer_bits),
        cn_cores=float(cn.cores), pps_per_core=float(cn.pps_per_core), cn_delay=float(cn.processing_delay_s),
        cn_buffer=float(cn.buffer_pkts),
        site_cores=f(edge.cores[edge.site_of_slice]), total_cores=float(edge.cores.sum()),
        edge_buffer=float(edge.buffer_jobs), smooth_eps=float(edge.smooth_eps),
    )  # fmt: skip


def _state_arrays(state: SimState) -> StateArrays:
    f = np.ascontiguousarray
    tr = state.traffic
    return StateArrays(f(state.t), f(tr.noise), f(tr.burst), f(tr.day), f(tr.load), f(state.shadow),
                       f(state.q_ran), f(state.q_tn), f(state.q_cn), f(state.q_edge), f(state.alloc))  # fmt: skip


def fused_step(
    packed: Packed, state: SimState, allocation: FloatArray, rng: np.random.Generator
) -> tuple[SimState, Kpis]:
    """One slot for every env with the compiled kernel (same contract as ``simulator.step``)."""
    s = _state_arrays(state)
    n_envs, n_sl = s.load.shape
    z_noise = rng.standard_normal((n_envs, n_sl))
    u_burst = rng.random((n_envs, n_sl))
    z_shadow = rng.standard_normal(s.shadow.shape) if packed.shadow_sigma > 0.0 else s.shadow
    ns = StateArrays._make(np.empty_like(a) for a in s)
    out = KpiArrays._make(
        [np.empty(n_envs), *(np.empty((n_envs, n_sl)) for _ in range(19)), np.empty((n_envs, 4)),
        np.empty((n_envs, 4, n_sl))],
    )  # fmt: skip
    alloc = np.ascontiguousarray(allocation, dtype=np.float64)
    fused_kernel.step_envs(packed, s, alloc, z_noise, u_burst, z_shadow, ns, out)
    traffic = TrafficState(noise=ns.noise, burst=ns.burst, day=ns.day, load=ns.load)
    next_state = SimState(t=ns.t, traffic=traffic, shadow=ns.shadow, q_ran=ns.q_ran, q_tn=ns.q_tn,
                          q_cn=ns.q_cn, q_edge=ns.q_edge, alloc=ns.alloc)  # fmt: skip
    return next_state, Kpis(*out)
