"""Known answers for the queueing blocks: M/M/1, M/D/1, Erlang C, fluid (Lindley) queue, Gamma tails."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from netslice.network.queueing import (
    MAX_DELAY_S,
    cpu_servers,
    erlang_c,
    fluid_backlog,
    gamma_quantile,
    gg_c_wait,
    open_stage,
    smooth_relu,
)

MU = 1000.0  # jobs/s
Z95 = 1.6448536269514722
LOADS = [0.1, 0.5, 0.8, 0.95]


def _a(x: float) -> np.ndarray:
    return np.array([x], dtype=np.float64)


def _wait(lam: float, mu: float, servers: float, ca2: float = 1.0, cs2: float = 1.0) -> float:
    wq, _ = gg_c_wait(_a(lam), _a(mu), _a(servers), _a(ca2), _a(cs2))
    return float(wq[0])


def _erlang_c_wait(c: int, lam: float, mu: float) -> float:
    return erlang_c(c, lam / mu) / (c * mu - lam)


def _fluid(q0: float, lam: float, mu: float, slot_s: float, buffer: float) -> tuple[float, float, float]:
    q1, qbar, drops = fluid_backlog(_a(q0), _a(lam), _a(mu), slot_s, _a(buffer))
    return float(q1[0]), float(qbar[0]), float(drops[0])


@pytest.mark.parametrize("rho", LOADS)
def test_mm1_sojourn_is_one_over_mu_minus_lambda(rho: float) -> None:
    lam = rho * MU
    assert _wait(lam, MU, 1.0) + 1.0 / MU == pytest.approx(1.0 / (MU - lam), rel=1e-12)


@pytest.mark.parametrize("rho", LOADS)
def test_md1_wait_is_pollaczek_khinchine(rho: float) -> None:
    lam = rho * MU
    assert _wait(lam, MU, 1.0, cs2=0.0) == pytest.approx(rho / (2.0 * MU * (1.0 - rho)), rel=1e-12)


@pytest.mark.parametrize("rho", LOADS)
@pytest.mark.parametrize(("ca2", "cs2"), [(1.0, 1.0), (2.0, 0.5), (4.0, 0.0)])
def test_single_server_is_kingman(rho: float, ca2: float, cs2: float) -> None:
    expected = rho / (1.0 - rho) * (ca2 + cs2) / 2.0 / MU
    assert _wait(rho * MU, MU, 1.0, ca2, cs2) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("rho", LOADS)
def test_open_stage_with_empty_queue_gives_mm1_sojourn_plus_fixed_delay(rho: float) -> None:
    lam, fixed = rho * MU, 0.004
    out = open_stage(_a(0.0), _a(lam), _a(MU), 1.0, _a(1.0), 1.0, 1.0, 1e6, fixed)
    assert out.delay[0] == pytest.approx(fixed + 1.0 / (MU - lam), rel=1e-12)
    assert out.q1[0] == 0.0
    assert out.delivered[0] == pytest.approx(1.0)
    assert out.lost[0] == 0.0
    assert out.rho[0] == pytest.approx(rho)


@pytest.mark.parametrize(
    ("c", "a", "p_wait", "sojourn_ms"), [(4, 3.0, 0.51, 1.51), (6, 3.0, 0.10, 1.03), (8, 3.0, 0.013, 1.003)]
)
def test_erlang_c_known_values(c: int, a: float, p_wait: float, sojourn_ms: float) -> None:
    """Erlang C values for a = 3 Erl, mu = 1000/s."""
    assert erlang_c(c, a) == pytest.approx(p_wait, rel=0.03)
    assert (_erlang_c_wait(c, a * MU, MU) + 1.0 / MU) * 1e3 == pytest.approx(sojourn_ms, rel=0.005)


@pytest.mark.parametrize("a", [0.2, 0.5, 0.9])
def test_erlang_c_closed_forms_for_one_and_two_servers(a: float) -> None:
    assert erlang_c(1, a) == pytest.approx(a)  # M/M/1: P(wait) = rho
    rho = a / 2.0
    assert erlang_c(2, a) == pytest.approx(2.0 * rho * rho / (1.0 + rho))  # M/M/2


@pytest.mark.parametrize("c", [2, 4, 8])
@pytest.mark.parametrize("rho", [0.75, 0.8, 0.9])
def test_multi_server_wait_is_within_15_percent_of_erlang_c(c: int, rho: float) -> None:
    lam = rho * c * MU
    assert _wait(lam, MU, float(c)) == pytest.approx(_erlang_c_wait(c, lam, MU), rel=0.15)


@pytest.mark.parametrize("c", [2, 4, 8])
@pytest.mark.parametrize("rho", [0.3, 0.5, 0.7, 0.9])
def test_multi_server_sojourn_is_within_5_percent_of_erlang_c(c: int, rho: float) -> None:
    lam = rho * c * MU
    exact = _erlang_c_wait(c, lam, MU) + 1.0 / MU
    assert _wait(lam, MU, float(c)) + 1.0 / MU == pytest.approx(exact, rel=0.05)


@pytest.mark.parametrize(("q0", "lam", "mu"), [(0.0, 3.0, 1.0), (4.0, 1.0, 1.5), (2.0, 5.0, 5.0), (10.0, 0.0, 0.5)])
def test_fluid_backlog_moves_linearly_when_no_bound_is_hit(q0: float, lam: float, mu: float) -> None:
    slot, buffer = 4.0, 100.0
    q1, qbar, drops = _fluid(q0, lam, mu, slot, buffer)
    assert q1 == pytest.approx(q0 + (lam - mu) * slot)
    assert qbar == pytest.approx((q0 + q1) / 2.0)  # trapezoid
    assert drops == 0.0


def test_fluid_backlog_drains_to_zero() -> None:
    # 10 jobs draining at 2 jobs/s empty after 5 s of a 10 s slot: triangle area 10 * 5 / 2.
    q1, qbar, drops = _fluid(10.0, 1.0, 3.0, 10.0, 100.0)
    assert (q1, drops) == (0.0, 0.0)
    assert qbar == pytest.approx(25.0 / 10.0)


def test_fluid_backlog_fills_the_buffer_and_drops_the_excess() -> None:
    # From 0 at +2 jobs/s the buffer of 5 is full at 2.5 s; area 5 * 2.5 / 2 + 5 * 7.5.
    q1, qbar, drops = _fluid(0.0, 3.0, 1.0, 10.0, 5.0)
    assert q1 == 5.0
    assert drops == pytest.approx(2.0 * 10.0 - 5.0)
    assert qbar == pytest.approx((6.25 + 37.5) / 10.0)


def test_fluid_backlog_above_the_buffer_is_clipped_first() -> None:
    q1, qbar, drops = _fluid(50.0, 1.0, 1.0, 10.0, 5.0)
    assert (q1, qbar, drops) == (5.0, 5.0, 0.0)


def test_fluid_backlog_conserves_work() -> None:
    rng = np.random.default_rng(0)
    q0, lam, mu = rng.uniform(0, 20, 500), rng.uniform(0, 10, 500), rng.uniform(0, 10, 500)
    slot, buffer = 3.0, np.full(500, 15.0)
    q1, qbar, drops = fluid_backlog(q0, lam, mu, slot, buffer)
    served = np.minimum(q0, buffer) + lam * slot - q1 - drops
    assert np.all(served <= mu * slot + 1e-9)  # never serves faster than mu
    assert np.all(served >= -1e-9)
    assert np.all((qbar >= np.minimum(np.minimum(q0, buffer), q1) - 1e-9) & (qbar <= buffer + 1e-9))


@pytest.mark.parametrize("lam", [0.0, 10.0])
def test_delays_stay_finite_without_service(lam: float) -> None:
    assert math.isfinite(_wait(lam, 0.0, 1.0))
    out = open_stage(_a(5.0), _a(lam), _a(0.0), 1.0, _a(1.0), 1.0, 1.0, 100.0, 0.001)
    for field in ("delay", "var", "delivered", "lost", "q1", "rho"):
        assert np.all(np.isfinite(getattr(out, field))), field
    assert out.delay[0] <= MAX_DELAY_S


def test_gamma_quantile_of_an_exponential_is_minus_log_of_tail_probability() -> None:
    mean = np.array([0.5, 2.0, 40.0])
    q = gamma_quantile(mean, mean**2, Z95)
    np.testing.assert_allclose(q, -np.log(0.05) * mean, rtol=0.02)


@pytest.mark.parametrize("shape", [0.5, 1.0, 2.0, 10.0, 100.0])
def test_gamma_quantile_matches_scipy_from_shape_one_half(shape: float) -> None:
    mean = 3.0
    exact = stats.gamma.ppf(0.95, shape, scale=mean / shape)
    assert gamma_quantile(_a(mean), _a(mean * mean / shape), Z95)[0] == pytest.approx(exact, rel=0.03)


def test_gamma_quantile_without_variance_is_the_mean() -> None:
    assert gamma_quantile(_a(7.0), _a(0.0), Z95)[0] == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("cores", "servers", "speed"), [(0.0, 1.0, 0.0), (0.4, 1.0, 0.4), (1.0, 1.0, 1.0), (3.5, 3.5, 1.0)]
)
def test_cpu_servers_split(cores: float, servers: float, speed: float) -> None:
    got_servers, got_speed = cpu_servers(_a(cores))
    assert (float(got_servers[0]), float(got_speed[0])) == (servers, speed)
    assert got_servers[0] * got_speed[0] == pytest.approx(cores)  # capacity is preserved


def test_smooth_relu_is_zero_at_zero_monotone_and_close_to_relu() -> None:
    x = np.linspace(-5.0, 5.0, 1001)
    eps = 0.1
    y = smooth_relu(x, eps)
    assert smooth_relu(_a(0.0), eps)[0] == 0.0
    assert np.all(np.diff(y) > 0.0)
    assert np.all(np.abs(y - np.maximum(x, 0.0)) <= eps / 2.0 + 1e-12)
