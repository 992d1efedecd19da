"""Radio link tables and models against the 3GPP values (TS 38.101-1 Table 5.3.2-1, TS 38.214 clause 5.2.2.1, TS 38.306
clause 4.1.2)."""

from __future__ import annotations

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.network.channel import (
    CQI_TABLES,
    OVERHEAD_FR1,
    bler_first_tx,
    cqi_from_sinr,
    n_prb,
    numerology,
    prb_bits_per_second,
    thresholds_for,
)

# TS 38.214 Tables 5.2.2.1-2/-3/-4: (modulation order Q_m, code rate x 1024) of CQI 1..15.
QPSK, QAM16, QAM64, QAM256 = 2, 4, 6, 8
CQI_SPEC: dict[int, list[tuple[int, int]]] = {
    1: [(QPSK, 78), (QPSK, 120), (QPSK, 193), (QPSK, 308), (QPSK, 449), (QPSK, 602), (QAM16, 378),
        (QAM16, 490), (QAM16, 616), (QAM64, 466), (QAM64, 567), (QAM64, 666), (QAM64, 772), (QAM64, 873),
        (QAM64, 948)],
    2: [(QPSK, 78), (QPSK, 193), (QPSK, 449), (QAM16, 378), (QAM16, 490), (QAM16, 616), (QAM64, 466),
        (QAM64, 567), (QAM64, 666), (QAM64, 772), (QAM64, 873), (QAM256, 711), (QAM256, 797), (QAM256, 885),
        (QAM256, 948)],
    3: [(QPSK, 30), (QPSK, 50), (QPSK, 78), (QPSK, 120), (QPSK, 193), (QPSK, 308), (QPSK, 449), (QPSK, 602),
        (QAM16, 378), (QAM16, 490), (QAM16, 616), (QAM64, 466), (QAM64, 567), (QAM64, 666), (QAM64, 772)],
}  # fmt: skip
#: The tables store SE rounded to 4 decimals.
SE_ROUNDING = 5e-5


@pytest.mark.parametrize(
    ("scs_khz", "bandwidth_mhz", "expected"),
    [
        (15, 5, 25),
        (15, 20, 106),
        (15, 50, 270),
        (30, 20, 51),
        (30, 40, 106),
        (30, 100, 273),
        (60, 10, 11),
        (60, 100, 135),
    ],
)
def test_nr_prb_count_matches_ts_38_101_1_table_5_3_2_1(scs_khz: int, bandwidth_mhz: int, expected: int) -> None:
    assert n_prb("nr", bandwidth_mhz, scs_khz) == expected


@pytest.mark.parametrize(("bandwidth_mhz", "expected"), [(1.4, 6), (5, 25), (10, 50), (20, 100)])
def test_lte_prb_count_matches_ts_36_101_table_5_6_1(bandwidth_mhz: float, expected: int) -> None:
    assert n_prb("lte", bandwidth_mhz) == expected


@pytest.mark.parametrize(
    ("rat", "bandwidth_mhz", "scs_khz", "field"),
    [
        ("nr", 100, 15, "bandwidth_mhz"),  # 15 kHz stops at 50 MHz in FR1
        ("nr", 5, 60, "bandwidth_mhz"),  # 60 kHz starts at 10 MHz
        ("nr", 22, 30, "bandwidth_mhz"),
        ("nr", 100, 120, "scs_khz"),  # 120 kHz is FR2 only
        ("lte", 7, 15, "bandwidth_mhz"),
        ("lte", 20, 30, "scs_khz"),
        ("wifi", 20, 15, "rat"),
    ],
)
def test_invalid_carrier_raises_config_error_naming_the_field(
    rat: str, bandwidth_mhz: float, scs_khz: int, field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        n_prb(rat, bandwidth_mhz, scs_khz)


@pytest.mark.parametrize(("scs_khz", "mu"), [(15, 0), (30, 1), (60, 2), (120, 3)])
def test_numerology_inverts_scs_equals_15_times_2_to_the_mu(scs_khz: int, mu: int) -> None:
    assert numerology(scs_khz) == mu


def test_numerology_rejects_a_spacing_that_is_not_15_times_a_power_of_two() -> None:
    with pytest.raises(ConfigError, match="scs_khz"):
        numerology(45)


@pytest.mark.parametrize("table", sorted(CQI_SPEC))
def test_cqi_spectral_efficiency_is_qm_times_code_rate(table: int) -> None:
    expected = np.array([qm * rate / 1024 for qm, rate in CQI_SPEC[table]])
    np.testing.assert_allclose(CQI_TABLES[table][1:], expected, rtol=0, atol=SE_ROUNDING)


@pytest.mark.parametrize(
    ("table", "cqi", "qm", "rate"),
    [(1, 15, QAM64, 948), (2, 15, QAM256, 948), (2, 12, QAM256, 711), (3, 1, QPSK, 30), (1, 1, QPSK, 78)],
)
def test_cqi_table_spot_values(table: int, cqi: int, qm: int, rate: int) -> None:
    assert CQI_TABLES[table][cqi] == pytest.approx(qm * rate / 1024, abs=SE_ROUNDING)


@pytest.mark.parametrize("table", sorted(CQI_TABLES))
def test_cqi_zero_is_out_of_range_and_efficiency_increases_with_cqi(table: int) -> None:
    se = CQI_TABLES[table]
    assert se.shape == (16,)
    assert se[0] == 0.0
    assert np.all(np.diff(se) > 0.0)


def _peak_rate_mbps(layers: int, qm: int, n_rb: int, mu: int, overhead: float) -> float:
    """TS 38.306 section 4.1.2, one carrier, scaling factor f = 1, R_max = 948/1024."""
    t_s = 1e-3 / (14 * 2**mu)
    return 1e-6 * layers * qm * (948 / 1024) * n_rb * 12 / t_s * (1 - overhead)


def _rate_from_prb_bits_mbps(scs_khz: int, layers: int, qm: int, n_rb: int, overhead: float) -> float:
    return prb_bits_per_second(scs_khz, overhead, layers) * n_rb * qm * 948 / 1024 / 1e6


def test_peak_rate_100mhz_mu1_4_layers_256qam_is_about_2337_mbps() -> None:
    rate = _rate_from_prb_bits_mbps(30, layers=4, qm=QAM256, n_rb=n_prb("nr", 100, 30), overhead=OVERHEAD_FR1["dl"])
    assert rate == pytest.approx(2337.0, rel=1e-3)


@pytest.mark.parametrize(
    ("scs_khz", "bandwidth_mhz", "layers", "qm", "direction"),
    [
        (30, 100, 4, QAM256, "dl"),
        (15, 20, 2, QAM64, "dl"),
        (30, 20, 1, QAM64, "dl"),
        (60, 50, 2, QAM16, "ul"),
    ],
)
def test_prb_bits_per_second_reproduces_the_ts_38_306_formula(
    scs_khz: int, bandwidth_mhz: int, layers: int, qm: int, direction: str
) -> None:
    n_rb, mu, oh = n_prb("nr", bandwidth_mhz, scs_khz), numerology(scs_khz), OVERHEAD_FR1[direction]
    got = _rate_from_prb_bits_mbps(scs_khz, layers, qm, n_rb, oh)
    assert got == pytest.approx(_peak_rate_mbps(layers, qm, n_rb, mu, oh), rel=1e-12)


def test_overheads_are_the_ts_38_306_fr1_values() -> None:
    assert OVERHEAD_FR1 == {"dl": 0.14, "ul": 0.08}


@pytest.mark.parametrize("table", sorted(CQI_TABLES))
def test_sinr_thresholds_strictly_increase(table: int) -> None:
    thr = thresholds_for(table)
    assert thr.shape == (15,)
    assert np.all(np.diff(thr) > 0.0)


@pytest.mark.parametrize(("table", "cqi", "table1_cqi"), [(2, 3, 5), (2, 7, 10), (2, 12, 15), (3, 3, 1), (3, 15, 13)])
def test_equal_spectral_efficiency_needs_equal_sinr_across_tables(table: int, cqi: int, table1_cqi: int) -> None:
    assert CQI_TABLES[table][cqi] == CQI_TABLES[1][table1_cqi]
    assert thresholds_for(table)[cqi - 1] == pytest.approx(thresholds_for(1)[table1_cqi - 1])


def test_unknown_cqi_table_raises() -> None:
    with pytest.raises(ConfigError, match="cqi_table"):
        thresholds_for(4)


@pytest.mark.parametrize("table", sorted(CQI_TABLES))
def test_cqi_from_sinr_is_monotone_and_spans_0_to_15(table: int) -> None:
    thr = thresholds_for(table)
    sinr = np.linspace(-30.0, 50.0, 2001)
    cqi = cqi_from_sinr(sinr, thr)
    assert np.all(np.diff(cqi) >= 0)
    assert cqi[0] == 0
    assert cqi[-1] == 15
    assert set(np.unique(cqi)) == set(range(16))


def test_cqi_from_sinr_reaches_a_cqi_exactly_at_its_threshold() -> None:
    thr = thresholds_for(1)
    np.testing.assert_array_equal(cqi_from_sinr(thr, thr), np.arange(1, 16))
    np.testing.assert_array_equal(cqi_from_sinr(thr - 1e-6, thr), np.arange(0, 15))


def test_bler_is_the_cqi_target_at_zero_margin() -> None:
    assert bler_first_tx(np.array([0.0]), 2.0)[0] == pytest.approx(0.1)


@pytest.mark.parametrize("slope_db", [1.0, 2.0, 4.0])
def test_bler_falls_a_decade_per_slope_and_strictly_decreases_with_margin(slope_db: float) -> None:
    margin = np.linspace(0.0, 20.0, 201)
    bler = bler_first_tx(margin, slope_db)
    assert np.all(np.diff(bler) < 0.0)
    assert np.all((bler > 0.0) & (bler <= 0.1))
    assert bler_first_tx(np.array([slope_db]), slope_db)[0] == pytest.approx(0.01)
