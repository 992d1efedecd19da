"""Radio link abstraction: PRB counts, SINR -> CQI -> spectral efficiency, BLER vs margin.

Sources:

* PRB counts N_RB: TS 38.101-1 Table 5.3.2-1 (= TS 38.104 Table 5.3.2-1) for NR FR1, and
  TS 36.101 Table 5.6-1 for LTE (1.4/3/5/10/15/20 MHz -> 6/15/25/50/75/100 PRB).
* CQI tables: TS 38.214 Table 5.2.2.1-2 (Table 1, up to 64QAM), 5.2.2.1-3 (Table 2, up to
  256QAM) and 5.2.2.1-4 (Table 3, low spectral efficiency for URLLC). Spectral efficiency is
  Q_m * R / 1024 in bit/s/Hz; CQI 0 means "out of range" and carries no data.
* SINR -> CQI: the 10 % BLER AWGN switching thresholds widely used for Table 1 (non-normative,
  LTE link-level results, used by many open DRL simulators). Table 2 and Table 3 reuse them shifted so that
  equal spectral efficiencies need equal SINR (see ``_thresholds_for``).
* Peak-rate overheads OH (FR1): 0.14 DL and 0.08 UL, TS 38.306 section 4.1.2.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from netslice.errors import ConfigError

FloatArray = NDArray[np.float64]

#: TS 38.214 Table 5.2.2.1-2 (CQI Table 1): spectral efficiency (bit/s/Hz) for CQI 0..15.
CQI_TABLE_1_SE: FloatArray = np.array(
    [0.0, 0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766,
     1.9141, 2.4063, 2.7305, 3.3223, 3.9023, 4.5234, 5.1152, 5.5547]
)  # fmt: skip
#: TS 38.214 Table 5.2.2.1-3 (CQI Table 2, 256QAM): spectral efficiency for CQI 0..15.
CQI_TABLE_2_SE: FloatArray = np.array(
    [0.0, 0.1523, 0.3770, 0.8770, 1.4766, 1.9141, 2.4063, 2.7305,
     3.3223, 3.9023, 4.5234, 5.1152, 5.5547, 6.2266, 6.9141, 7.4063]
)  # fmt: skip
#: TS 38.214 Table 5.2.2.1-4 (CQI Table 3, low-SE for URLLC): spectral efficiency for CQI 0..15.
CQI_TABLE_3_SE: FloatArray = np.array(
    [0.0, 0.0586, 0.0977, 0.1523, 0.2344, 0.3770, 0.6016, 0.8770,
     1.1758, 1.4766, 1.9141, 2.4063, 2.7305, 3.3223, 3.9023, 4.5234]
)  # fmt: skip
CQI_TABLES: dict[int, FloatArray] = {1: CQI_TABLE_1_SE, 2: CQI_TABLE_2_SE, 3: CQI_TABLE_3_SE}

#: SINR (dB) at which CQI 1..15 of Table 1 reach 10 % BLER in AWGN (non-normative link-level results).
SINR_THRESHOLDS_TABLE_1_DB: FloatArray = np.array(
    [-6.7, -4.7, -2.3, 0.2, 2.4, 4.3, 5.9, 8.1, 10.3, 11.7, 14.1, 16.3, 18.7, 21.0, 22.7]
)

#: TS 38.306 section 4.1.2 overhead fractions for FR1.
OVERHEAD_FR1 = {"dl": 0.14, "ul": 0.08}

#: TS 38.101-1 Table 5.3.2-1: {scs_khz: {bandwidth_mhz: N_RB}} for NR FR1.
NR_FR1_N_RB: dict[int, dict[int, int]] = {
    15: {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 35: 188, 40: 216, 45: 242, 50: 270},
    30: {5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 35: 92, 40: 106, 45: 119, 50: 133,
         60: 162, 70: 189, 80: 217, 90: 245, 100: 273},
    60: {10: 11, 15: 18, 20: 24, 25: 31, 30: 38, 35: 44, 40: 51, 45: 58, 50: 65, 60: 79,
         70: 93, 80: 107, 90: 121, 100: 135},
}  # fmt: skip
#: TS 36.101 Table 5.6-1: LTE channel bandwidth (MHz) -> N_RB (15 kHz subcarrier spacing).
LTE_N_RB: dict[float, int] = {1.4: 6, 3: 15, 5: 25, 10: 50, 15: 75, 20: 100}

SUBCARRIERS_PER_PRB = 12  # TS 38.211 section 4.4.4.1
SYMBOLS_PER_SLOT = 14  # normal cyclic prefix, TS 38.211 Table 4.3.2-1


def n_prb(rat: str, bandwidth_mhz: float, scs_khz: int = 15) -> int:
    """Number of PRBs of a carrier (maximum transmission bandwidth configuration).

    Args:
        rat: ``"nr"`` or ``"lte"``.
        bandwidth_mhz: channel bandwidth in MHz.
        scs_khz: NR subcarrier spacing in kHz (15, 30 or 60); LTE always uses 15 kHz.

    Returns:
        N_RB from TS 38.101-1 Table 5.3.2-1 (NR) or TS 36.101 Table 5.6-1 (LTE).

    Raises:
        ConfigError: the combination is not in the table.

    >>> n_prb("nr", 100, 30), n_prb("lte", 20)
    (273, 100)
    """
    if rat == "lte":
        table: dict[float, int] = LTE_N_RB
        key: float = float(bandwidth_mhz)
        if scs_khz != 15:
            raise ConfigError(f"scs_khz: LTE uses 15 kHz subcarrier spacing, got {scs_khz}")
    elif rat == "nr":
        if scs_khz not in NR_FR1_N_RB:
            raise ConfigError(f"scs_khz: must be one of {sorted(NR_FR1_N_RB)} for NR FR1, got {scs_khz}")
        table = {float(k): v for k, v in NR_FR1_N_RB[scs_khz].items()}
        key = float(bandwidth_mhz)
    else:
        raise ConfigError(f"rat: must be 'nr' or 'lte', got {rat!r}")
    if key not in table:
        raise ConfigError(
            f"bandwidth_mhz: {bandwidth_mhz} MHz is not a valid {rat.upper()} channel bandwidth at "
            f"{scs_khz} kHz (valid: {sorted(table)})"
        )
    return table[key]


def numerology(scs_khz: int) -> int:
    """Return mu such that SCS = 15 * 2**mu kHz (TS 38.211 Table 4.2-1)."""
    mu = round(float(np.log2(scs_khz / 15)))
    if 15 * 2**mu != scs_khz:
        raise ConfigError(f"scs_khz: must be 15 * 2**mu kHz, got {scs_khz}")
    return mu


def prb_bits_per_second(scs_khz: int, overhead: float, layers: int = 1) -> float:
    """Bits per second carried by one PRB at spectral efficiency 1 bit/s/Hz.

    Per TS 38.306 section 4.1.2: 12 subcarriers x 14 symbols per slot x 1000 * 2**mu slots/s,
    times (1 - OH) and the number of MIMO layers. Multiply by the spectral efficiency of the CQI
    to get the PRB's rate.
    """
    mu = numerology(scs_khz)
    return float(SUBCARRIERS_PER_PRB * SYMBOLS_PER_SLOT * 1000.0 * 2**mu * (1.0 - overhead) * layers)


def thresholds_for(cqi_table: int) -> FloatArray:
    """SINR thresholds (dB) for CQI 1..15 of a CQI table.

    Table 1 uses the 10 % BLER AWGN thresholds. Tables 2 and 3 map each CQI to the SINR at which
    Table 1 reaches the same spectral efficiency (linear interpolation in SE, and extrapolation at
    3 dB per doubling of SE beyond Table 1's top), so one link curve serves all tables.
    """
    if cqi_table not in CQI_TABLES:
        raise ConfigError(f"cqi_table: must be 1, 2 or 3, got {cqi_table}")
    if cqi_table == 1:
        return SINR_THRESHOLDS_TABLE_1_DB.copy()
    se = CQI_TABLES[cqi_table][1:]
    base_se, base_thr = CQI_TABLE_1_SE[1:], SINR_THRESHOLDS_TABLE_1_DB
    thr = np.interp(se, base_se, base_thr)
    below = se < base_se[0]
    thr[below] = base_thr[0] + 10.0 * np.log10(se[below] / base_se[0])
    above = se > base_se[-1]
    thr[above] = base_thr[-1] + 10.0 * np.log10(se[above] / base_se[-1]) * 3.0 / (10.0 * np.log10(2.0))
    return thr


def cqi_from_sinr(sinr_db: FloatArray, thresholds_db: FloatArray) -> NDArray[np.int64]:
    """Highest CQI whose 10 % BLER threshold is at or below the SINR (0 = out of range)."""
    return np.searchsorted(thresholds_db, sinr_db, side="right").astype(np.int64)


def bler_first_tx(margin_db: FloatArray, slope_db_per_decade: float) -> FloatArray:
    """First-transmission block error rate for a link operated ``margin_db`` above its threshold.

    At zero margin the BLER is the CQI design target 0.1 (TS 38.214 section 5.2.2.1); every
    ``slope_db_per_decade`` dB of margin divides it by ten (the AWGN waterfall of a turbo/LDPC
    code is roughly a straight line in log-BLER).
    """
    return np.minimum(0.1 * 10.0 ** (-np.maximum(margin_db, 0.0) / slope_db_per_decade), 1.0)
