"""Scalar slot kernel: the whole end-to-end step for one env, written as plain loops over scalars.

The same model as the vectorised :func:`netslice.network.kernel.step` (see that module's
docstring for the order of events), written element by element so that numba can compile it into
one fused loop (:mod:`netslice.network.fused`). Interpreted by Python it is slow but readable;
compiled it is the fast backend. Every function here takes only floats, ints and numpy arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from netslice.network.queueing import MAX_DELAY_S, MIN_OFFERED_BPS, MU_MIN, RHO_MAX

try:  # numba is optional: without it the kernel runs (slowly) as plain Python.
    from numba import njit as _njit

    #: LLVM fast-math flags that keep IEEE semantics for inf/NaN and transcendental functions: signed
    #: zeros ignored, reciprocal divisions and fused multiply-adds allowed (measured ~25 % faster;
    #: results stay within 1e-12 of the numpy step, checked by tests/network/test_backends.py).
    FASTMATH = {"nsz", "arcp", "contract"}

    def jit(fn: Any) -> Any:
        """Compile ``fn`` with numba (cached on disk, the safe fast-math subset :data:`FASTMATH`)."""
        return _njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)(fn)

    def jit_inline(fn: Any) -> Any:
        """Compile ``fn`` with numba and inline it into its callers at the numba IR level."""
        return _njit(cache=True, nogil=True, error_model="numpy", inline="always", fastmath=FASTMATH)(fn)

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised when the extra is not installed

    def jit(fn: Any) -> Any:
        """Without numba, functions stay plain Python."""
        return fn

    jit_inline = jit

    HAVE_NUMBA = False

# Output slots of :func:`stage` (delay, var, delivered, lost, q1, rho).
N_STAGE_OUT = 6


@jit_inline
def stage(
    q0: float, lam: float, mu_server: float, servers: float, ca2: float, cs2: float, slot_s: float,
    buffer: float, fixed: float,
) -> tuple[float, float, float, float, float, float]:  # fmt: skip
    """One slot of an open G/G/c stage with fluid backlog (scalar twin of ``queueing.open_stage``)."""
    mu_server = max(mu_server, MU_MIN)
    inv_mu = 1.0 / mu_server  # the service time; divisions are the costly part, so share them
    rho = lam * inv_mu / servers
    rho_c = min(rho, RHO_MAX)
    # x ** 1.0 == x exactly, so one server skips the power.
    power = rho_c if servers == 1.0 else rho_c ** (math.sqrt(2.0 * (servers + 1.0)) - 1.0)
    wq = power / (servers * (1.0 - rho_c)) * 0.5 * (ca2 + cs2) * inv_mu
    mu_total = servers * mu_server
    # Fluid backlog (Lindley recursion) and its exact time average.
    r = lam - mu_total
    q0c = min(q0, buffer)
    unclipped = q0c + r * slot_s
    q1 = min(max(unclipped, 0.0), buffer)
    drops = max(unclipped - buffer, 0.0)
    qbar = 0.0
    if q0c > 0.0 or r > 0.0:  # otherwise the queue stays empty all slot
        bound = buffer if r >= 0.0 else 0.0
        t_hit = (bound - q0c) / r if r != 0.0 else slot_s
        t_hit = min(max(t_hit, 0.0), slot_s)
        area = q0c * t_hit + 0.5 * r * t_hit * t_hit + bound * (slot_s - t_hit)
        qbar = max(area / slot_s, 0.0)
    sojourn = min(wq + inv_mu, MAX_DELAY_S)
    delay = min(fixed + sojourn + qbar / mu_total, MAX_DELAY_S)
    inv_offered = 1.0 / max(lam * slot_s, 1e-12)
    lost = min(drops * inv_offered, 1.0)
    deferred = max(q1 - q0c, 0.0) * inv_offered
    delivered = min(max(1.0 - lost - deferred, 0.0), 1.0)
    var = sojourn * sojourn * 0.5 * (ca2 + cs2)
    return delay, var, delivered, lost, q1, rho


@jit_inline
def smooth_relu(x: float, eps: float) -> float:
    """Scalar twin of ``queueing.smooth_relu``."""
    return 0.5 * (x + math.sqrt(x * x + eps * eps) - eps)


@jit_inline
def gamma_quantile(mean: float, var: float, z: float, max_inv9k: float) -> float:
    """Scalar twin of ``queueing.gamma_quantile`` (Wilson-Hilferty); ``max_inv9k`` = ``wh_max_inv9k(z)``."""
    mean = max(mean, 1e-12)
    inv9k = min(var / (9.0 * mean * mean), max_inv9k)
    return mean * max(1.0 - inv9k + z * math.sqrt(inv9k), 0.0) ** 3


@jit_inline
def harmonic_terms(hour: float, terms: np.ndarray) -> None:
    """Fill ``terms`` with cos and sin of the 24 h, 12 h and 8 h harmonics at ``hour`` (once per env)."""
    angle = (2.0 * math.pi / 24.0) * hour
    c1, s1 = math.cos(angle), math.sin(angle)
    # Multiple-angle identities: two transcendental calls instead of six.
    terms[0], terms[1] = c1, s1
    terms[2], terms[3] = 2.0 * c1 * c1 - 1.0, 2.0 * s1 * c1
    terms[4], terms[5] = c1 * (4.0 * c1 * c1 - 3.0), s1 * (3.0 - 4.0 * s1 * s1)


@jit_inline
def profile(harmonics: np.ndarray, k: int, terms: np.ndarray) -> float:
    """Raw 24 h profile of slice ``k`` (scalar twin of ``traffic.diurnal_profile``)."""
    value = harmonics[k, 0]
    for h in range(1, 4):
        value += harmonics[k, 2 * h - 1] * terms[2 * h - 2] + harmonics[k, 2 * h] * terms[2 * h - 1]
    return float(value)


@jit_inline
def _path(link_out: np.ndarray, idx: np.ndarray, start: int, stop: int) -> tuple[float, float, float, float]:
    """Sum delay and variance, multiply delivered and kept fractions over the links of one path."""
    delay = var = 0.0
    deliv = kept = 1.0
    for j in range(start, stop):
        lk = idx[j]
        delay += link_out[0, lk]
        var += link_out[1, lk]
        deliv *= link_out[2, lk]
        kept *= link_out[3, lk]
    return delay, var, deliv, kept


@jit_inline
def closed(population: float, service_s: float, servers: float, eps: float) -> tuple[float, float]:
    """Scalar twin of ``queueing.closed_response``: closed-loop response time and its variance."""
    s = min(service_s, MAX_DELAY_S)
    n = population / servers
    return min(s * (1.0 + smooth_relu(n - 1.0, eps)), MAX_DELAY_S), s * s * max(n, 1.0)


@jit_inline
def per_rate(amount: float, rate: float) -> float:
    """``amount / rate``, or inf when the rate is 0 (no resource)."""
    return amount / rate if rate > 0.0 else math.inf


@jit
def step_envs(p: Any, s: Any, alloc: np.ndarray, z_noise: np.ndarray, u_burst: np.ndarray,
              z_shadow: np.ndarray, ns: Any, out: Any) -> None:  # fmt: skip
    """Run one slot for every env, writing the next state into ``ns`` and the KPIs into ``out``.

    Args:
        p: packed parameters (:class:`netslice.network.fused.Packed`).
        s: current state arrays (:class:`netslice.network.fused.StateArrays`).
        alloc: ``(n_envs, n_resources, n_slices)`` new allocation.
        z_noise: ``(n_envs, n_slices)`` standard normals for the traffic noise.
        u_burst: ``(n_envs, n_slices)`` uniforms for the burst chain.
        z_shadow: ``(n_envs, 2, n_cells, n_slices)`` standard normals for the shadowing (unused when
            the shadowing is off).
        ns: next-state arrays to fill.
        out: KPI arrays to fill (:class:`netslice.network.fused.KpiArrays`).
    """
    n_envs, n_res, n_sl = alloc.shape
    n_cells = p.prb.shape[1]
    n_links = p.capacity.shape[0]
    effective = np.empty((n_res, n_sl))
    cell_bits = np.empty((2, n_cells, n_sl))
    bits = np.empty((2, n_sl))
    edge_out = np.empty((N_STAGE_OUT, n_sl))
    cn_out = np.empty((N_STAGE_OUT, n_sl))
    cn_lat = np.empty((2, n_sl))  # UPF delay and variance over all passes
    ran_out = np.empty((N_STAGE_OUT, 2, n_cells, n_sl))
    cqi = np.empty((2, n_cells, n_sl), dtype=np.int64)
    bler = np.empty((2, n_cells, n_sl))
    prbs = np.empty((2, n_cells, n_sl))
    rate = np.empty((2, n_cells, n_sl))
    fixed = np.empty((2, n_cells, n_sl))
    prb_used = np.empty((2, n_cells, n_sl))
    cl_ran = np.empty((2, 2, n_cells, n_sl))  # closed-loop delay, var
    cl_tn = np.empty((2, 2, n_cells, n_sl))
    cl_cn = np.empty((2, n_sl))
    cl_edge = np.empty((2, n_sl))
    x_rate = np.zeros((n_cells, n_sl))
    on_link = np.empty(n_links)
    link_load = np.empty(n_links)
    link_out = np.empty((4, n_links))  # delay, var, delivered, lost
    path = np.empty((4, 2, n_cells, n_sl))  # delay, var, delivered, kept
    terms = np.empty(6)
    innovation = math.sqrt(1.0 - p.shadow_rho * p.shadow_rho)  # AR(1) weight of the shadowing's new draw
    eps = p.smooth_eps
    for e in range(n_envs):
        for r in range(n_res):
            for k in range(n_sl):
                effective[r, k] = p.enforce[r] * s.alloc[e, r, k] + (1.0 - p.enforce[r]) * alloc[e, r, k]
        # Link adaptation of every slice's PRBs.
        for d in range(2):
            for c in range(n_cells):
                for k in range(n_sl):
                    sinr = p.sinr[d, c, k] + s.shadow[e, d, c, k]
                    cqi_ch = np.searchsorted(p.thresholds, sinr, side="right") - 1
                    backoff = math.floor(10.0 * min(max(effective[2 + d, k], 0.0), 1.0) + 1e-9)
                    q = max(cqi_ch - backoff, 1) if cqi_ch > 0 else 0
                    cqi[d, c, k] = q
                    b = min(0.1 * 10.0 ** (-max(sinr - p.thresholds[q], 0.0) / p.bler_slope), 1.0)
                    bler[d, c, k] = b
                    prbs[d, c, k] = effective[d, k] * p.prb[d, c]
                    rate[d, c, k] = prbs[d, c, k] * p.prb_rate[d, c] * p.se[q] * (1.0 - b)
                    fixed[d, c, k] = p.base_latency[d] + p.harq_rtt * b / (1.0 - b)
        # Interactive loops: every station's closed-loop response, the cycle and the request rate per cell.
        for k in range(n_sl):
            if not p.interactive[k]:
                continue
            load = s.load[e, k]
            n_slice = 0.0
            for c in range(n_cells):
                n_slice += load * p.cell_share[c, k]
            for d in range(2):
                for c in range(n_cells):
                    r_d, v_d = closed(load * p.cell_share[c, k], per_rate(p.job_bits[d, k], rate[d, c, k]), 1.0, eps)
                    cl_ran[0, d, c, k] = r_d + fixed[d, c, k]
                    cl_ran[1, d, c, k] = v_d
            on_link[:] = 0.0
            for c in range(n_cells):
                for j in range(p.acc_ptr[c], p.acc_ptr[c + 1]):
                    on_link[p.acc_idx[j]] += load * p.cell_share[c, k]
            for j in range(p.n6_ptr[k], p.n6_ptr[k + 1]):
                on_link[p.n6_idx[j]] += n_slice
            for d in range(2):
                for lk in range(n_links):
                    r_l, v_l = closed(
                        on_link[lk], per_rate(p.job_bits[d, k], effective[4, k] * p.capacity[lk]), 1.0, eps
                    )
                    link_out[0, lk] = r_l + p.link_delay[lk]
                    link_out[1, lk] = v_l
                    link_out[2, lk] = 1.0
                    link_out[3, lk] = 1.0
                n6_delay, n6_var, _, _ = _path(link_out, p.n6_idx, p.n6_ptr[k], p.n6_ptr[k + 1])
                for c in range(n_cells):
                    a_delay, a_var, _, _ = _path(link_out, p.acc_idx, p.acc_ptr[c], p.acc_ptr[c + 1])
                    cl_tn[0, d, c, k] = a_delay + n6_delay
                    cl_tn[1, d, c, k] = a_var + n6_var
            d_ul, d_dl = p.latency_dirs[0, k], p.latency_dirs[1, k]
            cores = effective[5, k] * p.cn_cores
            pkts = (d_ul * p.job_bits[0, k] + d_dl * p.job_bits[1, k]) / p.pkt_bits[k]
            r_c, v_c = closed(n_slice, per_rate(pkts, min(cores, 1.0) * p.pps_per_core), max(cores, 1.0), eps)
            cl_cn[0, k] = r_c + (d_ul + d_dl) * p.cn_delay
            cl_cn[1, k] = v_c
            cores = effective[6, k] * p.site_cores[k]
            r_e, v_e = closed(n_slice, per_rate(p.edge_work[k], min(cores, 1.0)), max(cores, 1.0), eps)
            cl_edge[0, k] = r_e
            cl_edge[1, k] = p.cs2_edge[k] * v_e
            for c in range(n_cells):
                cycle = (
                    p.app_latency[k]
                    + (
                        d_ul * (cl_ran[0, 0, c, k] + cl_tn[0, 0, c, k])
                        + d_dl * (cl_ran[0, 1, c, k] + cl_tn[0, 1, c, k])
                    )
                    + (cl_cn[0, k] + cl_edge[0, k])
                )
                x_rate[c, k] = load * p.cell_share[c, k] / max(cycle, 1e-12)
        # Offered load per direction and cell.
        for k in range(n_sl):
            for d in range(2):
                total = 0.0
                for c in range(n_cells):
                    if p.interactive[k]:
                        cb = x_rate[c, k] * p.job_bits[d, k]
                    else:
                        cb = s.load[e, k] * p.per_ue_bits[d, k] * p.cell_share[c, k]
                    cell_bits[d, c, k] = cb
                    total += cb
                bits[d, k] = total
        # Edge: open stages (interactive slices at their loop's rate, for the utilisation only).
        for k in range(n_sl):
            cores = effective[6, k] * p.site_cores[k]
            lam = s.load[e, k] * p.req_per_ue[k]
            if p.interactive[k]:
                lam = 0.0
                for c in range(n_cells):
                    lam += x_rate[c, k]
            res = stage(s.q_edge[e, k], lam, 1.0 / per_rate(p.edge_work[k], min(cores, 1.0)), max(cores, 1.0),
                        p.ca2[k], p.cs2_edge[k], p.slot_s, p.edge_buffer, 0.0)  # fmt: skip
            for i in range(N_STAGE_OUT):
                edge_out[i, k] = res[i]
            if p.interactive[k]:
                edge_out[0, k] = cl_edge[0, k]
                edge_out[1, k] = cl_edge[1, k]
                edge_out[2, k] = 1.0
                edge_out[3, k] = 0.0
                edge_out[4, k] = 0.0
            ns.q_edge[e, k] = edge_out[4, k]
        # RAN.
        for d in range(2):
            for c in range(n_cells):
                for k in range(n_sl):
                    unit = p.job_bits[d, k]
                    res = stage(s.q_ran[e, d, c, k], cell_bits[d, c, k] / unit, rate[d, c, k] / unit, 1.0, p.ca2[k],
                                1.0, p.slot_s, p.ran_buffer / unit, fixed[d, c, k])  # fmt: skip
                    residual = bler[d, c, k] ** p.harq_max_tx
                    for i in range(N_STAGE_OUT):
                        ran_out[i, d, c, k] = res[i]
                    ran_out[3, d, c, k] = 1.0 - (1.0 - res[3]) * (1.0 - residual)
                    ran_out[2, d, c, k] = res[2] * (1.0 - residual)
                    if p.interactive[k]:
                        ran_out[0, d, c, k] = cl_ran[0, d, c, k]
                        ran_out[1, d, c, k] = cl_ran[1, d, c, k]
                        ran_out[2, d, c, k] = 1.0 - residual
                        ran_out[3, d, c, k] = residual
                        ran_out[4, d, c, k] = 0.0
                    prb_used[d, c, k] = prbs[d, c, k] * min(res[5], 1.0)
                    ns.q_ran[e, d, c, k] = ran_out[4, d, c, k]
        # Transport: per-link stages, then sums/products along each cell's N3 path and the N6 path.
        for d in range(2):
            for k in range(n_sl):
                unit = p.job_bits[d, k]
                total = 0.0
                link_load[:] = 0.0
                for c in range(n_cells):
                    cb = cell_bits[d, c, k]
                    total += cb
                    for j in range(p.acc_ptr[c], p.acc_ptr[c + 1]):
                        link_load[p.acc_idx[j]] += cb
                for j in range(p.n6_ptr[k], p.n6_ptr[k + 1]):
                    link_load[p.n6_idx[j]] += total
                for lk in range(n_links):
                    mu = effective[4, k] * p.capacity[lk] / unit
                    res = stage(s.q_tn[e, d, k, lk], link_load[lk] / unit, mu, 1.0, p.ca2[k], 1.0, p.slot_s,
                                p.tn_buffer / unit, p.link_delay[lk])  # fmt: skip
                    link_out[0, lk] = res[0]
                    link_out[1, lk] = res[1]
                    link_out[2, lk] = max(res[2], 1e-300)
                    link_out[3, lk] = max(1.0 - res[3], 1e-300)
                    ns.q_tn[e, d, k, lk] = 0.0 if p.interactive[k] else res[4]
                n6_delay, n6_var, n6_deliv, n6_kept = _path(link_out, p.n6_idx, p.n6_ptr[k], p.n6_ptr[k + 1])
                for c in range(n_cells):
                    a_delay, a_var, a_deliv, a_kept = _path(link_out, p.acc_idx, p.acc_ptr[c], p.acc_ptr[c + 1])
                    if p.interactive[k]:
                        path[0, d, c, k] = cl_tn[0, d, c, k]
                        path[1, d, c, k] = cl_tn[1, d, c, k]
                        path[2, d, c, k] = 1.0
                        path[3, d, c, k] = 1.0
                    else:
                        path[0, d, c, k] = a_delay + n6_delay
                        path[1, d, c, k] = a_var + n6_var
                        path[2, d, c, k] = a_deliv * n6_deliv
                        path[3, d, c, k] = a_kept * n6_kept
        # Core.
        for k in range(n_sl):
            cores = effective[5, k] * p.cn_cores
            res = stage(s.q_cn[e, k], (bits[0, k] + bits[1, k]) / p.pkt_bits[k], min(cores, 1.0) * p.pps_per_core,
                        max(cores, 1.0), p.ca2[k], 1.0, p.slot_s, p.cn_buffer, p.cn_delay)  # fmt: skip
            for i in range(N_STAGE_OUT):
                cn_out[i, k] = res[i]
            n_halves = p.latency_dirs[0, k] + p.latency_dirs[1, k]
            cn_lat[0, k] = n_halves * res[0]
            cn_lat[1, k] = n_halves * res[1]
            if p.interactive[k]:
                cn_lat[0, k] = cl_cn[0, k]
                cn_lat[1, k] = cl_cn[1, k]
                cn_out[2, k] = 1.0
                cn_out[3, k] = 0.0
                cn_out[4, k] = 0.0
            ns.q_cn[e, k] = cn_out[4, k]
        _compose(p, s, e, effective, cell_bits, bits, edge_out, cn_out, cn_lat, ran_out, cqi, prb_used, path, out)
        # Next slot: traffic processes, shadowing, allocation in force.
        t_next = s.t[e] + 1
        ns.t[e] = t_next
        harmonic_terms((p.start_hour + t_next * (p.slot_s / 3600.0)) % 24.0, terms)
        for k in range(n_sl):
            rho = p.noise_rho[k]
            noise = rho * s.noise[e, k] + p.noise_sigma[k] * math.sqrt(1.0 - rho * rho) * z_noise[e, k]
            u = u_burst[e, k]
            stays = u >= p.p_burst_off[k] if s.burst[e, k] > 0.5 else u < p.p_burst_on[k]
            burst = 1.0 if stays else 0.0
            shape = max(profile(p.harmonics, k, terms) / p.peak[k], 0.0)
            mult = 1.0 + (p.burst_factor[k] - 1.0) * burst
            lognormal = math.exp(noise - 0.5 * p.noise_sigma[k] ** 2)
            ns.noise[e, k] = noise
            ns.burst[e, k] = burst
            ns.day[e, k] = s.day[e, k]
            ns.load[e, k] = max(p.scale[k] * shape * s.day[e, k] * lognormal * mult, p.min_fraction * p.scale[k])
            for r in range(n_res):
                ns.alloc[e, r, k] = alloc[e, r, k]
            for d in range(2):
                for c in range(n_cells):
                    if p.shadow_sigma > 0.0:
                        ns.shadow[e, d, c, k] = (p.shadow_rho * s.shadow[e, d, c, k]
                                                 + p.shadow_sigma * innovation * z_shadow[e, d, c, k])  # fmt: skip
                    else:
                        ns.shadow[e, d, c, k] = s.shadow[e, d, c, k]


@jit_inline
def _compose(p: Any, s: Any, e: int, effective: np.ndarray, cell_bits: np.ndarray, bits: np.ndarray,
             edge_out: np.ndarray, cn_out: np.ndarray, cn_lat: np.ndarray, ran_out: np.ndarray, cqi: np.ndarray,
             prb_used: np.ndarray, path: np.ndarray, out: Any) -> None:  # fmt: skip
    """End-to-end composition per cell and the slice KPIs of env ``e`` (see ``kernel.step``)."""
    n_cells, n_sl = p.cell_share.shape
    out.hour[e] = (p.start_hour + s.t[e] * (p.slot_s / 3600.0)) % 24.0
    prb_tot_ul = 0.0
    prb_tot_dl = 0.0
    for c in range(n_cells):
        prb_tot_ul += p.prb[0, c]
        prb_tot_dl += p.prb[1, c]
    for k in range(n_sl):
        d_ul, d_dl = p.latency_dirs[0, k], p.latency_dirs[1, k]
        cn_part = cn_lat[0, k]
        common_kept = (1.0 - cn_out[3, k]) * (1.0 - edge_out[3, k])
        lat = tail = ran_ms = tn_ms = 0.0
        thp_ul = thp_dl = kept_bits = cqi_ul = cqi_dl = used_ul = used_dl = 0.0
        for c in range(n_cells):
            cell_share = p.cell_share[c, k]
            ran_part = d_ul * ran_out[0, 0, c, k] + d_dl * ran_out[0, 1, c, k]
            tn_part = d_ul * path[0, 0, c, k] + d_dl * path[0, 1, c, k]
            latency = p.app_latency[k] + ran_part + tn_part + (cn_part + edge_out[0, k])
            var = (d_ul * (ran_out[1, 0, c, k] + path[1, 0, c, k]) + d_dl * (ran_out[1, 1, c, k] + path[1, 1, c, k])
                   + (cn_lat[1, k] + edge_out[1, k]))  # fmt: skip
            lat += latency * cell_share
            tail += gamma_quantile(latency, var, p.tail_z, p.tail_cap) * cell_share
            ran_ms += ran_part * cell_share
            tn_ms += tn_part * cell_share
            for d in range(2):
                cb = cell_bits[d, c, k]
                delivered = ran_out[2, d, c, k] * path[2, d, c, k] * (cn_out[2, k] * edge_out[2, k])
                kept = (1.0 - ran_out[3, d, c, k]) * (1.0 - (1.0 - path[3, d, c, k])) * common_kept
                kept_bits += cb * kept
                if d == 0:
                    thp_ul += cb * delivered
                else:
                    thp_dl += cb * delivered
            cqi_ul += cqi[0, c, k] * cell_share
            cqi_dl += cqi[1, c, k] * cell_share
            used_ul += prb_used[0, c, k]
            used_dl += prb_used[1, c, k]
        # The peak cell load in a loop of its own: in the loop above it changed how the compiler rounds the sums.
        peak_ul = peak_dl = 0.0
        for c in range(n_cells):
            peak_ul = max(peak_ul, ran_out[5, 0, c, k])
            peak_dl = max(peak_dl, ran_out[5, 1, c, k])
        offered_total = bits[0, k] + bits[1, k]
        out.active_ues[e, k] = s.load[e, k]
        out.offered_dl_kbps[e, k] = bits[1, k] / 1e3
        out.offered_ul_kbps[e, k] = bits[0, k] / 1e3
        out.thp_dl_kbps[e, k] = thp_dl / 1e3
        out.thp_ul_kbps[e, k] = thp_ul / 1e3
        out.latency_ms[e, k] = lat * 1e3
        out.latency_tail_ms[e, k] = tail * 1e3
        out.reliability[e, k] = kept_bits / max(offered_total, 1e-300) if offered_total > MIN_OFFERED_BPS else 1.0
        out.fps[e, k] = p.fps[k] * (thp_dl / max(bits[1, k], 1e-300) if bits[1, k] > MIN_OFFERED_BPS else 1.0)
        out.ran_ms[e, k] = ran_ms * 1e3
        out.tn_ms[e, k] = tn_ms * 1e3
        out.cn_ms[e, k] = cn_part * 1e3
        out.edge_ms[e, k] = edge_out[0, k] * 1e3
        out.prb_used_ul[e, k] = used_ul / prb_tot_ul * 100.0
        out.prb_used_dl[e, k] = used_dl / prb_tot_dl * 100.0
        out.cqi_ul[e, k] = cqi_ul
        out.cqi_dl[e, k] = cqi_dl
        out.prb_load_peak_ul[e, k] = peak_ul
        out.prb_load_peak_dl[e, k] = peak_dl
        out.cpu_load_cn[e, k] = min(cn_out[5, k], 1.0) * 100.0
        out.cpu_load_edge[e, k] = min(edge_out[5, k], 1.0) * 100.0
        out.slice_usage[e, 0, k] = 0.5 * (effective[0, k] + effective[1, k])
        out.slice_usage[e, 1, k] = effective[4, k]
        out.slice_usage[e, 2, k] = effective[5, k]
        out.slice_usage[e, 3, k] = effective[6, k] * p.site_cores[k] / p.total_cores
    for i in range(4):
        total = 0.0
        for k in range(n_sl):
            total += out.slice_usage[e, i, k]
        out.usage[e, i] = total
