"""Per-slice traffic: diurnal profile, autocorrelated noise, MMPP bursts, and per-UE demand.

The load of slice k in slot t is a number of *active UEs* (or devices):

    N_k(t) = scale_k * profile_k(hour_t) * day_k * exp(x_k(t) - sigma_k^2 / 2) * burst_k(t)

* ``profile_k``: a 24 h trigonometric series with 24 h, 12 h and 8 h harmonics (the
  compact parametric form of Wang et al. 2015, IEEE Xplore document 7277444), normalised to a peak of 1;
* ``day_k``: a log-normal factor drawn once per episode (one day differs from the next);
* ``x_k``: an AR(1) Gaussian process per slot, x(t+1) = rho x(t) + sigma sqrt(1 - rho^2) e;
* ``burst_k``: a two-state Markov-modulated (MMPP-style) multiplier, ``burst_factor`` while in
  the burst state (Fischer and Meier-Hellstern 1993).

N is clipped below at ``min_fraction * scale`` (the testbed clips traffic at 0.01). Each UE
offers uplink/downlink bit rates and edge requests given by :class:`ServiceParams`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

N_HARMONICS = 3


@dataclass(frozen=True)
class TrafficParams:
    """Traffic model of every slice; arrays are shaped ``(n_slices,)`` unless noted.

    Attributes:
        scale: peak number of active UEs (devices for mMTC) per slice.
        harmonics: ``(n_slices, 7)`` coefficients a0, a1, b1, a2, b2, a3, b3 of the 24 h profile.
        profile_peak: ``(n_slices,)`` maximum of the raw profile over the day (normalisation).
        noise_sigma: standard deviation of the stationary AR(1) log-noise.
        noise_rho: AR(1) coefficient per slot.
        day_sigma: standard deviation of the per-episode log-normal day factor.
        burst_factor: load multiplier in the burst state (1 disables bursts).
        p_burst_on: per-slot probability of entering the burst state.
        p_burst_off: per-slot probability of leaving it.
        cell_share: ``(n_cells, n_slices)`` fraction of each slice's UEs in each cell (columns sum to 1).
        min_fraction: lower clip of the load as a fraction of ``scale``.
    """

    scale: FloatArray
    harmonics: FloatArray
    profile_peak: FloatArray
    noise_sigma: FloatArray
    noise_rho: FloatArray
    day_sigma: FloatArray
    burst_factor: FloatArray
    p_burst_on: FloatArray
    p_burst_off: FloatArray
    cell_share: FloatArray
    min_fraction: float = 0.01

    @property
    def n_slices(self) -> int:
        """Number of slices."""
        return int(self.scale.shape[0])


@dataclass(frozen=True)
class ServiceParams:
    """What one active UE of each slice asks of the network; arrays are ``(n_slices,)``.

    Attributes:
        ul_kbps: uplink offered rate per UE (kbit/s) for open-loop slices.
        dl_kbps: downlink offered rate per UE (kbit/s) for open-loop slices.
        job_bits: ``(2, n_slices)`` transfer unit (packet, object or frame) in bits, [UL, DL].
        pkt_bits: IP packet size (bits) seen by the UPF.
        req_per_ue: edge requests per second per UE for open-loop slices.
        edge_work_s: CPU time of one edge request on one core (core-seconds).
        interactive: closed-loop request/response slices (each UE keeps one request outstanding).
        ca2: squared coefficient of variation of inter-arrival times (1 = Poisson).
        cs2_edge: squared coefficient of variation of the edge service time.
        latency_dirs: ``(2, n_slices)`` 1 where the end-to-end latency includes the UL / DL half.
        app_latency_s: fixed application latency (encoding, loading) added end to end (s).
        fps: frames per second offered per UE (video slices; 0 otherwise).
    """

    ul_kbps: FloatArray
    dl_kbps: FloatArray
    job_bits: FloatArray
    pkt_bits: FloatArray
    req_per_ue: FloatArray
    edge_work_s: FloatArray
    interactive: BoolArray
    ca2: FloatArray
    cs2_edge: FloatArray
    latency_dirs: FloatArray
    app_latency_s: FloatArray
    fps: FloatArray


@dataclass(frozen=True)
class TrafficState:
    """Traffic state of every env; arrays are ``(n_envs, n_slices)``.

    Attributes:
        noise: AR(1) log-noise x_k.
        burst: 1.0 in the burst state, 0.0 otherwise.
        day: per-episode day factor.
        load: active UEs in the *coming* slot (known to an oracle, observed by agents one slot late).
    """

    noise: FloatArray
    burst: FloatArray
    day: FloatArray
    load: FloatArray


def diurnal_profile(harmonics: FloatArray, hour: FloatArray) -> FloatArray:
    """Evaluate the raw 24 h profile a0 + sum_k a_k cos(2 pi k h / 24) + b_k sin(2 pi k h / 24).

    Args:
        harmonics: ``(n_slices, 7)`` coefficients.
        hour: hours of day, any shape ``S``.

    Returns:
        Array shaped ``S + (n_slices,)``.
    """
    k = np.arange(1, N_HARMONICS + 1, dtype=np.float64)
    angle = (2.0 * np.pi / 24.0) * np.asarray(hour, dtype=np.float64)[..., None] * k  # S + (3,)
    cos_sin = np.concatenate([np.cos(angle), np.sin(angle)], axis=-1)  # S + (6,)
    coef = np.concatenate([harmonics[:, 1::2], harmonics[:, 2::2]], axis=1)  # (K, 6): a1..a3, b1..b3
    out: FloatArray = harmonics[:, 0] + cos_sin @ coef.T
    return out


def profile_peak(harmonics: FloatArray) -> FloatArray:
    """Peak of each slice's raw profile over the day (sampled every minute)."""
    return np.asarray(np.max(diurnal_profile(harmonics, np.arange(0.0, 24.0, 1.0 / 60.0)), axis=0))


def profile_load(params: TrafficParams, hour: FloatArray) -> FloatArray:
    """``scale * profile(hour)``: the load without day factor, noise and bursts, ``(n_envs, n_slices)``."""
    shape = np.maximum(diurnal_profile(params.harmonics, hour) / params.profile_peak, 0.0)
    out: FloatArray = params.scale * shape
    return out


def load_of(
    params: TrafficParams, hour: FloatArray, noise: FloatArray, burst: FloatArray, day: FloatArray
) -> FloatArray:
    """Active UEs per env and slice for the given hour of day (``hour`` shaped ``(n_envs,)``)."""
    mult = 1.0 + (params.burst_factor - 1.0) * burst
    lognormal = np.exp(noise - 0.5 * params.noise_sigma**2)
    return np.maximum(profile_load(params, hour) * day * lognormal * mult, params.min_fraction * params.scale)


def init_traffic(params: TrafficParams, hour: FloatArray, rng: np.random.Generator) -> TrafficState:
    """Draw a fresh traffic state for ``len(hour)`` envs (stationary noise and burst state)."""
    n_envs, n_slices = hour.shape[0], params.n_slices
    noise = params.noise_sigma * rng.standard_normal((n_envs, n_slices))
    p_stationary = params.p_burst_on / np.maximum(params.p_burst_on + params.p_burst_off, 1e-12)
    burst = (rng.random((n_envs, n_slices)) < p_stationary).astype(np.float64)
    day = np.exp(params.day_sigma * rng.standard_normal((n_envs, n_slices)) - 0.5 * params.day_sigma**2)
    return TrafficState(noise=noise, burst=burst, day=day, load=load_of(params, hour, noise, burst, day))


def step_traffic(
    params: TrafficParams, state: TrafficState, hour: FloatArray, rng: np.random.Generator
) -> TrafficState:
    """Advance the noise and burst processes one slot and compute the load at ``hour``."""
    n_envs, n_slices = state.noise.shape
    rho = params.noise_rho
    noise = rho * state.noise + params.noise_sigma * np.sqrt(1.0 - rho * rho) * rng.standard_normal((n_envs, n_slices))
    u = rng.random((n_envs, n_slices))
    burst = np.where(state.burst > 0.5, u >= params.p_burst_off, u < params.p_burst_on).astype(np.float64)
    return TrafficState(noise=noise, burst=burst, day=state.day, load=load_of(params, hour, noise, burst, state.day))
