"""Radio access network: per-slice PRB shares and MCS caps on every cell, UL and DL.

Arrays carry a direction axis of size 2 ordered ``[UL, DL]``. For cell c, slice k and direction
d in slot t:

* SINR = mean SINR of the slice's UEs in the cell + correlated shadowing (AR(1), dB);
* CQI = the highest CQI of the cell's table whose 10 % BLER threshold the SINR reaches, lowered by
  the slice's MCS cap knob m in [0, 1]: the cap sits floor(10 m) CQI steps below the link-adapted
  CQI (never below CQI 1), as the testbed's per-slice max-MCS offset (0..10) does. A lower cap
  trades throughput for reliability;
* first-transmission BLER from the margin between the SINR and the chosen CQI's threshold
  (:func:`netslice.network.channel.bler_first_tx`); residual loss after ``harq_max_tx`` HARQ
  transmissions is BLER^harq_max_tx; each retransmission adds one HARQ round trip;
* PRBs = share x N_RB of the cell; rate (bit/s) = PRBs x bits per PRB at SE 1 x SE(CQI) x (1 - BLER);
* the slice's RAN queue in the cell is an open G/G/1 stage (:func:`open_stage`) in transfer units
  (objects, frames or packets), whose backlog carries over between slots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netslice.network.channel import bler_first_tx
from netslice.network.queueing import StageOut, open_stage

FloatArray = NDArray[np.float64]

UL, DL = 0, 1


@dataclass(frozen=True)
class RanParams:
    """Cells of the radio access network.

    Attributes:
        prb: ``(2, n_cells)`` PRBs available per direction (N_RB, times the TDD share of the direction).
        prb_rate: ``(2, n_cells)`` bit/s carried by one PRB at spectral efficiency 1 (TS 38.306 4.1.2).
        sinr_db: ``(2, n_cells, n_slices)`` mean SINR of each slice's UEs per cell and direction (dB).
        shadow_sigma_db: standard deviation of the shadowing around ``sinr_db`` (dB; 0 = static channel).
        shadow_rho: AR(1) coefficient of the shadowing per slot.
        thresholds_db: ``(16,)`` SINR threshold of CQI 0..15 (entry 0 is -inf: CQI 0 carries no data).
        se_table: ``(16,)`` spectral efficiency of CQI 0..15 (TS 38.214 CQI table of the RAT).
        bler_slope_db: dB of SINR margin per decade of first-transmission BLER.
        harq_max_tx: maximum number of HARQ transmissions.
        harq_rtt_s: HARQ round-trip time (s); 8 ms in LTE FDD.
        base_latency_s: ``(2,)`` scheduling and processing latency per direction (s).
        buffer_bits: RLC buffer per slice, cell and direction (bits).
    """

    prb: FloatArray
    prb_rate: FloatArray
    sinr_db: FloatArray
    shadow_sigma_db: float
    shadow_rho: float
    thresholds_db: FloatArray
    se_table: FloatArray
    bler_slope_db: float
    harq_max_tx: int
    harq_rtt_s: float
    base_latency_s: FloatArray
    buffer_bits: float

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return int(self.prb.shape[1])


@dataclass(frozen=True)
class RanOut:
    """RAN outcome of one slot, arrays ``(n_envs, 2, n_cells, n_slices)``.

    Attributes:
        stage: queueing outcome per slice, cell and direction (delay already includes HARQ and
            scheduling latency; ``lost`` includes the residual HARQ loss).
        cqi: CQI used after the MCS cap.
        prb_used: PRBs actually busy (share x N_RB x min(1, utilisation)).
        residual: loss left after ``harq_max_tx`` HARQ transmissions, BLER^harq_max_tx.
    """

    stage: StageOut
    cqi: NDArray[np.int64]
    prb_used: FloatArray
    residual: FloatArray


#: CQI steps of backoff at MCS knob 1 (the testbed's max-MCS offset range is 0..10).
MAX_MCS_BACKOFF = 10


def mcs_backoff(knob: FloatArray) -> NDArray[np.int64]:
    """Map the MCS cap knob in [0, 1] to a backoff of 0..10 CQI steps below the link-adapted CQI."""
    return np.floor(MAX_MCS_BACKOFF * np.clip(knob, 0.0, 1.0) + 1e-9).astype(np.int64)


@dataclass(frozen=True)
class RanLink:
    """Link adaptation of one slot, arrays ``(n_envs, 2, n_cells, n_slices)``.

    Attributes:
        cqi: CQI used after the MCS cap.
        bler: first-transmission BLER at that CQI.
        prbs: PRBs allocated to the slice in the cell.
        rate: goodput of the slice's PRBs (bit/s), after first-transmission errors.
        fixed_delay: scheduling, processing and HARQ retransmission latency (s).
    """

    cqi: NDArray[np.int64]
    bler: FloatArray
    prbs: FloatArray
    rate: FloatArray
    fixed_delay: FloatArray


def ran_link(params: RanParams, share: FloatArray, mcs_knob: FloatArray, shadow_db: FloatArray) -> RanLink:
    """Link adaptation: CQI, BLER and rate of every slice's PRBs in every cell.

    Args:
        params: RAN parameters.
        share: ``(n_envs, 2, n_slices)`` PRB share per direction.
        mcs_knob: ``(n_envs, 2, n_slices)`` MCS cap knob per direction (0 = no cap).
        shadow_db: ``(n_envs, 2, n_cells, n_slices)`` current shadowing (dB).

    Returns:
        The slot's :class:`RanLink`.
    """
    sinr = params.sinr_db + shadow_db
    cqi_channel = np.searchsorted(params.thresholds_db, sinr, side="right") - 1
    cqi = np.where(cqi_channel > 0, np.maximum(cqi_channel - mcs_backoff(mcs_knob)[:, :, None, :], 1), 0)
    bler = bler_first_tx(sinr - params.thresholds_db[cqi], params.bler_slope_db)
    prbs = share[:, :, None, :] * params.prb[:, :, None]
    rate = prbs * params.prb_rate[:, :, None] * params.se_table[cqi] * (1.0 - bler)
    fixed = params.base_latency_s[:, None, None] + params.harq_rtt_s * bler / (1.0 - bler)
    return RanLink(cqi=cqi, bler=bler, prbs=prbs, rate=rate, fixed_delay=fixed)


def ran_step(
    params: RanParams,
    link: RanLink,
    offered_bits: FloatArray,
    job_bits: FloatArray,
    ca2: FloatArray,
    q0: FloatArray,
    slot_s: float,
) -> RanOut:
    """Serve one slot of RAN traffic.

    Args:
        params: RAN parameters.
        link: the slot's link adaptation (:func:`ran_link`).
        offered_bits: ``(n_envs, 2, n_cells, n_slices)`` offered load (bit/s).
        job_bits: ``(2, n_slices)`` transfer unit per direction (bits).
        ca2: ``(n_slices,)`` arrival burstiness.
        q0: ``(n_envs, 2, n_cells, n_slices)`` RAN backlog (transfer units).
        slot_s: slot length (s).

    Returns:
        The slot's :class:`RanOut`.
    """
    unit = job_bits[:, None, :]
    stage = open_stage(
        q0, offered_bits / unit, link.rate / unit, 1.0, ca2, 1.0, slot_s, params.buffer_bits / unit, link.fixed_delay
    )
    residual = link.bler**params.harq_max_tx
    lost = 1.0 - (1.0 - stage.lost) * (1.0 - residual)
    delivered = stage.delivered * (1.0 - residual)
    stage = StageOut(stage.delay, stage.var, delivered, lost, stage.q1, stage.rho)
    prb_used = link.prbs * np.minimum(stage.rho, 1.0)
    return RanOut(stage=stage, cqi=link.cqi, prb_used=prb_used, residual=residual)
