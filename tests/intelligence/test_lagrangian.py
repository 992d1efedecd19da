"""Lagrange multipliers on known answers: sign, projection, time scale, PID terms on a scripted cost sequence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from netslice.errors import ConfigError
from netslice.intelligence.agents.lagrangian import (
    DualAscent,
    PIDLagrangian,
    from_state,
    lagrangian_advantage,
    violation_rate,
)

SLICES = ("embb", "urllc")


def test_violation_rate_is_the_fraction_of_slots_with_cost_per_slice() -> None:
    cost = np.zeros((4, 2, 2))  # (slots, networks, slices)
    cost[0, 0, 0] = 0.3
    cost[1, 1, 0] = 1.0
    cost[3, 0, 1] = 1e-9
    np.testing.assert_array_equal(violation_rate(cost), [2 / 8, 1 / 8])


def test_dual_ascent_sign_and_projection() -> None:
    m = DualAscent(SLICES, d=0.1, eta=2.0)
    m.observe([0.35, 0.0])  # embb above d: up by 2 * 0.25; urllc below: down, projected at 0
    np.testing.assert_allclose(m.lam, [0.5, 0.0])
    m.observe([0.0, 0.6])  # embb below d: 0.5 - 0.2; urllc up by 2 * 0.5
    np.testing.assert_allclose(m.lam, [0.3, 1.0])
    m.observe([0.0, 0.0])  # both below: embb 0.3 - 0.2; urllc 1.0 - 0.2
    np.testing.assert_allclose(m.lam, [0.1, 0.8])
    m.observe([0.0, 0.0])  # embb 0.1 - 0.2 < 0: projected at exactly 0
    np.testing.assert_array_equal(m.lam[0], 0.0)
    np.testing.assert_allclose(m.lam[1], 0.6)
    m.observe([0.1, 0.1])  # at the limit: no change
    np.testing.assert_allclose(m.lam, [0.0, 0.6])


def test_dual_ascent_time_scale_steps_every_k_updates_on_the_window_mean() -> None:
    m = DualAscent(SLICES, d=0.0, eta=1.0, every=3)
    assert not m.observe([0.3, 0.0])
    assert not m.observe([0.0, 0.0])
    np.testing.assert_array_equal(m.lam, [0.0, 0.0])  # no change between steps
    assert m.metrics()["safety/cost/embb"] == pytest.approx(0.15)  # the window so far
    assert m.observe([0.6, 0.3])  # the third: one step on the mean (0.3, 0.1)
    np.testing.assert_allclose(m.lam, [0.3, 0.1])
    assert m.window == []
    assert m.steps == 1
    assert not m.observe([1.0, 1.0])
    assert not m.observe([1.0, 1.0])
    np.testing.assert_allclose(m.lam, [0.3, 0.1])  # still the first step's
    assert m.observe([0.1, 0.4])
    np.testing.assert_allclose(m.lam, [0.3 + 0.7, 0.1 + 0.8])


def test_metrics_name_lambda_cost_and_margin_per_slice() -> None:
    m = DualAscent(SLICES, d=0.05, eta=1.0)
    assert m.metrics() == {"safety/lambda/embb": 0.0, "safety/lambda/urllc": 0.0}  # nothing observed yet
    m.observe([0.25, 0.0])
    got = m.metrics()
    assert got["safety/lambda/embb"] == pytest.approx(0.2)
    assert got["safety/cost/embb"] == 0.25
    assert got["safety/cost/urllc"] == 0.0
    assert got["safety/margin/embb"] == pytest.approx(-0.2)
    assert got["safety/margin/urllc"] == pytest.approx(0.05)
    assert set(got) == {f"safety/{n}/{s}" for n in ("lambda", "cost", "margin") for s in SLICES}


def test_pid_terms_on_a_scripted_cost_sequence() -> None:
    d = 0.1
    jc = [0.3, 0.5, 0.2, 0.0, 0.0, 0.0]  # one slice: a violation that rises, falls and stops
    p_only = PIDLagrangian(("s",), d, kp=2.0, ki=0.0, kd=0.0)
    i_only = PIDLagrangian(("s",), d, kp=0.0, ki=1.0, kd=0.0)
    d_only = PIDLagrangian(("s",), d, kp=0.0, ki=0.0, kd=3.0)
    got: dict[str, list[float]] = {"p": [], "i": [], "d": [], "integral": []}
    for x in jc:
        for m, key in ((p_only, "p"), (i_only, "i"), (d_only, "d")):
            m.observe([x])
            got[key].append(float(m.lam[0]))
        got["integral"].append(float(i_only.integral[0]))
    # P: K_P * (J_C - d), projected at 0
    np.testing.assert_allclose(got["p"], [0.4, 0.8, 0.2, 0.0, 0.0, 0.0], atol=1e-12)
    # I: I <- max(0, I + J_C - d): 0.2, 0.6, 0.7, 0.6, 0.5, 0.4
    np.testing.assert_allclose(got["i"], [0.2, 0.6, 0.7, 0.6, 0.5, 0.4], atol=1e-12)
    # D: K_D * max(0, J_C - J_C_prev), 0 at the first step; only the rise 0.3 -> 0.5 counts
    np.testing.assert_allclose(got["d"], [0.0, 0.6, 0.0, 0.0, 0.0, 0.0], atol=1e-12)
    # all three together: the sum of the terms (every sum here is >= 0)
    pid = PIDLagrangian(("s",), d, kp=2.0, ki=1.0, kd=3.0)
    for k, x in enumerate(jc):
        pid.observe([x])
        want = 2.0 * (x - d) + got["i"][k] + got["d"][k]
        assert pid.lam[0] == pytest.approx(max(0.0, want))


def test_pid_integral_does_not_wind_up_below_zero() -> None:
    m = PIDLagrangian(("s",), 0.5, kp=0.0, ki=1.0, kd=0.0)
    for _ in range(10):  # a long stretch well below the limit
        m.observe([0.0])
    assert m.integral[0] == 0.0
    m.observe([0.75])  # the first violation acts at once: I = 0.25, not 0.25 minus a wound-up debt
    assert m.integral[0] == pytest.approx(0.25)
    assert m.lam[0] == pytest.approx(0.25)


def test_pid_ema_smooths_the_proportional_and_derivative_terms() -> None:
    m = PIDLagrangian(("s",), 0.0, kp=1.0, ki=0.0, kd=1.0, ema=0.5)
    m.observe([0.4])  # J_s = 0.4 (the first value), no derivative
    assert m.lam[0] == pytest.approx(0.4)
    m.observe([0.8])  # J_s = 0.6, D = 0.2
    assert m.lam[0] == pytest.approx(0.6 + 0.2)
    p, i, dd = m.terms([0.0])  # J_s would be 0.3: P = 0.3, I = 0 (ki = 0), no rise
    assert (p[0], i[0], dd[0]) == pytest.approx((0.3, 0.0, 0.0))


def test_pid_with_only_the_integral_is_dual_ascent() -> None:
    rng = np.random.default_rng(3)
    dual = DualAscent(SLICES, d=0.05, eta=0.7, every=2)
    pid = PIDLagrangian(SLICES, d=0.05, kp=0.0, ki=0.7, kd=0.0, every=2)
    for _ in range(40):
        x = rng.uniform(0.0, 0.12, 2)
        dual.observe(x)
        pid.observe(x)
        np.testing.assert_allclose(pid.lam, dual.lam, atol=1e-12)


@pytest.mark.parametrize("make", [
    lambda: DualAscent(SLICES, d=0.02, eta=0.5, every=3),
    lambda: PIDLagrangian(SLICES, d=0.02, kp=1.0, ki=0.5, kd=2.0, every=2, ema=0.3),
])  # fmt: skip
def test_state_round_trip_continues_exactly(make: object) -> None:
    rng = np.random.default_rng(0)
    seq = rng.uniform(0.0, 0.1, (11, 2))
    a = make()  # type: ignore[operator]
    for x in seq[:5]:
        a.observe(x)
    b = from_state(json.loads(json.dumps(a.state())))  # plain data: survives JSON
    assert type(b) is type(a)
    assert b.state() == a.state()
    for x in seq[5:]:
        a.observe(x)
        b.observe(x)
        assert b.metrics() == a.metrics()
    assert b.state() == a.state()


@pytest.mark.parametrize(("make", "field"), [
    (lambda: DualAscent(SLICES, d=0.01, eta=-0.1), "eta"),
    (lambda: DualAscent(SLICES, d=1.5, eta=0.1), "d"),
    (lambda: DualAscent(SLICES, d=-0.01, eta=0.1), "d"),
    (lambda: DualAscent(SLICES, d=0.01, eta=0.1, every=0), "every"),
    (lambda: DualAscent(SLICES, d=0.01, eta=0.1, every=1.5), "every"),  # type: ignore[arg-type]
    (lambda: DualAscent((), d=0.01, eta=0.1), "slice_names"),
    (lambda: PIDLagrangian(SLICES, d=0.01, kp=-1.0, ki=0.0, kd=0.0), "kp"),
    (lambda: PIDLagrangian(SLICES, d=0.01, kp=0.0, ki=float("nan"), kd=0.0), "ki"),
    (lambda: PIDLagrangian(SLICES, d=0.01, kp=0.0, ki=0.0, kd=-2.0), "kd"),
    (lambda: PIDLagrangian(SLICES, d=0.01, kp=0.0, ki=0.0, kd=0.0, ema=1.0), "ema"),
    (lambda: from_state({"kind": "adam"}), "kind"),
])  # fmt: skip
def test_bad_config_errors_name_the_field(make: object, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{field}: "):
        make()  # type: ignore[operator]


def test_observe_checks_one_value_per_slice() -> None:
    m = DualAscent(SLICES, d=0.01, eta=0.1)
    with pytest.raises(ValueError, match="J_C: must be 2 finite values"):
        m.observe([0.1])
    with pytest.raises(ValueError, match="J_C"):
        m.observe([0.1, float("nan")])


def test_lagrangian_advantage_standardises_the_reward_centres_the_costs_and_normalises() -> None:
    adv = np.array([1.0, 3.0, 2.0, 2.0])  # mean 2, std sqrt(0.5)
    cost_adv = np.array([[0.4, 0.0], [0.0, 0.1], [0.0, 0.1], [0.0, 0.2]])  # column means 0.1, 0.1
    lam = np.array([2.0, 1.0])
    a_r = (adv - 2.0) / np.sqrt(0.5)
    centred = cost_adv - [0.1, 0.1]
    want = a_r - (2.0 * centred[:, 0] + 1.0 * centred[:, 1])
    np.testing.assert_allclose(lagrangian_advantage(adv, cost_adv, lam, normalise=False), want, atol=1e-7)
    np.testing.assert_allclose(lagrangian_advantage(adv, cost_adv, lam), want / 4.0, atol=1e-7)
    np.testing.assert_allclose(lagrangian_advantage(adv, cost_adv, np.zeros(2)), a_r, atol=1e-7)  # lambda = 0
    # a larger multiplier moves the advantage towards the safer sample (row 0 violates more than average)
    big, small = (lagrangian_advantage(adv, cost_adv, m, normalise=False)[0] for m in ([10.0, 0.0], [2.0, 0.0]))
    assert big < small
    # shapes (T, n) and (T, n, K) work: the centring is over every leading axis
    out = lagrangian_advantage(adv.reshape(2, 2), cost_adv.reshape(2, 2, 2), lam)
    np.testing.assert_allclose(out.ravel(), want / 4.0, atol=1e-7)
