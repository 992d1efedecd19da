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

from collections import namedtuple
from dataclasses import fields, is_dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Any, NamedTuple, get_type_hints

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from netslice.network import fused_kernel
from netslice.network.kernel import Kpis, SimParams, SimState, map_state
from netslice.network.queueing import wh_max_inv9k

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


def _array_paths(cls: type, prefix: str = "") -> list[str]:
    """Dotted paths of a dataclass's array fields (``"traffic.noise"``), nested dataclasses walked, in field order."""
    hints = get_type_hints(cls)
    return [
        path
        for f in fields(cls)
        for path in (_array_paths(hints[f.name], f"{prefix}{f.name}.") if is_dataclass(hints[f.name])
                     else [prefix + f.name])
    ]  # fmt: skip


def _array_tuple(name: str, field_names: list[str]) -> Any:
    """A named tuple class of arrays (a module attribute, so numba's on-disk cache can pickle its type)."""
    return namedtuple(name, field_names, module=__name__)


_STATE_PATHS = _array_paths(SimState)
#: The arrays of a :class:`SimState`, flat (the traffic state's inlined) in field order: ``t, noise,
#: burst, day, load, shadow, q_ran, q_tn, q_cn, q_edge, alloc``. Named tuples because numba takes
#: them (the kernel reads their fields by name).
StateArrays = _array_tuple("StateArrays", [path.rpartition(".")[2] for path in _STATE_PATHS])
#: The arrays of a :class:`Kpis`, in field order.
KpiArrays = _array_tuple("KpiArrays", [f.name for f in fields(Kpis)])
#: The arrays of a state as a tuple in :data:`StateArrays` order.
_state_leaves = attrgetter(*_STATE_PATHS)
#: Axes after the env axis of each KPI: 0 none, 1 slices, 2 domains, 3 domains and slices.
_KPI_AXES = tuple({"hour": 0, "usage": 2, "slice_usage": 3}.get(name, 1) for name in KpiArrays._fields)


def available() -> bool:
    """Whether numba is installed, so the fused step runs compiled."""
    return fused_kernel.HAVE_NUMBA


def _csr(matrix: FloatArray | sparse.csr_array) -> tuple[IntArray, IntArray]:
    m = sparse.csr_array(matrix)
    m.sort_indices()
    return m.indptr.astype(np.int64), m.indices.astype(np.int64)


def pack(params: SimParams) -> Packed:
    """Flatten a scenario's parameters for the kernel (do it once per scenario)."""
    traffic, service, ran, tn, cn, edge = (
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
        scale=f(traffic.scale), harmonics=f(traffic.harmonics), peak=f(traffic.profile_peak),
        noise_sigma=f(traffic.noise_sigma), noise_rho=f(traffic.noise_rho), burst_factor=f(traffic.burst_factor),
        p_burst_on=f(traffic.p_burst_on), p_burst_off=f(traffic.p_burst_off),
        min_fraction=float(traffic.min_fraction), cell_share=f(traffic.cell_share),
        job_bits=f(service.job_bits), pkt_bits=f(service.pkt_bits), req_per_ue=f(service.req_per_ue),
        edge_work=f(service.edge_work_s), interactive=f(service.interactive), ca2=f(service.ca2),
        cs2_edge=f(service.cs2_edge), latency_dirs=f(service.latency_dirs), app_latency=f(service.app_latency_s),
        fps=f(service.fps),
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


@lru_cache(maxsize=64)
def _kpi_shapes(n_envs: int, n_slices: int) -> tuple[tuple[int, ...], ...]:
    """The shape of every KPI array, in :data:`KpiArrays` order."""
    shapes = ((n_envs,), (n_envs, n_slices), (n_envs, 4), (n_envs, 4, n_slices))
    return tuple(shapes[axes] for axes in _KPI_AXES)


def kpi_arrays(n_envs: int, n_slices: int) -> Any:
    """Fresh (uninitialised) output arrays of one step's KPIs, as a :data:`KpiArrays`."""
    return KpiArrays._make(map(np.empty, _kpi_shapes(n_envs, n_slices)))


def state_arrays(state: SimState) -> Any:
    """The state's arrays, C-contiguous, as a :data:`StateArrays`."""
    return StateArrays._make(map(np.ascontiguousarray, _state_leaves(state)))


def fused_step(
    packed: Packed, state: SimState, allocation: FloatArray, rng: np.random.Generator
) -> tuple[SimState, Kpis]:
    """One slot for every env with the compiled kernel (same contract as ``kernel.step``)."""
    s = state_arrays(state)
    # The next state's arrays, filled in place by the kernel (C-contiguous for every state netslice makes;
    # empty_like with order="C" would cost ~5 % of a single-env step).
    next_state = map_state(np.empty_like, state)
    ns = StateArrays._make(_state_leaves(next_state))
    n_envs, n_sl = s.load.shape
    z_noise = rng.standard_normal((n_envs, n_sl))
    u_burst = rng.random((n_envs, n_sl))
    z_shadow = rng.standard_normal(s.shadow.shape) if packed.shadow_sigma > 0.0 else s.shadow
    out = kpi_arrays(n_envs, n_sl)
    alloc = np.ascontiguousarray(allocation, dtype=np.float64)
    fused_kernel.step_envs(packed, s, alloc, z_noise, u_burst, z_shadow, ns, out)
    return next_state, Kpis(*out)
